package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lumen-ml/lumen/models/bert"
	"github.com/lumen-ml/lumen/models/gpt2"
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
			loaded := server.Models{}
			defer func() {
				for _, m := range loaded {
					if c, ok := m.(interface{ Close() }); ok {
						c.Close()
					}
				}
			}()
			for name, dir := range dirs {
				m, err := loadAny(dir, tokDirs[name], threads, dev)
				if err != nil {
					return fmt.Errorf("model %q: %w", name, err)
				}
				loaded[name] = m
				fmt.Fprintf(cmd.ErrOrStderr(), "loaded %s from %s (%T)\n", name, dir, m)
			}
			s, err := server.New(cfg, loaded)
			if err != nil {
				return err
			}
			defer s.Close()
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
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
	f.IntVar(&threads, "threads", 0, "worker threads per model (0: all CPUs)")
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

// loadAny loads a model directory as GPT-2 or BERT, by config.json's model_type.
func loadAny(dir, tokDir string, threads int, dev ops.Device) (any, error) {
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
	switch cfg.ModelType {
	case "gpt2":
		return gpt2.Load(dir, gpt2.WithThreads(threads), gpt2.WithHalfWeights(true), gpt2.WithTokenizerDir(tokDir), gpt2.WithDevice(dev))
	case "bert":
		return bert.Load(dir, bert.WithThreads(threads), bert.WithTokenizerDir(tokDir), bert.WithDevice(dev))
	}
	return nil, fmt.Errorf("%s: model_type %q is not served (gpt2, bert)", dir, cfg.ModelType)
}
