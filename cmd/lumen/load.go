package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/lumen-ml/lumen/bench/harness"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/spf13/cobra"
)

func newLoadCmd() *cobra.Command {
	var target, endpoint, model, body string
	var concurrency, requests int
	var duration time.Duration
	cmd := &cobra.Command{
		Use:   "load --url URL --endpoint PATH --model NAME --concurrency N (--requests R | --duration D)",
		Short: "A bounded load generator for a local server: QPS, latency percentiles, errors",
		Long: `load sends requests from N concurrent clients to a server on this machine (loopback
addresses only) until R requests are done or D has passed, then reports queries per
second, p50/p95/p99 latency and errors by status. Completions are streamed ("stream":
true is set in the body) so that load also reports generated tokens per second, time
to first token and the time between streamed events (inter-token latency).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := url.Parse(target)
			if err != nil || u.Host == "" {
				return fmt.Errorf("--url %q is not a URL", target)
			}
			if err := loopbackOnly(u.Hostname()); err != nil {
				return err
			}
			if concurrency <= 0 || concurrency > 1024 {
				return fmt.Errorf("--concurrency must be 1..1024, got %d", concurrency)
			}
			if (requests <= 0) == (duration <= 0) {
				return fmt.Errorf("give exactly one of --requests and --duration")
			}
			if duration > time.Hour || requests > 10_000_000 {
				return fmt.Errorf("--requests at most 10,000,000 and --duration at most 1h")
			}
			if body == "" {
				body = defaultBody(endpoint, model)
			}
			stream := endpoint == "/v1/completions"
			if stream {
				var fields map[string]any
				if err := json.Unmarshal([]byte(body), &fields); err != nil {
					return fmt.Errorf("--body is not a JSON object: %w", err)
				}
				fields["stream"] = true
				raw, _ := json.Marshal(fields)
				body = string(raw)
			}
			rep := loadReport(harness.Load(cmd.Context(), u.JoinPath(endpoint).String(), []byte(body), concurrency, requests, duration, stream))
			rep.print(cmd.OutOrStdout())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&target, "url", "http://127.0.0.1:8080", "server base URL (loopback only)")
	f.StringVar(&endpoint, "endpoint", "/v1/embeddings", "endpoint path")
	f.StringVar(&model, "model", "", "model name for the default request bodies")
	f.StringVar(&body, "body", "", "request JSON (default: a small request for the endpoint)")
	f.IntVar(&concurrency, "concurrency", 1, "concurrent clients")
	f.IntVar(&requests, "requests", 0, "total requests")
	f.DurationVar(&duration, "duration", 0, "run time")
	return cmd
}

func loopbackOnly(host string) error {
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("load only targets loopback addresses (127.0.0.0/8, ::1, localhost), not %q", host)
	}
	return nil
}

func defaultBody(endpoint, model string) string {
	switch endpoint {
	case "/v1/completions":
		return fmt.Sprintf(`{"model":%q,"prompt":"The quick brown fox","max_tokens":16,"temperature":0}`, model)
	case "/v1/qa":
		return fmt.Sprintf(`{"model":%q,"question":"Who wrote the novel?","context":"The novel was written by Jane Austen in 1813."}`, model)
	}
	return fmt.Sprintf(`{"model":%q,"input":"The weather is lovely today."}`, model)
}

// loadReport prints a harness.LoadReport.
type loadReport harness.LoadReport

func (r loadReport) print(w io.Writer) {
	slices.Sort(r.Latencies)
	ok := len(r.Latencies)
	fmt.Fprintf(w, "requests  %d ok in %s: %.1f queries/s\n", ok, r.Elapsed.Round(time.Millisecond), float64(ok)/r.Elapsed.Seconds())
	if ok > 0 {
		fmt.Fprintf(w, "latency   p50 %s  p95 %s  p99 %s  max %s\n", percentile(r.Latencies, 0.50), percentile(r.Latencies, 0.95), percentile(r.Latencies, 0.99), r.Latencies[ok-1].Round(time.Microsecond))
	}
	if r.Stream && ok > 0 {
		slices.Sort(r.TTFT)
		slices.Sort(r.ITL)
		fmt.Fprintf(w, "tokens    %d generated: %.1f tokens/s\n", r.Tokens, float64(r.Tokens)/r.Elapsed.Seconds())
		fmt.Fprintf(w, "ttft      p50 %s  p95 %s  p99 %s\n", percentile(r.TTFT, 0.50), percentile(r.TTFT, 0.95), percentile(r.TTFT, 0.99))
		if len(r.ITL) > 0 {
			fmt.Fprintf(w, "itl       p50 %s  p95 %s  p99 %s\n", percentile(r.ITL, 0.50), percentile(r.ITL, 0.95), percentile(r.ITL, 0.99))
		}
	}
	codes := make([]int, 0, len(r.Status))
	for c := range r.Status {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	errs := r.NetErrors
	for _, c := range codes {
		switch {
		case c == -1:
			errs += r.Status[c]
			fmt.Fprintf(w, "status    broken stream: %d\n", r.Status[c])
		case c != http.StatusOK:
			errs += r.Status[c]
			fmt.Fprintf(w, "status    %d: %d\n", c, r.Status[c])
		}
	}
	fmt.Fprintf(w, "errors    %d (network %d)\n", errs, r.NetErrors)
}

// quantizeFlag is --quantize: none or int8 (nn.ParseQuantization).
type quantizeFlag struct{ q nn.Quantization }

func (f *quantizeFlag) String() string { return f.q.String() }
func (f *quantizeFlag) Type() string   { return "none|int8" }
func (f *quantizeFlag) Set(s string) error {
	q, err := nn.ParseQuantization(s)
	if err != nil {
		return err
	}
	f.q = q
	return nil
}

// register adds --quantize to cmd.
func (f *quantizeFlag) register(cmd *cobra.Command) {
	cmd.Flags().Var(f, "quantize", "int8: quantise every Linear weight to int8 at load (dynamic quantisation: inputs per row at run time); none: as stored")
}

// option is the flag as a model option.
func (f *quantizeFlag) option() nn.Option { return nn.WithQuantization(f.q) }
