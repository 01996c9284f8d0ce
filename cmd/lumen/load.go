package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
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
second, p50/p95/p99 latency and errors by status.`,
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
			rep := runLoad(cmd.Context(), u.JoinPath(endpoint).String(), []byte(body), concurrency, requests, duration)
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
}

func runLoad(ctx context.Context, target string, body []byte, concurrency, requests int, duration time.Duration) loadReport {
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}, Timeout: 2 * time.Minute}
	var mu sync.Mutex
	rep := loadReport{status: map[int]int{}}
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
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					if ctx.Err() == nil {
						rep.netErrors++
					}
				} else {
					rep.status[resp.StatusCode]++
					if resp.StatusCode == http.StatusOK {
						rep.latencies = append(rep.latencies, d)
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
	codes := make([]int, 0, len(r.status))
	for c := range r.status {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	errs := r.netErrors
	for _, c := range codes {
		if c != http.StatusOK {
			errs += r.status[c]
			fmt.Fprintf(w, "status    %d: %d\n", c, r.status[c])
		}
	}
	fmt.Fprintf(w, "errors    %d (network %d)\n", errs, r.netErrors)
}
