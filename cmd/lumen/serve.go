package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lumen-ml/lumen/models/bert"
	"github.com/lumen-ml/lumen/models/gpt2"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/server"
)

func newServeCmd() *cobra.Command {
	var models, tokenizers []string
	var addr string
	var threads int
	cfg := server.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "serve --model NAME=DIR ... [--addr 127.0.0.1:8080]",
		Short: "Serve models over HTTP: /v1/completions, /v1/embeddings, /v1/classify, /v1/qa, /healthz, /metrics",
		Long: `serve loads each model once (GPT-2 directories serve completions; BERT-family
directories serve embeddings, classification and question answering, as their heads
allow) and answers until SIGINT or SIGTERM, then finishes the requests in flight.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(models) == 0 {
				return fmt.Errorf("at least one --model NAME=DIR is required")
			}
			tokDirs, err := pairs(tokenizers, "--tokenizer")
			if err != nil {
				return err
			}
			dirs, err := pairs(models, "--model")
			if err != nil {
				return err
			}
			dev, err := envDevice() // one device (its streams and buffers) for every model
			if err != nil {
				return err
			}
			if dev != nil {
				defer dev.Close() // after the models, deferred below, have freed their weights
			}
			ln, err := net.Listen("tcp", addr) // before loading: a taken address fails at once
			if err != nil {
				return err
			}
			defer ln.Close()
			loaded, closeModels, err := loadModels(cmd.ErrOrStderr(), dirs, tokDirs, threads, dev)
			defer closeModels()
			if err != nil {
				return err
			}
			s, err := server.New(cfg, loaded)
			if err != nil {
				return err
			}
			defer s.Close()
			srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			fmt.Fprintf(cmd.ErrOrStderr(), "listening on http://%s\n", ln.Addr())
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "shutting down: finishing requests in flight")
			shutdown, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := srv.Shutdown(shutdown); err != nil {
				return err
			}
			if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&models, "model", nil, "NAME=DIR, repeatable (required)")
	f.StringArrayVar(&tokenizers, "tokenizer", nil, "NAME=DIR: tokenizer directory for a model directory without one")
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	f.IntVar(&threads, "threads", 0, "worker threads, shared by all the models (0: all CPUs)")
	f.Int64Var(&cfg.MaxBodyBytes, "max-body", cfg.MaxBodyBytes, "request body limit in bytes")
	f.IntVar(&cfg.MaxInputs, "max-inputs", cfg.MaxInputs, "texts per embeddings/classify request")
	f.IntVar(&cfg.MaxTokens, "max-tokens", cfg.MaxTokens, "max_tokens ceiling for completions")
	f.IntVar(&cfg.Workers, "workers", cfg.Workers, "requests computing at once")
	f.IntVar(&cfg.QueueSize, "queue", cfg.QueueSize, "requests waiting before 503")
	f.IntVar(&cfg.BatchMax, "batch-max", cfg.BatchMax, "texts per embedding micro-batch")
	f.DurationVar(&cfg.BatchWait, "batch-wait", cfg.BatchWait, "how long a micro-batch waits to fill")
	return cmd
}

func pairs(list []string, flag string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range list {
		name, dir, ok := strings.Cut(p, "=")
		if !ok || name == "" || dir == "" {
			return nil, fmt.Errorf("%s %q: want NAME=DIR", flag, p)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%s: name %q given twice", flag, name)
		}
		out[name] = dir
	}
	return out, nil
}

// servedModel is what serve needs of a loaded model beyond the server's interfaces.
type servedModel interface {
	Close()
	WorkerPool() *ops.Pool
}

// loadModels loads every NAME=DIR onto one pool of threads threads (0: all CPUs),
// which all the models share. The returned function closes the models, then the
// pool; it is valid (and must be called) even when loading failed.
func loadModels(log io.Writer, dirs, tokDirs map[string]string, threads int, dev ops.Device) (server.Models, func(), error) {
	pool := ops.NewPool(threads)
	var opened []servedModel
	closeAll := func() {
		for _, m := range opened {
			m.Close()
		}
		pool.Close()
	}
	loaded := server.Models{}
	for _, name := range slices.Sorted(maps.Keys(dirs)) {
		m, err := loadAny(dirs[name], tokDirs[name], pool, dev)
		if err != nil {
			return nil, closeAll, fmt.Errorf("model %q: %w", name, err)
		}
		opened = append(opened, m)
		loaded[name] = m
		fmt.Fprintf(log, "loaded %s from %s (%T)\n", name, dirs[name], m)
	}
	for name := range tokDirs {
		if _, ok := dirs[name]; !ok {
			return nil, closeAll, fmt.Errorf("--tokenizer %s=…: no --model named %q", name, name)
		}
	}
	return loaded, closeAll, nil
}

// loadAny loads a model directory as GPT-2 or BERT, by config.json's model_type.
func loadAny(dir, tokDir string, pool *ops.Pool, dev ops.Device) (servedModel, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	var cfg struct {
		ModelType string `json:"model_type"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "config.json"), err)
	}
	opts := []nn.Option{nn.WithPool(pool), nn.WithTokenizerDir(tokDir), nn.WithDevice(dev)}
	switch cfg.ModelType {
	case "gpt2":
		return gpt2.Load(dir, append(opts, nn.WithHalfWeights(true))...)
	case "bert":
		return bert.Load(dir, opts...)
	}
	return nil, fmt.Errorf("%s: model_type %q is not served (gpt2, bert)", dir, cfg.ModelType)
}
