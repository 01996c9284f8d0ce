// Package server serves Lumen models over HTTP with OpenAI-style endpoints:
//
//	POST /v1/completions   GPT-2 text completion ("stream": true sends server-sent events)
//	POST /v1/embeddings    BERT/MiniLM sentence embeddings (concurrent requests are micro-batched)
//	POST /v1/classify      sequence classification
//	POST /v1/qa            extractive question answering
//	POST /tokenize         a text's token ids, or with_pieces their texts and character
//	                       spans ({"content", "add_special", "with_pieces"}, as llama.cpp);
//	                       or TEI's {"inputs", "add_special_tokens"} with byte spans
//	POST /detokenize       the text of token ids ({"tokens", "skip_special"}, llama.cpp;
//	                       or TEI's /decode {"ids", "skip_special_tokens"})
//	GET  /healthz          liveness: 200 while the process serves
//	GET  /readyz           readiness: 200 once the models are loaded (see Gate), 503
//	                       "draining" after Drain
//	GET  /metrics          Prometheus metrics (requests, latency, tokens, queue depth,
//	                       time to first token, inter-token latency, batch sizes)
//
// Requests pass a bounded admission queue: when it is full the server answers 503
// with Retry-After instead of growing without bound. A client that disconnects
// cancels its work. Models are shared by all requests and never copied. A completion
// model given as a gpt2.Batcher (a BatchingCompleter) runs concurrent requests with
// continuous batching: they share every decode step instead of each holding a worker.
package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"

	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/tokenizer"
)

// errOverloaded ends a request still waiting for a worker when the server drains (503).
var errOverloaded = errors.New("server: no worker")

// Config sets the server's limits. Zero fields take the defaults of DefaultConfig.
type Config struct {
	MaxBodyBytes  int64         // request body limit (a larger Content-Length is refused before reading)
	MaxInputBytes int           // bytes per text (prompt, input, question, context), checked before tokenizing
	MaxInputs     int           // texts per embeddings/classify request
	MaxTokens     int           // max_tokens ceiling for completions
	Workers       int           // requests computing at once
	QueueSize     int           // requests waiting for a worker before 503
	BatchMax      int           // texts per embedding micro-batch
	BatchWait     time.Duration // how long a micro-batch waits to fill
	// BatchTokens, when positive, is a token budget for embeddings: a micro-batch
	// stops collecting once its texts hold that many tokens, and runs sorted by
	// length in forward passes of at most BatchTokens padded tokens each (a longer
	// text alone), so that batches pad little. 0: one pass per micro-batch, in
	// arrival order.
	BatchTokens   int
	RetryAfterSec int // Retry-After on 503

	// Connection limits, applied by HTTPServer, Listener and the handler.
	HeaderTimeout time.Duration // to read a request's headers
	BodyTimeout   time.Duration // to read a request's whole body, before it is admitted
	WriteTimeout  time.Duration // for each write of a response (a stalled reader is cut off)
	IdleTimeout   time.Duration // a keep-alive connection with no request is closed
	MaxConns      int           // open connections; more wait to be accepted
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{MaxBodyBytes: 1 << 20, MaxInputBytes: 64 << 10, MaxInputs: 64, MaxTokens: 512, Workers: 4, QueueSize: 64,
		BatchMax: 32, BatchWait: 2 * time.Millisecond, RetryAfterSec: 1,
		HeaderTimeout: 10 * time.Second, BodyTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: 60 * time.Second, MaxConns: 512}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.MaxInputs <= 0 {
		c.MaxInputs = d.MaxInputs
	}
	if c.MaxTokens <= 0 {
		c.MaxTokens = d.MaxTokens
	}
	if c.Workers <= 0 {
		c.Workers = d.Workers
	}
	if c.QueueSize < 0 {
		c.QueueSize = 0
	}
	if c.BatchMax <= 0 {
		c.BatchMax = d.BatchMax
	}
	if c.BatchWait < 0 {
		c.BatchWait = 0
	}
	if c.BatchTokens < 0 {
		c.BatchTokens = 0
	}
	if c.RetryAfterSec <= 0 {
		c.RetryAfterSec = d.RetryAfterSec
	}
	if c.MaxInputBytes <= 0 {
		c.MaxInputBytes = d.MaxInputBytes
	}
	for _, t := range []struct {
		v *time.Duration
		d time.Duration
	}{
		{&c.HeaderTimeout, d.HeaderTimeout}, {&c.BodyTimeout, d.BodyTimeout}, {&c.WriteTimeout, d.WriteTimeout}, {&c.IdleTimeout, d.IdleTimeout},
	} {
		if *t.v <= 0 {
			*t.v = t.d
		}
	}
	if c.MaxConns <= 0 {
		c.MaxConns = d.MaxConns
	}
	return c
}

