package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// LoadReport is what Load measured: successful requests' latencies, every status,
// and for streamed completions the tokens, times to first token and the gaps between
// streamed events (inter-token latency).
type LoadReport struct {
	Elapsed   time.Duration
	Latencies []time.Duration // successful requests, from sending to the last byte
	Status    map[int]int     // by HTTP status; -1: a stream that broke off or reported an error
	NetErrors int
	Stream    bool
	Tokens    int             // generated: completion_tokens of finished streams, plus the events of streams the deadline cut
	TTFT      []time.Duration // from sending to the first streamed text
	ITL       []time.Duration // between streamed text events
}

// streamStats reads a completion's server-sent events: the time to the first event,
// the gaps between events, completion_tokens from the final usage, and whether the
// stream ended properly ([DONE] with no error); events counts the text events.
func streamStats(r io.Reader, t0 time.Time) (ttft time.Duration, gaps []time.Duration, tokens, events int, ok bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	last := t0
	for sc.Scan() {
		data, found := strings.CutPrefix(sc.Text(), "data: ")
		if !found {
			continue
		}
		if data == "[DONE]" {
			return ttft, gaps, tokens, events, ttft > 0
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
			return ttft, gaps, 0, events, false
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
			events++
		}
	}
	return ttft, gaps, 0, events, false
}

// Load sends bodies to target from concurrency clients, request i the body
// i mod len(bodies), until requests are done (requests > 0) or duration has passed
// (several bodies make a mixed load: texts of many lengths); with stream, the responses are read as
// server-sent completion events. Requests still running at the deadline are cut: a
// cut stream's events count as tokens and its gaps as inter-token latencies, but not
// its latency.
func Load(ctx context.Context, target string, bodies [][]byte, concurrency, requests int, duration time.Duration, stream bool) LoadReport {
	if len(bodies) == 0 {
		panic("harness: Load without a request body")
	}
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}, Timeout: 10 * time.Minute}
	var mu sync.Mutex
	rep := LoadReport{Status: map[int]int{}, Stream: stream}
	next := make(chan []byte)
	go func() {
		defer close(next)
		for i := 0; requests <= 0 || i < requests; i++ {
			select {
			case next <- bodies[i%len(bodies)]:
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
			for body := range next {
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				var ttft time.Duration
				var gaps []time.Duration
				tokens, events, streamed := 0, 0, false
				if err == nil {
					if stream && resp.StatusCode == http.StatusOK {
						ttft, gaps, tokens, events, streamed = streamStats(resp.Body, t0)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				d := time.Since(t0)
				mu.Lock()
				switch {
				case err != nil:
					if ctx.Err() == nil {
						rep.NetErrors++
					}
				case stream && resp.StatusCode == http.StatusOK && !streamed:
					if ctx.Err() == nil {
						rep.Status[-1]++
					} else { // cut by the deadline: what it streamed still counts
						rep.Tokens += events
						rep.ITL = append(rep.ITL, gaps...)
						if ttft > 0 {
							rep.TTFT = append(rep.TTFT, ttft)
						}
					}
				default:
					rep.Status[resp.StatusCode]++
					if resp.StatusCode == http.StatusOK {
						rep.Latencies = append(rep.Latencies, d)
						rep.Tokens += tokens
						if stream {
							rep.TTFT = append(rep.TTFT, ttft)
							rep.ITL = append(rep.ITL, gaps...)
						}
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	rep.Elapsed = time.Since(start)
	return rep
}

// NearestRank returns the nearest-rank q-quantile (0–1) of sorted durations, 0 when
// there are none: the percentiles Load's reports quote.
func NearestRank(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
