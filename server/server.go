// Package server serves Lumen models over HTTP with OpenAI-style endpoints:
//
//	POST /v1/completions   GPT-2 text completion ("stream": true sends server-sent events)
//	POST /v1/embeddings    BERT/MiniLM sentence embeddings (concurrent requests are micro-batched)
//	POST /v1/classify      sequence classification
//	POST /v1/qa            extractive question answering
//	GET  /healthz          liveness
//	GET  /metrics          Prometheus metrics (requests, latency, tokens, queue depth)
//
// Requests pass a bounded admission queue: when it is full the server answers 503
// with Retry-After instead of growing without bound. A client that disconnects
// cancels its work. Models are shared by all requests and never copied.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lumen-ml/lumen/models/nn"
)

// Config sets the server's limits. Zero fields take the defaults of DefaultConfig.
type Config struct {
	MaxBodyBytes  int64         // request body limit
	MaxInputs     int           // texts per embeddings/classify request
	MaxTokens     int           // max_tokens ceiling for completions
	Workers       int           // requests computing at once
	QueueSize     int           // requests waiting for a worker before 503
	BatchMax      int           // texts per embedding micro-batch
	BatchWait     time.Duration // how long a micro-batch waits to fill
	RetryAfterSec int           // Retry-After on 503
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{MaxBodyBytes: 1 << 20, MaxInputs: 64, MaxTokens: 512, Workers: 4, QueueSize: 64,
		BatchMax: 32, BatchWait: 2 * time.Millisecond, RetryAfterSec: 1}
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
	if c.RetryAfterSec <= 0 {
		c.RetryAfterSec = d.RetryAfterSec
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
	embedders   map[string]Embedder
	classifiers map[string]Classifier
	answerers   map[string]Answerer
	batchers    map[string]*batcher // one per Embedder
	admit       *admission
	reg         *prometheus.Registry
	met         metrics
	mux         *http.ServeMux
	ids         atomic.Uint64 // completion ids
}

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	tokens   *prometheus.CounterVec
	queue    prometheus.GaugeFunc
	inflight prometheus.GaugeFunc
}