// Models are the loaded models by name. Each serves the endpoints whose interface
// it implements (Completer, Embedder, Classifier, Answerer) and must implement one.
type Models map[string]any

// Server holds the models, the admission queue, the batchers and the metrics.
type Server struct {
	cfg         Config
	completers  map[string]Completer
	chatters    map[string]ChatCompleter
	embedders   map[string]Embedder
	classifiers map[string]Classifier
	answerers   map[string]Answerer
	rerankers   map[string]Reranker
	tokenizers  map[string]*tokenizer.Tokenizer // every model's that has one
	batchers    map[string]*batcher             // one per Embedder
	admit       *admission
	reg         *prometheus.Registry
	met         metrics
	mux         *http.ServeMux
	ids         atomic.Uint64 // completion ids

	// abort ends when Abort is called: requests still running are cancelled.
	abort       context.Context
	cancelAbort context.CancelFunc
}

type metrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	tokens    *prometheus.CounterVec
	queue     prometheus.GaugeFunc
	inflight  prometheus.GaugeFunc
	ttft      *prometheus.HistogramVec // completions: admission to first token
	itl       *prometheus.HistogramVec // completions: between tokens
	batchSize *prometheus.HistogramVec // continuous batching: sequences per decode step
	batchWait *prometheus.HistogramVec // continuous batching: wait for a slot
	stepTime  *prometheus.HistogramVec // continuous batching: one step
}

// batchObserver records a BatchingCompleter's steps in the metrics.
type batchObserver struct{ size, wait, step prometheus.Observer }

func (o batchObserver) Admitted(wait time.Duration) { o.wait.Observe(wait.Seconds()) }

func (o batchObserver) Stepped(sequences, _ int, took time.Duration) {
	o.size.Observe(float64(sequences))
	o.step.Observe(took.Seconds())
}

