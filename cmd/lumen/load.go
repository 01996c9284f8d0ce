package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

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
			rep := runLoad(cmd.Context(), u.JoinPath(endpoint).String(), []byte(body), concurrency, requests, duration, stream)
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

type loadReport struct {
	elapsed   time.Duration
	latencies []time.Duration
	status    map[int]int
	netErrors int
	stream    bool
	tokens    int             // completion tokens of the successful requests
	ttft      []time.Duration // request sent to first streamed text
	itl       []time.Duration // between streamed events
}

// streamStats reads a completion's server-sent events: the time to the first event,
// the gaps between events, and completion_tokens from the final usage.
func streamStats(r io.Reader, t0 time.Time) (ttft time.Duration, gaps []time.Duration, tokens int, ok bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	last := t0
	for sc.Scan() {
		data, found := strings.CutPrefix(sc.Text(), "data: ")
		if !found {
			continue
		}
		if data == "[DONE]" {
			return ttft, gaps, tokens, ttft > 0
		}
		var ev struct {
			Choices []struct {
				Text string `json:"text"`
			} `json:"choices"`
			Usage *struct {
				CompletionTokens int `json:"completion_tokens"`
			} `json:"usage"`
			Error any `json:"error"`
		}
		if json.Unmarshal([]byte(data), &ev) != nil || ev.Error != nil {
			return 0, nil, 0, false
		}
		if ev.Usage != nil {
			tokens = ev.Usage.CompletionTokens
		}
		if len(ev.Choices) == 1 && ev.Choices[0].Text != "" {
			now := time.Now()
			if ttft == 0 {
				ttft = now.Sub(t0)
			} else {
				gaps = append(gaps, now.Sub(last))
			}
			last = now
		}
	}
	return 0, nil, 0, false
}

func runLoad(ctx context.Context, target string, body []byte, concurrency, requests int, duration time.Duration, stream bool) loadReport {
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}, Timeout: 2 * time.Minute}
	var mu sync.Mutex
	rep := loadReport{status: map[int]int{}, stream: stream}
	next := make(chan struct{})
	go func() {
		defer close(next)
		for i := 0; requests <= 0 || i < requests; i++ {
			select {
			case next <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < concurrency; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				var ttft time.Duration
				var gaps []time.Duration
				tokens, streamed := 0, false
				if err == nil {
					if stream && resp.StatusCode == http.StatusOK {
						ttft, gaps, tokens, streamed = streamStats(resp.Body, t0)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				d := time.Since(t0)
				mu.Lock()
				switch {
				case err != nil:
					if ctx.Err() == nil {
						rep.netErrors++
					}
				case stream && resp.StatusCode == http.StatusOK && !streamed:
					if ctx.Err() == nil {
						rep.status[-1]++ // a stream that broke off or reported an error
					}
				default:
					rep.status[resp.StatusCode]++
					if resp.StatusCode == http.StatusOK {
						rep.latencies = append(rep.latencies, d)
						rep.tokens += tokens
						rep.ttft = append(rep.ttft, ttft)
						rep.itl = append(rep.itl, gaps...)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	rep.elapsed = time.Since(start)
	return rep
}

func (r loadReport) print(w io.Writer) {
	slices.Sort(r.latencies)
	ok := len(r.latencies)
	fmt.Fprintf(w, "requests  %d ok in %s: %.1f queries/s\n", ok, r.elapsed.Round(time.Millisecond), float64(ok)/r.elapsed.Seconds())
	if ok > 0 {
		fmt.Fprintf(w, "latency   p50 %s  p95 %s  p99 %s  max %s\n", percentile(r.latencies, 0.50), percentile(r.latencies, 0.95), percentile(r.latencies, 0.99), r.latencies[ok-1].Round(time.Microsecond))
	}
	if r.stream && ok > 0 {
		slices.Sort(r.ttft)
		slices.Sort(r.itl)
		fmt.Fprintf(w, "tokens    %d generated: %.1f tokens/s\n", r.tokens, float64(r.tokens)/r.elapsed.Seconds())
		fmt.Fprintf(w, "ttft      p50 %s  p95 %s  p99 %s\n", percentile(r.ttft, 0.50), percentile(r.ttft, 0.95), percentile(r.ttft, 0.99))
		if len(r.itl) > 0 {
			fmt.Fprintf(w, "itl       p50 %s  p95 %s  p99 %s\n", percentile(r.itl, 0.50), percentile(r.itl, 0.95), percentile(r.itl, 0.99))
		}
	}
	codes := make([]int, 0, len(r.status))
	for c := range r.status {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	errs := r.netErrors
	for _, c := range codes {
		switch {
		case c == -1:
			errs += r.status[c]
			fmt.Fprintf(w, "status    broken stream: %d\n", r.status[c])
		case c != http.StatusOK:
			errs += r.status[c]
			fmt.Fprintf(w, "status    %d: %d\n", c, r.status[c])
		}
	}
	fmt.Fprintf(w, "errors    %d (network %d)\n", errs, r.netErrors)
}