// New builds a server over models. The models must stay loaded while it runs; Close
// stops its background batchers.
func New(cfg Config, models Models) (*Server, error) {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, completers: map[string]Completer{}, embedders: map[string]Embedder{}, classifiers: map[string]Classifier{},
		answerers: map[string]Answerer{}, batchers: map[string]*batcher{},
		admit: newAdmission(cfg.Workers, cfg.QueueSize), reg: prometheus.NewRegistry(), mux: http.NewServeMux()}
	for name, m := range models {
		serves := false
		if c, ok := m.(Completer); ok {
			if _, err := c.Encode(""); err != nil { // e.g. loaded without a tokenizer
				return nil, fmt.Errorf("server: model %q cannot serve completions: %w", name, err)
			}
			s.completers[name], serves = c, true
		}
		if e, ok := m.(Encoder); ok {
			if _, err := e.Encode([]string{""}, false); err != nil {
				return nil, fmt.Errorf("server: model %q cannot serve encoder endpoints: %w", name, err)
			}
		}
		if e, ok := m.(Embedder); ok {
			s.embedders[name], s.batchers[name], serves = e, newBatcher(e, cfg.BatchMax, cfg.BatchWait), true
		}
		if c, ok := m.(Classifier); ok {
			s.classifiers[name], serves = c, true
		}
		if a, ok := m.(Answerer); ok {
			s.answerers[name], serves = a, true
		}
		if !serves {
			s.Close()
			return nil, fmt.Errorf("server: model %q (%T) serves no endpoint: it implements none of Completer, Embedder, Classifier, Answerer", name, m)
		}
	}
	s.met.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lumen_requests_total", Help: "HTTP requests by endpoint and status code."}, []string{"endpoint", "code"})
	s.met.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lumen_request_duration_seconds", Help: "Request latency by endpoint.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"endpoint"})
	s.met.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lumen_generated_tokens_total", Help: "Tokens generated by model."}, []string{"model"})
	s.met.queue = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lumen_queue_depth", Help: "Requests waiting for a worker."}, func() float64 { return float64(s.admit.waiting()) })
	s.met.inflight = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lumen_requests_running", Help: "Requests holding a worker."}, func() float64 { return float64(s.admit.running()) })
	s.reg.MustRegister(s.met.requests, s.met.latency, s.met.tokens, s.met.queue, s.met.inflight)

	s.handle("/v1/completions", true, s.completions)
	s.handle("/v1/embeddings", false, s.embeddings) // the batcher serialises the compute
	s.handle("/v1/classify", true, s.classify)
	s.handle("/v1/qa", true, s.qa)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path))
	})
	return s, nil
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Close stops the embedding batchers.
func (s *Server) Close() {
	for _, b := range s.batchers {
		b.close()
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
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// handle wraps an endpoint: POST only, body limit, admission (with a worker when
// worker is set, else a queue place only), errors, metrics.
func (s *Server) handle(path string, worker bool, fn func(w http.ResponseWriter, r *http.Request) error) {
	s.mux.HandleFunc(path, func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w := &statusWriter{ResponseWriter: rw}
		defer func() {
			code := w.code
			if code == 0 {
				code = 499 // client went away before anything was written
			}
			s.met.requests.WithLabelValues(path, strconv.Itoa(code)).Inc()
			s.met.latency.WithLabelValues(path).Observe(time.Since(start).Seconds())
		}()
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "use POST")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		release, ok := s.admit.enter(r.Context(), worker)
		if !ok {
			if r.Context().Err() != nil {
				return // the client left while queued
			}
			w.Header().Set("Retry-After", strconv.Itoa(s.cfg.RetryAfterSec))
			writeError(w, http.StatusServiceUnavailable, "overloaded", "the server is at capacity; retry later")
			return
		}
		defer release()
		if err := fn(w, r); err != nil {
			var ae *apiError
			var mbe *http.MaxBytesError
			switch {
			case errors.As(err, &mbe):
				writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", fmt.Sprintf("body larger than %d bytes", mbe.Limit))
			case errors.As(err, &ae):
				writeError(w, ae.status, ae.typ, ae.msg)
			case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
				if w.code == 0 {
					writeError(w, 499, "cancelled", err.Error())
				}
			case errors.Is(err, nn.ErrInput):
				if w.code == 0 {
					writeError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
				}
			default:
				if w.code == 0 {
					writeError(w, http.StatusInternalServerError, "server_error", err.Error())
				}
			}
		}
	})
}

// decode reads a JSON body into v; malformed JSON and wrong types are 400s.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return badRequest("field %q: want %s, got %s", te.Field, te.Type, te.Value)
		}
		return badRequest("malformed JSON: %v", err)
	}
	if dec.More() {
		return badRequest("malformed JSON: data after the request object")
	}
	return nil
}

// inputs accepts "input" as a string or an array of strings.
func inputs(raw json.RawMessage, max int) ([]string, error) {
	if len(raw) == 0 {
		return nil, badRequest(`"input" is required`)
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, badRequest(`"input" must be a string or an array of strings`)
	}
	if len(many) == 0 {
		return nil, badRequest(`"input" is empty`)
	}
	if len(many) > max {
		return nil, badRequest(`"input" has %d texts; the limit is %d`, len(many), max)
	}
	return many, nil
}

// lookup finds the named model among those serving an endpoint.
func lookup[M any](models map[string]M, name, kind string) (M, error) {
	m, ok := models[name]
	if !ok {
		var zero M
		return zero, &apiError{http.StatusNotFound, "model_not_found", fmt.Sprintf("no %s model %q", kind, name)}
	}
	return m, nil
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(v)
}