// New builds a server over models. The models must stay loaded while it runs; Close
// stops its background batchers.
func New(cfg Config, models Models) (*Server, error) {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, completers: map[string]Completer{}, chatters: map[string]ChatCompleter{}, embedders: map[string]Embedder{}, classifiers: map[string]Classifier{},
		answerers: map[string]Answerer{}, rerankers: map[string]Reranker{}, tokenizers: map[string]*tokenizer.Tokenizer{}, batchers: map[string]*batcher{},
		admit: newAdmission(cfg.Workers, cfg.QueueSize), reg: prometheus.NewRegistry(), mux: http.NewServeMux()}
	s.abort, s.cancelAbort = context.WithCancel(context.Background())
	for name, m := range models {
		serves := false
		if c, ok := m.(Completer); ok {
			if _, err := c.Encode(""); err != nil { // e.g. loaded without a tokenizer
				return nil, fmt.Errorf("server: model %q cannot serve completions: %w", name, err)
			}
			s.completers[name], serves = c, true
		}
		if c, ok := m.(ChatCompleter); ok {
			s.chatters[name] = c
		}
		if e, ok := m.(Encoder); ok {
			if _, err := e.Encode([]string{""}, false); err != nil {
				return nil, fmt.Errorf("server: model %q cannot serve encoder endpoints: %w", name, err)
			}
		}
		if e, ok := m.(Embedder); ok {
			s.embedders[name], s.batchers[name], serves = e, newBatcher(e, cfg.BatchMax, cfg.BatchTokens, cfg.BatchWait), true
		}
		if c, ok := m.(Classifier); ok {
			s.classifiers[name], serves = c, true
		}
		if a, ok := m.(Answerer); ok {
			s.answerers[name], serves = a, true
		}
		if r, ok := m.(Reranker); ok && len(r.Labels()) == 1 {
			s.rerankers[name], serves = r, true
		}
		if t, ok := m.(Tokenizing); ok && t.TextTokenizer() != nil {
			s.tokenizers[name] = t.TextTokenizer()
		}
		if !serves {
			s.Close()
			return nil, fmt.Errorf("server: model %q (%T) serves no endpoint: it implements none of Completer, Embedder, Classifier, Answerer, Reranker", name, m)
		}
	}
	s.met.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lumen_requests_total", Help: "HTTP requests by endpoint and status code."}, []string{"endpoint", "code"})
	s.met.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lumen_request_duration_seconds", Help: "Request latency by endpoint.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"endpoint"})
	s.met.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lumen_generated_tokens_total", Help: "Tokens generated by model."}, []string{"model"})
	s.met.queue = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lumen_queue_depth", Help: "Admitted requests holding no worker: waiting for one, for an embedding micro-batch, or served by a continuous batcher (see lumen_batch_running and lumen_batch_waiting)."}, func() float64 { return float64(s.admit.waiting()) })
	s.met.inflight = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lumen_requests_running", Help: "Requests holding a worker."}, func() float64 { return float64(s.admit.running()) })
	latencyBuckets := prometheus.ExponentialBuckets(0.001, 2, 16)
	s.met.ttft = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lumen_time_to_first_token_seconds", Help: "Completions: from admission to the first generated token.",
		Buckets: latencyBuckets}, []string{"model"})
	s.met.itl = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lumen_inter_token_latency_seconds", Help: "Completions: time between consecutive generated tokens.",
		Buckets: latencyBuckets}, []string{"model"})
	s.met.batchSize = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lumen_batch_sequences", Help: "Continuous batching: sequences in each decode step.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 10)}, []string{"model"})
	s.met.batchWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lumen_batch_queue_wait_seconds", Help: "Continuous batching: time a request waited for a slot.",
		Buckets: latencyBuckets}, []string{"model"})
	s.met.stepTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lumen_batch_step_seconds", Help: "Continuous batching: duration of one step.",
		Buckets: latencyBuckets}, []string{"model"})
	s.reg.MustRegister(s.met.requests, s.met.latency, s.met.tokens, s.met.queue, s.met.inflight, s.met.ttft, s.met.itl,
		s.met.batchSize, s.met.batchWait, s.met.stepTime)
	for name, c := range s.completers {
		bc, ok := c.(BatchingCompleter)
		if !ok {
			continue
		}
		bc.Observe(batchObserver{size: s.met.batchSize.WithLabelValues(name), wait: s.met.batchWait.WithLabelValues(name), step: s.met.stepTime.WithLabelValues(name)})
		labels := prometheus.Labels{"model": name}
		s.reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lumen_batch_running", Help: "Continuous batching: sequences in the batch.", ConstLabels: labels},
				func() float64 { return float64(bc.Stats().Running) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lumen_batch_waiting", Help: "Continuous batching: requests waiting for a slot.", ConstLabels: labels},
				func() float64 { return float64(bc.Stats().Waiting) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lumen_batch_kv_cache_bytes", Help: "Continuous batching: KV cache reserved by the running sequences.", ConstLabels: labels},
				func() float64 { return float64(bc.Stats().KVBytes) }),
		)
	}

	s.handle("/v1/completions", false, s.completions) // a worker, unless the model batches itself
	s.handle("/v1/chat/completions", false, s.chatCompletions)
	s.handle("/v1/embeddings", false, s.embeddings) // the batcher serialises the compute
	s.handle("/v1/classify", true, s.classify)
	s.handle("/v1/qa", true, s.qa)
	s.handle("/v1/rerank", true, s.rerank)
	s.handle("/tokenize", false, s.tokenize)
	s.handle("/detokenize", false, s.detokenize)
	s.mux.HandleFunc("GET /v1/models", s.listModels)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if s.admit.isClosed() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path))
	})
	return s, nil
}

