package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSoak mixes hostile clients — slow bodies, stalled stream readers, idle
// connections, oversize words and bodies — with normal ones on a loopback server,
// for a bounded time, and checks that normal requests keep their p99 latency within
// 2× of an unloaded run (plus 20 ms of timer slack) and that the heap returns to its
// baseline. The hostile clients ask for little compute (that would be load, not an
// attack): what they test is that the defences make them cheap. It runs when
// LUMEN_SOAK=1 (CI sets it).
func TestSoak(t *testing.T) {
	if os.Getenv("LUMEN_SOAK") == "" {
		t.Skip("the soak runs with LUMEN_SOAK=1 (CI sets it)")
	}
	models := testModels(t)
	cfg := Config{Workers: 2, QueueSize: 64, BodyTimeout: time.Second, WriteTimeout: time.Second,
		IdleTimeout: time.Second, HeaderTimeout: time.Second, MaxConns: 256, MaxInputBytes: 64 << 10}
	_, url := serveReal(t, cfg, models)
	addr := strings.TrimPrefix(url, "http://")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}

	normal := func(d time.Duration) []time.Duration {
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		for c := 0; c < 2; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i, end := 0, time.Now().Add(d); time.Now().Before(end); i++ {
					body, path := `{"model":"minilm","input":["a short sentence","another one"]}`, "/v1/embeddings"
					if i%2 == 1 {
						body, path = `{"model":"gpt2","prompt":"Hello there","max_tokens":8,"temperature":0}`, "/v1/completions"
					}
					t0 := time.Now()
					resp, err := client.Post(url+path, "application/json", strings.NewReader(body))
					if err != nil {
						t.Errorf("normal request: %v", err)
						return
					}
					_, _ = discardBody(resp)
					if resp.StatusCode != 200 {
						t.Errorf("normal request: status %d", resp.StatusCode)
					}
					mu.Lock()
					lat = append(lat, time.Since(t0))
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		slices.Sort(lat)
		return lat
	}
	p99 := func(l []time.Duration) time.Duration { return l[min(len(l)-1, len(l)*99/100)] }

	normal(time.Second) // warm-up
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	unloaded := normal(3 * time.Second)

	ctx, stop := context.WithCancel(context.Background())
	var attackers sync.WaitGroup
	attack := func(n int, f func()) {
		for i := 0; i < n; i++ {
			attackers.Add(1)
			go func() {
				defer attackers.Done()
				for ctx.Err() == nil {
					f()
				}
			}()
		}
	}
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			return nil
		}
		return c
	}
	attack(8, func() { // slow bodies: a byte every 100 ms
		c := dial()
		if c == nil {
			return
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 60\r\n\r\n")
		for i := 0; i < 60 && ctx.Err() == nil; i++ {
			if _, err := c.Write([]byte{' '}); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	attack(4, func() { // stalled readers: a long stream, never read
		c := dial()
		if c == nil {
			return
		}
		defer c.Close()
		body := `{"model":"gpt2","prompt":"Once upon a time","max_tokens":16,"stream":true}`
		fmt.Fprintf(c, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		select {
		case <-ctx.Done():
		case <-time.After(3 * time.Second):
		}
	})
	attack(64, func() { // idle connections
		c := dial()
		if c == nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 1)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		c.Read(buf) // returns when the server closes it
	})
	word := strings.Repeat("supercalifragilistic", 5000) // one 100 KB word: refused before tokenizing
	huge := strings.Repeat("x", 2<<20)                   // a 2 MiB body: refused before reading
	attack(2, func() {
		for _, b := range []struct{ path, body string }{
			{"/v1/completions", `{"model":"gpt2","prompt":"` + word + `"}`},
			{"/v1/embeddings", `{"model":"minilm","input":"` + word + `"}`},
			{"/v1/embeddings", `{"model":"minilm","input":"` + huge + `"}`},
		} {
			resp, err := client.Post(url+b.path, "application/json", strings.NewReader(b.body))
			if err == nil {
				discardBody(resp)
			}
		}
		// The attackers share the test's two CPUs with the server: paced, they measure
		// what the server spends on them, not the client loop's own cost.
		time.Sleep(20 * time.Millisecond)
	})
	time.Sleep(500 * time.Millisecond)
	loaded := normal(6 * time.Second)
	stop()
	attackers.Wait()
	client.CloseIdleConnections()
	time.Sleep(1500 * time.Millisecond) // the idle timeout closes what is left
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	t.Logf("normal requests: unloaded %d, p50 %v p99 %v; under attack %d, p50 %v p99 %v; heap %d → %d MiB",
		len(unloaded), unloaded[len(unloaded)/2], p99(unloaded), len(loaded), loaded[len(loaded)/2], p99(loaded),
		base.HeapInuse>>20, after.HeapInuse>>20)
	require.LessOrEqual(t, p99(loaded), 2*p99(unloaded)+20*time.Millisecond, "normal p99 under attack")
	require.LessOrEqual(t, after.HeapInuse, base.HeapInuse+32<<20, "the heap returns to its baseline (BPE cache ≤ 8 MiB)")
}

// discardBody reads a response to its end and closes it.
func discardBody(resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	var n int64
	buf := make([]byte, 32<<10)
	for {
		k, err := resp.Body.Read(buf)
		n += int64(k)
		if err != nil {
			return n, nil
		}
	}
}
