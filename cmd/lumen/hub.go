package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/lumen-ml/lumen/loader/hub"
	"github.com/lumen-ml/lumen/models/llama"
	"github.com/lumen-ml/lumen/models/nn"
)

func newPullCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "pull ORG/NAME[@REVISION]",
		Short: "Download a model from the Hugging Face Hub into the shared cache (huggingface_hub's)",
		Long: `pull fetches what Lumen loads from a Hub model repository — config.json, the
safetensors weights (or the sharded index and its shards), the tokenizer files and the
sentence-transformers files — into the cache Python's huggingface_hub uses
(HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub), and prints the
snapshot directory. An interrupted download resumes where it stopped. HF_ENDPOINT
chooses the Hub, HF_TOKEN authenticates (private and gated repositories), and
HF_HUB_OFFLINE=1 only looks in the cache. Every --model flag accepts the same
ORG/NAME[@REVISION].`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := resolveModel(cmd.Context(), cmd.ErrOrStderr(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), dir)
			return nil
		},
	}
}

// resolveModel returns arg itself when it is a directory; otherwise it reads arg as
// a Hub repository id (ORG/NAME[@REVISION]) and returns its snapshot directory in
// the cache, downloading what is missing (with a progress line on log) unless
// HF_HUB_OFFLINE is set.
func resolveModel(ctx context.Context, log io.Writer, arg string) (string, error) {
	if st, err := os.Stat(arg); err == nil {
		if !st.IsDir() {
			return "", fmt.Errorf("--model %s is a file; give the model's directory or a Hub id (ORG/NAME)", arg)
		}
		return arg, nil
	}
	if strings.HasPrefix(arg, ".") || strings.HasPrefix(arg, "/") || strings.HasPrefix(arg, "~") {
		return "", fmt.Errorf("--model %s: no such directory", arg)
	}
	repo, rev, err := hub.ParseRef(arg)
	if err != nil {
		return "", fmt.Errorf("--model %s: not a directory, and %w", arg, err)
	}
	c := hub.FromEnv()
	c.Progress = progressLine(log)
	dir, err := c.Snapshot(ctx, repo, rev)
	if err != nil {
		switch {
		case errors.Is(err, hub.ErrNotCached):
			return "", fmt.Errorf("%w (HF_HUB_OFFLINE is set: run lumen pull %s without it first)", err, arg)
		case errors.Is(err, hub.ErrNotFound):
			return "", fmt.Errorf("--model %s: no such directory, and %w", arg, err)
		}
		return "", err
	}
	return dir, nil
}

// progressLine draws one updating line per file on w: name, MB done of total, %.
func progressLine(w io.Writer) func(file string, done, total int64) {
	var mu sync.Mutex
	start := map[string]time.Time{}
	return func(file string, done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := start[file]; !ok {
			start[file] = time.Now()
		}
		rate := float64(done) / 1e6 / max(time.Since(start[file]).Seconds(), 1e-3)
		if total > 0 {
			fmt.Fprintf(w, "\rdownloading %s  %.1f / %.1f MB  %3.0f%%  %.1f MB/s", file, float64(done)/1e6, float64(total)/1e6, 100*float64(done)/float64(total), rate)
		} else {
			fmt.Fprintf(w, "\rdownloading %s  %.1f MB  %.1f MB/s", file, float64(done)/1e6, rate)
		}
		if total > 0 && done >= total {
			fmt.Fprintln(w)
		}
	}
}

// openLlama opens model as a Llama-family model when it is one: a GGUF file, a
// Hugging Face directory or Hub id whose config.json says llama or qwen2, or, with
// ggufFile, that GGUF file of the Hub repository model (ORG/NAME[@REV]), through the
// cache. Otherwise it returns a nil model and the directory model resolved to.
func openLlama(ctx context.Context, log io.Writer, model, ggufFile, tokDir string, opts ...nn.Option) (*llama.Model, string, error) {
	if tokDir != "" && (ggufFile != "" || isGGUF(model)) {
		return nil, "", fmt.Errorf("--tokenizer: a GGUF file brings its own vocabulary")
	}
	if ggufFile != "" {
		repo, rev, err := hub.ParseRef(model)
		if err != nil {
			return nil, "", fmt.Errorf("--model %s with --gguf-file: %w", model, err)
		}
		c := hub.FromEnv()
		c.Progress = progressLine(log)
		path, err := c.Download(ctx, repo, rev, ggufFile)
		if err != nil {
			return nil, "", fmt.Errorf("--gguf-file %s of %s: %w", ggufFile, model, err)
		}
		m, err := llama.LoadGGUF(path, opts...)
		return m, "", err
	}
	if isGGUF(model) {
		m, err := llama.LoadGGUF(model, opts...)
		return m, "", err
	}
	dir, err := resolveModel(ctx, log, model)
	if err != nil {
		return nil, "", err
	}
	if t, err := configModelType(dir); err == nil && (t == "llama" || t == "qwen2") {
		m, err := llama.Load(dir, append(opts, nn.WithTokenizerDir(tokDir))...)
		return m, dir, err
	}
	return nil, dir, nil
}