// listModels is OpenAI's GET /v1/models: every model the server holds, by name,
// with the endpoints it serves.
func (s *Server) listModels(w http.ResponseWriter, _ *http.Request) {
	type model struct {
		ID        string   `json:"id"`
		Object    string   `json:"object"`
		OwnedBy   string   `json:"owned_by"`
		Endpoints []string `json:"endpoints"`
	}
	serves := map[string][]string{}
	for name := range s.completers {
		serves[name] = append(serves[name], "/v1/completions")
	}
	for name := range s.chatters {
		serves[name] = append(serves[name], "/v1/chat/completions")
	}
	for name := range s.embedders {
		serves[name] = append(serves[name], "/v1/embeddings")
	}
	for name := range s.classifiers {
		serves[name] = append(serves[name], "/v1/classify")
	}
	for name := range s.answerers {
		serves[name] = append(serves[name], "/v1/qa")
	}
	list := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: []model{}}
	for _, name := range slices.Sorted(maps.Keys(serves)) {
		list.Data = append(list.Data, model{ID: name, Object: "model", OwnedBy: "lumen", Endpoints: serves[name]})
	}
	_ = writeJSON(w, list)
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Close stops the embedding batchers.
func (s *Server) Close() {
	for _, b := range s.batchers {
		b.close()
	}
	s.cancelAbort()
}

// Drain begins a shutdown: from now on /readyz, every request, and every one waiting
// in the queue, is answered 503 at once; requests already computing go on. Pair it
// with http.Server.Shutdown, which waits for them (InFlight says how many remain).
func (s *Server) Drain() { s.admit.close() }

// InFlight is the number of admitted requests not yet answered: computing, queued,
// waiting for an embedding batch or in a continuous batch.
func (s *Server) InFlight() int { return len(s.admit.slots) }

// Abort cancels the requests still computing (when a drain has run out of time):
// streams end with an error event and "data: [DONE]", others with a 503.
func (s *Server) Abort() { s.cancelAbort() }

// HTTPServer returns an http.Server for the handler with the configured header and
// idle timeouts (the handler applies the body and write timeouts).
func (s *Server) HTTPServer() *http.Server { return NewHTTPServer(s.cfg, s.Handler()) }

// NewHTTPServer returns an http.Server for h with cfg's header and idle timeouts: the
// server a Gate fronts from the start.
func NewHTTPServer(cfg Config, h http.Handler) *http.Server {
	cfg = cfg.withDefaults()
	return &http.Server{Handler: h, ReadHeaderTimeout: cfg.HeaderTimeout, IdleTimeout: cfg.IdleTimeout}
}

// Listener limits ln to the configured number of open connections: more wait in
// the kernel's accept queue instead of exhausting the process's file descriptors.
func (s *Server) Listener(ln net.Listener) net.Listener { return LimitListener(s.cfg, ln) }

// LimitListener is Server.Listener before there is a Server.
func LimitListener(cfg Config, ln net.Listener) net.Listener {
	return netutil.LimitListener(ln, cfg.withDefaults().MaxConns)
}

