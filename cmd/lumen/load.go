package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lumen-ml/lumen/bench/harness"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/spf13/cobra"
)

func newLoadCmd() *cobra.Command {
	var target, endpoint, model, body, bodiesFile string
	var concurrency, requests int
	var duration time.Duration
	cmd := &cobra.Command{
		Use:   "load --url URL --endpoint PATH --model NAME --concurrency N (--requests R | --duration D)",
		Short: "A bounded load generator for a local server: QPS, latency percentiles, errors",
		Long: `load sends requests from N concurrent clients to a server on this machine (loopback
addresses only) until R requests are done or D has passed, then reports queries per
second, p50/p95/p99 latency and errors by status. Completions are streamed ("stream":
true is set in the body) so that load also reports generated tokens per second, time
to first token and the time between streamed events (inter-token latency).
--bodies FILE sends the JSON bodies of FILE's lines in turn (a mixed load: texts of
many lengths) instead of one body.`,
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
			if body != "" && bodiesFile != "" {
				return fmt.Errorf("give at most one of --body and --bodies")
			}
			bodies := []string{cmp.Or(body, defaultBody(endpoint, model))}
			if bodiesFile != "" {
				if bodies, err = readBodies(bodiesFile); err != nil {
					return err
				}
			}
			stream := endpoint == "/v1/completions"
			raw := make([][]byte, len(bodies))
			for i, b := range bodies {
				var fields map[string]any
				if err := json.Unmarshal([]byte(b), &fields); err != nil {
					return fmt.Errorf("request body %d is not a JSON object: %w", i+1, err)
				}
				if stream {
					fields["stream"] = true
				}
				raw[i], _ = json.Marshal(fields)
			}
			rep := loadReport(harness.Load(cmd.Context(), u.JoinPath(endpoint).String(), raw, concurrency, requests, duration, stream))
			rep.print(cmd.OutOrStdout())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&target, "url", "http://127.0.0.1:8080", "server base URL (loopback only)")
	f.StringVar(&endpoint, "endpoint", "/v1/embeddings", "endpoint path")
	f.StringVar(&model, "model", "", "model name for the default request bodies")
	f.StringVar(&body, "body", "", "request JSON (default: a small request for the endpoint)")
	f.StringVar(&bodiesFile, "bodies", "", "a file of request JSON bodies, one a line, sent in turn")
	f.IntVar(&concurrency, "concurrency", 1, "concurrent clients")
	f.IntVar(&requests, "requests", 0, "total requests")
	f.DurationVar(&duration, "duration", 0, "run time")
	return cmd
}

// maxBodies bounds --bodies: lines, and bytes in all.
const maxBodies, maxBodiesBytes = 100_000, 64 << 20

// readBodies reads a file of JSON bodies, one a line (blank lines skipped).
func readBodies(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--bodies: %w", err)
	}
	if fi.Size() > maxBodiesBytes {
		return nil, fmt.Errorf("--bodies %s: %d bytes, at most %d", path, fi.Size(), maxBodiesBytes)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--bodies: %w", err)
	}
	var out []string
	for line := range strings.Lines(string(raw)) {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	if len(out) == 0 || len(out) > maxBodies {
		return nil, fmt.Errorf("--bodies %s: %d bodies, want 1..%d", path, len(out), maxBodies)
	}
	return out, nil
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

// computeFlag is --compute: f32 or bf16 (nn.ParseCompute).
type computeFlag struct{ c nn.Compute }

func (f *computeFlag) String() string { return f.c.String() }
func (f *computeFlag) Type() string   { return "f32|bf16" }
func (f *computeFlag) Set(s string) error {
	c, err := nn.ParseCompute(s)
	if err != nil {
		return err
	}
	f.c = c
	return nil
}

// register adds --compute to cmd.
func (f *computeFlag) register(cmd *cobra.Command) {
	cmd.Flags().Var(f, "compute", "bf16: run the Linear products in BF16 with float32 sums (AMX-BF16 hosts; refused elsewhere); f32: float32")
}

// option is the flag as a model option.
func (f *computeFlag) option() nn.Option { return nn.WithCompute(f.c) }

// precisionOptions are the options the --quantize and --compute flags set away from
// their defaults (none when both are the defaults, as a model that takes neither
// needs).
func precisionOptions(q quantizeFlag, c computeFlag) []nn.Option {
	var opts []nn.Option
	if q.q != nn.NoQuantization {
		opts = append(opts, q.option())
	}
	if c.c != nn.F32 {
		opts = append(opts, c.option())
	}
	return opts
}
