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
	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/models/gpt2"
	"github.com/lumen-ml/lumen/models/llama"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/server"
)

func newServeCmd() *cobra.Command {
	var models, tokenizers []string
	var addr string
	var threads int
	var drainTimeout, drainDelay time.Duration
	var batching bool
	var kvCacheMiB int64
	var batch decode.BatchOptions
	var quantize quantizeFlag
	var compute computeFlag
	cfg := server.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "serve --model NAME=DIR ... [--addr 127.0.0.1:8080]",
		Short: "Serve models over HTTP: /v1/completions, /v1/chat/completions, /v1/embeddings, /v1/classify, /v1/rerank, /v1/qa, /healthz, /metrics",
		Long: `serve loads each model once (GPT-2 directories serve completions; BERT-family
directories serve embeddings, classification and question answering, as their heads
allow) and answers until SIGINT or SIGTERM. Then it drains: requests still waiting in
the queue, and new ones, get 503 at once; those computing have --drain-timeout to
finish. When the drain runs out, the rest are cancelled (streams end with an error
event and [DONE]) and serve exits 1; a second signal does that at once. A clean
drain exits 0.`,
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
			if kvCacheMiB < 0 || batch.MaxBatch < 0 || batch.PrefillChunk < 0 {
				return fmt.Errorf("--kv-cache, --max-batch and --prefill-chunk must not be negative")
			}
			if drainDelay < 0 || drainTimeout < 0 {
				return fmt.Errorf("--drain-delay and --drain-timeout must not be negative")
			}
			ln, err := net.Listen("tcp", addr) // before loading: a taken address fails at once
			if err != nil {
				return err
			}
			defer ln.Close()
			// Serve from the start: while the models load (or download), /healthz
			// answers 200 and /readyz 503, so that probes get an answer.
			gate := server.NewGate(cfg)
			srv := server.NewHTTPServer(cfg, gate)
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(server.LimitListener(cfg, ln)) }()
			defer srv.Close() // a failed load: stop serving the gate
			fmt.Fprintf(cmd.ErrOrStderr(), "listening on http://%s (loading the models: /readyz answers 503 until they are ready)\n", ln.Addr())
			signals := make(chan os.Signal, 2)
			signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(signals)
			batch.KVCacheBytes = kvCacheMiB << 20
			var opt *decode.BatchOptions
			if batching {
				opt = &batch
			}
			loaded, closeModels, err := loadModels(cmd.ErrOrStderr(), dirs, tokDirs, threads, dev, opt, precisionOptions(quantize, compute)...)
			defer closeModels()
			if err != nil {
				return err
			}
			s, err := server.New(cfg, loaded)
			if err != nil {
				return err
			}
			defer s.Close()
			gate.Open(s)
			fmt.Fprintln(cmd.ErrOrStderr(), "ready: /readyz answers 200")
			select {
			case err := <-errc:
				return err
			case <-signals:
			case <-cmd.Context().Done():
			}
			return drain(cmd.ErrOrStderr(), s, srv, errc, signals, drainDelay, drainTimeout)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&models, "model", nil, "NAME=DIR, NAME=ORG/NAME[@REV] (a Hub id, through the cache), NAME=FILE.gguf or NAME=ORG/NAME[@REV]:FILE.gguf (Llama-family models, directories included: /v1/chat/completions too), repeatable (required)")
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
	f.IntVar(&cfg.BatchTokens, "max-batch-tokens", 0, "embeddings: tokens per micro-batch and padded tokens per forward pass, texts sorted by length (0: --batch-max texts a pass, in arrival order)")
	f.IntVar(&cfg.MaxInputBytes, "max-input-bytes", cfg.MaxInputBytes, "bytes per text (prompt, input, question + context), refused before tokenizing")
	f.DurationVar(&cfg.HeaderTimeout, "header-timeout", cfg.HeaderTimeout, "time to read a request's headers")
	f.DurationVar(&cfg.BodyTimeout, "body-timeout", cfg.BodyTimeout, "time to read a request's body, before it takes a queue place")
	f.DurationVar(&cfg.WriteTimeout, "write-timeout", cfg.WriteTimeout, "time for each write of a response (a client that stops reading is cut off)")
	f.DurationVar(&cfg.IdleTimeout, "idle-timeout", cfg.IdleTimeout, "an idle keep-alive connection is closed after this")
	f.IntVar(&cfg.MaxConns, "max-conns", cfg.MaxConns, "open connections at most; more wait to be accepted")
	f.BoolVar(&batching, "batching", true, "GPT-2 and GGUF completions and chats run with continuous batching (concurrent requests share each decode step)")
	f.IntVar(&batch.MaxBatch, "max-batch", 0, "sequences per decode step at most (0: 16 per thread, 16..256)")
	f.Int64Var(&kvCacheMiB, "kv-cache", 0, "MiB of KV cache for the running sequences of each GPT-2 model (0: 1024)")
	f.IntVar(&batch.PrefillChunk, "prefill-chunk", 0, "prompt tokens per decode step at most (0: 256)")
	quantize.register(cmd)
	compute.register(cmd)
	f.DurationVar(&drainTimeout, "drain-timeout", 60*time.Second, "on SIGTERM/SIGINT, how long requests in flight have to finish")
	f.DurationVar(&drainDelay, "drain-delay", 0, "on SIGTERM/SIGINT, keep the address open at least this long, answering 503 (/readyz included), so that load balancers see the pod leave before its connections are refused")
	return cmd
}