// Gate is the handler to serve from the moment the address is bound, before the
// models are loaded (or downloaded): until Open it answers /healthz 200 (the process
// is alive), /readyz 503 "loading" and every other path 503 with Retry-After; after
// Open every request goes to the Server. A Gate is safe for concurrent use.
type Gate struct {
	s          atomic.Pointer[Server]
	retryAfter int
}

// NewGate returns a closed gate; 503s carry cfg's Retry-After.
func NewGate(cfg Config) *Gate { return &Gate{retryAfter: cfg.withDefaults().RetryAfterSec} }

// Open hands every request from now on to s.
func (g *Gate) Open(s *Server) { g.s.Store(s) }

func (g *Gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s := g.s.Load(); s != nil {
		s.Handler().ServeHTTP(w, r)
		return
	}
	switch {
	case r.URL.Path == "/healthz" && r.Method == http.MethodGet:
		w.Write([]byte("ok\n"))
	case r.URL.Path == "/readyz" && r.Method == http.MethodGet:
		http.Error(w, "loading", http.StatusServiceUnavailable)
	default:
		w.Header().Set("Retry-After", strconv.Itoa(g.retryAfter))
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the models are loading")
	}
}

// apiError is an error with an HTTP status and an OpenAI-style type.
type apiError struct {
	status int
	typ    string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, "invalid_request_error", fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"type": typ, "message": msg}})
}

// statusWriter records the status code for the metrics.
type statusWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	code    int
	failed  bool // a write failed: the client got less than the status says
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write writes with a deadline: a client that stops reading fails the write after
// the write timeout instead of holding its handler for ever.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	n, err := w.ResponseWriter.Write(b)
	if err != nil {
		w.failed = true
	}
	return n, err
}

func (w *statusWriter) Flush() {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	if err := w.rc.Flush(); err != nil {
		w.failed = true
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// handle wraps an endpoint: POST only; the body read whole, within the size limit
// and the body timeout, before admission (so a slow or stalled upload holds no
// worker, and a client that leaves while queued frees its place at once); admission
// (with a worker when worker is set, else a queue place only); errors; metrics.
func (s *Server) handle(path string, worker bool, fn func(w http.ResponseWriter, r *http.Request) error) {
	s.mux.HandleFunc(path, func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w := &statusWriter{ResponseWriter: rw, rc: http.NewResponseController(rw), timeout: s.cfg.WriteTimeout}
		defer func() {
			code := w.code
			if code == 0 || w.failed {
				code = 499 // the client went away before, or while, the answer was written
			}
			s.met.requests.WithLabelValues(path, strconv.Itoa(code)).Inc()
			s.met.latency.WithLabelValues(path).Observe(time.Since(start).Seconds())
		}()
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "use POST")
			return
		}
		if r.ContentLength > s.cfg.MaxBodyBytes {
			writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", fmt.Sprintf("body larger than %d bytes", s.cfg.MaxBodyBytes))
			return
		}
		_ = w.rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout))
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", fmt.Sprintf("body larger than %d bytes", mbe.Limit))
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			writeError(w, http.StatusRequestTimeout, "invalid_request_error", fmt.Sprintf("the body took longer than %s to arrive", s.cfg.BodyTimeout))
			return
		case err != nil:
			return // the client went away
		}
		_ = w.rc.SetReadDeadline(time.Time{})
		r.Body = io.NopCloser(bytes.NewReader(body))
		// The request's work ends when its client leaves or the server aborts.
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		defer context.AfterFunc(s.abort, cancel)()
		r = r.WithContext(ctx)

		release, ok := s.admit.enter(ctx, worker)
		if !ok {
			if ctx.Err() != nil && s.abort.Err() == nil {
				return // the client left while queued
			}
			s.unavailable(w, "overloaded", "the server is at capacity or shutting down; retry later")
			return
		}
		defer release()
		if err := fn(w, r); err != nil {
			var ae *apiError
			switch {
			case errors.As(err, &ae):
				writeError(w, ae.status, ae.typ, ae.msg)
			case w.code != 0: // the answer had begun; nothing more can be said
			case errors.Is(err, errOverloaded), errors.Is(err, decode.ErrBusy), errors.Is(err, decode.ErrClosed):
				s.unavailable(w, "overloaded", "the server is at capacity or shutting down; retry later")
			case s.abort.Err() != nil:
				s.unavailable(w, "shutting_down", "the server shut down before the request finished")
			case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
				writeError(w, 499, "cancelled", err.Error())
			case errors.Is(err, nn.ErrInput):
				writeError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
			default:
				writeError(w, http.StatusInternalServerError, "server_error", err.Error())
			}
		}
	})
}

