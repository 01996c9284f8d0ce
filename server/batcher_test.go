package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/models/bert"
)

// passRecorder is an Embedder whose embedding of a text is its first id and length,
// recording each forward pass's texts and padded tokens.
type passRecorder struct {
	mu     sync.Mutex
	passes [][2]int // texts, padded tokens
}

func (p *passRecorder) Encode(texts []string, _ bool) ([]bert.Encoding, error) {
	out := make([]bert.Encoding, len(texts))
	for i, t := range texts {
		out[i] = enc(len(t), 1+len(t))
	}
	return out, nil
}

func (p *passRecorder) Embed(_ context.Context, encs []bert.Encoding) ([][]float32, error) {
	longest := 0
	out := make([][]float32, len(encs))
	for i, e := range encs {
		longest = max(longest, len(e.IDs))
		out[i] = []float32{float32(e.IDs[0]), float32(len(e.IDs))}
	}
	p.mu.Lock()
	p.passes = append(p.passes, [2]int{len(encs), len(encs) * longest})
	p.mu.Unlock()
	return out, nil
}

func enc(id, n int) bert.Encoding {
	e := bert.Encoding{IDs: make([]int, n)}
	e.IDs[0] = id
	return e
}

// With a token budget, a micro-batch runs sorted by length in passes within the
// budget, and every request gets its own texts' embeddings in order; without one,
// a micro-batch is one pass in arrival order.
func TestBatcherTokenBudget(t *testing.T) {
	lengths := []int{100, 3, 50, 7, 7, 120, 2, 60, 9, 300}
	for _, budget := range []int{0, 256} {
		p := &passRecorder{}
		b := newBatcher(p, 64, budget, 300*time.Millisecond)
		var wg sync.WaitGroup
		for i, n := range lengths {
			wg.Add(1)
			go func() {
				defer wg.Done()
				encs := []bert.Encoding{enc(i, n), enc(100+i, 1+n/2)}
				emb, err := b.embed(context.Background(), encs)
				require.NoError(t, err)
				require.Equal(t, [][]float32{{float32(i), float32(n)}, {float32(100 + i), float32(1 + n/2)}}, emb)
			}()
		}
		wg.Wait()
		b.close()
		texts := 0
		for _, ps := range p.passes {
			texts += ps[0]
			if budget > 0 && ps[0] > 1 {
				require.LessOrEqual(t, ps[1], budget, "pass %v", ps)
			}
		}
		require.Equal(t, 2*len(lengths), texts)
		if budget == 0 {
			require.Len(t, p.passes, 1, "one micro-batch of 20 texts")
		} else {
			require.Greater(t, len(p.passes), 1)
		}
	}
}

// A Gate answers liveness 200 and readiness and the API 503 until it is opened; then
// the server answers, /readyz 200 until Drain and 503 after.
func TestGateAndReadiness(t *testing.T) {
	g := NewGate(Config{RetryAfterSec: 7})
	ts := httptest.NewServer(g)
	defer ts.Close()
	get := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(`{}`))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	code, _ := get("GET", "/healthz")
	require.Equal(t, 200, code)
	code, _ = get("GET", "/readyz")
	require.Equal(t, 503, code)
	code, retry := get("POST", "/v1/embeddings")
	require.Equal(t, [2]any{503, "7"}, [2]any{code, retry})

	s, err := New(DefaultConfig(), Models{"e": &passRecorder{}})
	require.NoError(t, err)
	defer s.Close()
	g.Open(s)
	code, _ = get("GET", "/readyz")
	require.Equal(t, 200, code)
	s.Drain()
	code, _ = get("GET", "/readyz")
	require.Equal(t, 503, code)
	code, _ = get("GET", "/healthz")
	require.Equal(t, 200, code)
	require.Equal(t, 0, s.InFlight())
}