// drain shuts serve down after a signal: /readyz, queued and new requests get 503 at
// once while the address stays open (at least delay, and until the requests in
// flight are done); those in flight get timeout to finish, then are cancelled; a
// second signal cancels them at once. The error says whether the drain was clean.
func drain(log io.Writer, s *server.Server, srv *http.Server, errc <-chan error, signals <-chan os.Signal, delay, timeout time.Duration) error {
	fmt.Fprintf(log, "shutting down: refusing new requests (/readyz 503), %s for those in flight\n", timeout)
	s.Drain()
	ctx, cancel := context.WithTimeout(context.Background(), delay+timeout)
	defer cancel()
	go func() {
		select {
		case <-signals:
			fmt.Fprintln(log, "second signal: cancelling the requests in flight")
			cancel()
		case <-ctx.Done():
		}
	}()
	// Keep answering (503) for delay, and while requests are in flight, so that a
	// load balancer reads the readiness before connections are refused.
	minEnd := time.Now().Add(delay)
	tick := time.NewTicker(20 * time.Millisecond)
wait:
	for time.Now().Before(minEnd) || s.InFlight() > 0 {
		select {
		case <-tick.C:
		case <-ctx.Done():
			break wait
		}
	}
	tick.Stop()
	err := srv.Shutdown(ctx)
	if err != nil { // out of time, or forced: cancel what runs, give it a moment to say so
		s.Abort()
		grace, cancelGrace := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelGrace()
		if srv.Shutdown(grace) != nil {
			srv.Close()
		}
		err = fmt.Errorf("drain incomplete: requests still running were cancelled (%w)", err)
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	if err == nil {
		fmt.Fprintln(log, "drained: every request finished")
	}
	return err
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
// which all the models share; with batch, GPT-2 and Llama models serve through a
// continuous batcher. The returned function closes the models, then the pool; it is valid (and
// must be called) even when loading failed.
func loadModels(log io.Writer, dirs, tokDirs map[string]string, threads int, dev ops.Device, batch *decode.BatchOptions, load ...nn.Option) (server.Models, func(), error) {
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
		path, ggufFile := dirs[name], ""
		if _, err := os.Stat(path); err != nil { // ORG/NAME[@REV]:FILE.gguf, a GGUF file of a Hub repository
			if repo, file, ok := strings.Cut(path, ":"); ok && strings.HasSuffix(file, ".gguf") {
				path, ggufFile = repo, file
			}
		}
		l, dir, err := openLlama(context.Background(), log, path, ggufFile, tokDirs[name], nn.WithPool(pool))
		if err != nil {
			return nil, closeAll, fmt.Errorf("model %q: %w", name, err)
		}
		var m servedModel
		if l != nil {
			m = servedLlama{l, pool}
			if dev != nil || len(load) > 0 {
				opened = append(opened, m)
				return nil, closeAll, fmt.Errorf("model %q: a Llama-family model runs on the CPU, as its file stores it (no --quantize, no --compute, no LUMEN_DEVICE)", name)
			}
		} else if m, err = loadAny(dir, tokDirs[name], pool, dev, load...); err != nil {
			return nil, closeAll, fmt.Errorf("model %q: %w", name, err)
		}
		switch l := m.(type) {
		case *gpt2.Model:
			if batch != nil {
				m = batchedGPT2{gpt2.NewBatcher(l, *batch), l}
			}
		case servedLlama:
			if batch != nil {
				m = batchedLlama{llama.NewBatcher(l.Model, *batch), l.Model, pool}
			}
		}
		how := ""
		if b, ok := m.(interface{ Options() decode.BatchOptions }); ok {
			o := b.Options()
			how = fmt.Sprintf(", continuous batching: %d sequences, %d MiB KV cache, %d-token prefill chunks", o.MaxBatch, o.KVCacheBytes>>20, o.PrefillChunk)
		}
		opened = append(opened, m)
		loaded[name] = m
		fmt.Fprintf(log, "loaded %s from %s (%T%s)\n", name, dirs[name], m, how)
	}
	for name := range tokDirs {
		if _, ok := dirs[name]; !ok {
			return nil, closeAll, fmt.Errorf("--tokenizer %s=…: no --model named %q", name, name)
		}
	}
	return loaded, closeAll, nil
}

// servedLlama is a GGUF model as the server holds it without batching (chat and
// text completions, one request per worker).
type servedLlama struct {
	*llama.Model
	pool *ops.Pool
}

// Close unmaps the file.
func (l servedLlama) Close() { l.Model.Close() }

// WorkerPool returns the pool the model runs on.
func (l servedLlama) WorkerPool() *ops.Pool { return l.pool }

// batchedGPT2 serves a GPT-2 model's completions through its batcher.
type batchedGPT2 struct {
	*gpt2.Batcher
	m *gpt2.Model
}

// Close stops the batcher, then frees the model.
func (b batchedGPT2) Close() {
	b.Batcher.Close()
	b.m.Close()
}

// WorkerPool returns the model's pool.
func (b batchedGPT2) WorkerPool() *ops.Pool { return b.m.WorkerPool() }

// batchedLlama serves a GGUF model's chats and completions through its batcher.
type batchedLlama struct {
	*llama.Batcher
	m    *llama.Model
	pool *ops.Pool
}

// Close stops the batcher, then unmaps the file.
func (b batchedLlama) Close() {
	b.Batcher.Close()
	b.m.Close()
}

// WorkerPool returns the pool the model runs on.
func (b batchedLlama) WorkerPool() *ops.Pool { return b.pool }

// loadAny loads a model directory as GPT-2 or BERT, by config.json's model_type
// (openLlama takes the Llama-family ones first).
func loadAny(dir, tokDir string, pool *ops.Pool, dev ops.Device, load ...nn.Option) (servedModel, error) {
	modelType, err := configModelType(dir)
	if err != nil {
		return nil, err
	}
	opts := append([]nn.Option{nn.WithPool(pool), nn.WithTokenizerDir(tokDir), nn.WithDevice(dev)}, load...)
	switch modelType {
	case "gpt2":
		return gpt2.Load(dir, append(opts, nn.WithHalfWeights(true))...)
	case "bert":
		return bert.Load(dir, opts...)
	}
	return nil, fmt.Errorf("%s: model_type %q is not served (gpt2, bert, llama, qwen2)", dir, modelType)
}

// configModelType reads config.json's model_type in dir.
func configModelType(dir string) (string, error) {
	path := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var cfg struct {
		ModelType string `json:"model_type"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return cfg.ModelType, nil
}