// unavailable answers 503 with Retry-After: the one overload answer.
func (s *Server) unavailable(w http.ResponseWriter, typ, msg string) {
	w.Header().Set("Retry-After", strconv.Itoa(s.cfg.RetryAfterSec))
	writeError(w, http.StatusServiceUnavailable, typ, msg)
}

// decodeJSON reads a JSON body into v; anything but a JSON object, malformed JSON and
// wrong types are 400s.
func decodeJSON(r *http.Request, v any) error {
	br := bufio.NewReader(r.Body)
	for {
		c, err := br.ReadByte()
		if err != nil {
			return badRequest("the body is empty: want a JSON object")
		}
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			continue
		}
		if c != '{' {
			return badRequest("the body must be a JSON object, not %s", jsonKind(c))
		}
		_ = br.UnreadByte()
		break
	}
	dec := json.NewDecoder(br)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return badRequest("field %q: want %s, got %s", te.Field, jsonType(te.Type), te.Value)
		}
		return badRequest("malformed JSON: %v", err)
	}
	if dec.More() {
		return badRequest("malformed JSON: data after the request object")
	}
	return nil
}

// jsonKind names the JSON value that starts with c.
func jsonKind(c byte) string {
	switch {
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 'n':
		return "null"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	}
	return "valid JSON"
}

// jsonType names a Go type as the JSON it decodes from.
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Pointer:
		return jsonType(t.Elem())
	}
	return "number"
}

// inputs accepts "input" as a non-empty string or an array of them, each at most
// maxBytes long.
func inputs(raw json.RawMessage, max, maxBytes int) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, badRequest(`"input" is required: a string or an array of strings`)
	}
	var many []string
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		many = []string{one}
	} else if err := json.Unmarshal(raw, &many); err != nil {
		return nil, badRequest(`"input" must be a string or an array of strings`)
	}
	if len(many) == 0 {
		return nil, badRequest(`"input" is empty`)
	}
	if len(many) > max {
		return nil, badRequest(`"input" has %d texts; the limit is %d`, len(many), max)
	}
	for i, t := range many {
		if err := checkText(fmt.Sprintf("input %d", i), t, maxBytes); err != nil {
			return nil, err
		}
	}
	return many, nil
}

// checkText refuses an empty text, or one longer than maxBytes, before any tokenizing.
func checkText(what, text string, maxBytes int) error {
	switch {
	case text == "":
		return badRequest("%s is empty", what)
	case len(text) > maxBytes:
		return badRequest("%s is %d bytes; the limit is %d", what, len(text), maxBytes)
	}
	return nil
}

// quoteName quotes a client-given name for a message, cut to 64 bytes.
func quoteName(name string) string {
	if len(name) <= 64 {
		return strconv.Quote(name)
	}
	cut := 64
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return strconv.Quote(name[:cut]) + "…"
}

// lookup finds the named model among those serving an endpoint.
func lookup[M any](models map[string]M, name, kind string) (M, error) {
	m, ok := models[name]
	if !ok {
		var zero M
		return zero, &apiError{http.StatusNotFound, "model_not_found", fmt.Sprintf("no %s model %s", kind, quoteName(name))}
	}
	return m, nil
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(v)
}
