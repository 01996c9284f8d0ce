package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/loader/idx"
	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/models/lenet"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
)

func newLeNetCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "lenet", Short: "Run LeNet-5 models on MNIST-format data"}
	var modelPath, dataDir, split string
	var batch, threads int
	var quiet bool
	eval := &cobra.Command{
		Use:   "eval [--model DIR] [--data DIR]",
		Short: "Classify a labelled idx data set and report accuracy, throughput and latency",
		Long: `eval loads a LeNet checkpoint (a .safetensors file or a directory holding one),
classifies every image of SPLIT-images-idx3-ubyte[.gz] in the data directory (MNIST or
Fashion-MNIST layout) in batches, and reports accuracy (correct/total), throughput
(images/s) and per-batch latency percentiles.

With no --model it runs the trained LeNet-5 that ships with Lumen; with no --data, the
MNIST test set that ships with it (10,000 images, split t10k only).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if batch <= 0 {
				return fmt.Errorf("--batch must be positive, got %d", batch)
			}
			if threads < 0 {
				return fmt.Errorf("--threads must be 0 (all CPUs) or positive, got %d", threads)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return evalLeNet(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), modelPath, dataDir, split, batch, threads, quiet)
		},
	}
	eval.Flags().StringVar(&modelPath, "model", "", "LeNet checkpoint: .safetensors file or directory (default: the shipped MNIST model)")
	eval.Flags().StringVar(&dataDir, "data", "", "directory with the idx files (default: the shipped MNIST test set)")
	eval.Flags().StringVar(&split, "split", "t10k", "which split to evaluate: t10k or train")
	eval.Flags().IntVar(&batch, "batch", 256, "images per batch")
	eval.Flags().IntVar(&threads, "threads", 0, "worker threads (0: all CPUs)")
	eval.Flags().BoolVar(&quiet, "quiet", false, "no progress bar")
	cmd.AddCommand(eval, newLeNetTrainCmd())
	return cmd
}

func evalLeNet(ctx context.Context, stdout, stderr io.Writer, modelPath, dataDir, split string, batch, threads int, quiet bool) error {
	pool := ops.NewPool(threads)
	defer pool.Close()
	var m *lenet.Model
	var err error
	if modelPath == "" {
		modelPath = "shipped lenet-mnist"
		var src *safetensors.File
		if src, err = safetensors.FromBytes(assets.LeNetMNIST(), "lenet-mnist/lenet.safetensors"); err == nil {
			m, err = lenet.New(src, "lenet-mnist/lenet.safetensors", nn.WithPool(pool))
		}
	} else {
		m, err = lenet.Load(modelPath, nn.WithPool(pool))
	}
	if err != nil {
		return err
	}
	defer m.Close()
	var ds *idx.Dataset
	switch {
	case dataDir == "" && split != "t10k":
		return fmt.Errorf("the shipped MNIST data is the test split (t10k) only: pass --data DIR for split %q", split)
	case dataDir == "":
		dataDir = "shipped MNIST test set"
		ds, err = idx.LoadSplitFS(assets.MNISTTest(), split)
	default:
		ds, err = idx.LoadSplit(dataDir, split)
	}
	if err != nil {
		return err
	}
	if ds.Rows != lenet.Side || ds.Cols != lenet.Side {
		return fmt.Errorf("%s: images are %d×%d, LeNet takes %d×%d", dataDir, ds.Rows, ds.Cols, lenet.Side, lenet.Side)
	}
	x := make([]float32, len(ds.Images))
	m.Preprocess(x, ds.Images) // the model's normalisation (config.json's, else MNIST's)

	out := io.Discard
	if !quiet {
		out = stderr
	}
	bar := newCountBar(out, ds.N, "lenet "+split, "img")
	var lat []time.Duration
	correct := 0
	start := time.Now()
	for lo := 0; lo < ds.N; lo += batch {
		n := min(batch, ds.N-lo)
		t0 := time.Now()
		pred, err := m.Predict(ctx, x[lo*784:(lo+n)*784], n)
		if err != nil {
			return err
		}
		lat = append(lat, time.Since(t0))
		for i, p := range pred {
			if p == int(ds.Labels[lo+i]) {
				correct++
			}
		}
		_ = bar.Add(n)
	}
	elapsed := time.Since(start)
	_ = bar.Finish()
	slices.Sort(lat)
	fmt.Fprintf(stdout, "model      %s (conv1 padding %d)\n", modelPath, m.Padding())
	fmt.Fprintf(stdout, "data       %s (%s, %d images)\n", dataDir, split, ds.N)
	fmt.Fprintf(stdout, "accuracy   %.2f%% (%d/%d correct)\n", 100*float64(correct)/float64(ds.N), correct, ds.N)
	fmt.Fprintf(stdout, "throughput %.0f images/s (batch %d, threads %d, %.3fs)\n", float64(ds.N)/elapsed.Seconds(), batch, pool.Threads(), elapsed.Seconds())
	fmt.Fprintf(stdout, "latency    p50 %s, p99 %s per batch of %d (%d batches)\n", percentile(lat, 0.50), percentile(lat, 0.99), batch, len(lat))
	return nil
}

// newCountBar is a progress bar of n items, started now: its clock runs from here,
// not from its first update (which made the first rate a batch over a few
// microseconds: millions of images a second).
func newCountBar(out io.Writer, n int, desc, unit string) *progressbar.ProgressBar {
	bar := progressbar.NewOptions(n,
		progressbar.OptionSetWriter(out),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	_ = bar.RenderBlank()
	return bar
}
