package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/models/gpt2"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/tensor"
)

// tinyGPT2 is a tiny random GPT-2 with the shipped tokenizer (no shared data needed).
func tinyGPT2(t *testing.T) *gpt2.Model {
	dir := t.TempDir()
	cfg, err := gpt2.SizeConfig("tiny")
	require.NoError(t, err)
	require.NoError(t, gpt2.WriteRandom(dir, cfg, tensor.F32, 3))
	tok, err := gpt2.LoadTokenizerFS(assets.GPT2Tokenizer())
	require.NoError(t, err)
	pool := ops.NewPool(2)
	t.Cleanup(pool.Close)
	m, err := gpt2.Load(dir, gpt2.WithTokenizer(tok), nn.WithPool(pool))
	require.NoError(t, err)
	return m
}

func metricValue(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			var v float64
			_, err := fmt.Sscan(rest, &v)
			require.NoError(t, err)
			return v
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// Concurrent completions share decode steps through a Batcher, need no worker each
// (one worker serves eight at once), and get exactly the text they get alone.
func TestBatchedCompletions(t *testing.T) {
	m := tinyGPT2(t)
	b := gpt2.NewBatcher(m, decode.BatchOptions{MaxBatch: 8})
	t.Cleanup(b.Close)
	_, ts := start(t, Config{Workers: 1, QueueSize: 16}, Models{"gpt2": b})

	prompts := []string{"Hello", "The quick brown fox", "Once upon a time there was", "A", "Go is", "1 2 3", "¿Qué?", "Lumen"}
	want := make([]string, len(prompts))
	for i, p := range prompts {
		ids, err := m.Encode(p)
		require.NoError(t, err)
		for c, err := range m.GenerateText(context.Background(), ids, gpt2.GenerateOptions{MaxNewTokens: 12}, nil) {
			require.NoError(t, err)
			want[i] += c.Text
		}
	}
	var wg sync.WaitGroup
	got := make([]string, len(prompts))
	codes := make([]int, len(prompts))
	for i, p := range prompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"model":"gpt2","prompt":%q,"max_tokens":12,"temperature":0}`, p)
			code, raw, _ := post(t, ts.URL+"/v1/completions", body)
			codes[i] = code
			var resp completionResponse
			if json.Unmarshal(raw, &resp) == nil && len(resp.Choices) == 1 {
				got[i] = resp.Choices[0].Text
			}
		}()
	}
	wg.Wait()
	for i := range prompts {
		require.Equal(t, 200, codes[i])
		require.Equal(t, want[i], got[i], "prompt %q", prompts[i])
	}
	st := b.Stats()
	require.Greater(t, st.SequenceSteps, st.Steps, "requests shared steps")
	require.Equal(t, float64(len(prompts)), metricValue(t, ts.URL, `lumen_time_to_first_token_seconds_count{model="gpt2"}`))
	require.Equal(t, float64(len(prompts)*11), metricValue(t, ts.URL, `lumen_inter_token_latency_seconds_count{model="gpt2"}`))
	require.Equal(t, float64(st.Steps), metricValue(t, ts.URL, `lumen_batch_sequences_count{model="gpt2"}`))
	require.Equal(t, float64(st.SequenceSteps), metricValue(t, ts.URL, `lumen_batch_sequences_sum{model="gpt2"}`))
	require.Equal(t, float64(len(prompts)), metricValue(t, ts.URL, `lumen_batch_queue_wait_seconds_count{model="gpt2"}`))
	require.Zero(t, metricValue(t, ts.URL, `lumen_batch_running{model="gpt2"}`))
}

// Beyond the batcher's queue a completion is answered 503 with Retry-After; a
// streaming client that leaves frees its slot.
func TestBatchedCompletionsBusy(t *testing.T) {
	m := tinyGPT2(t)
	b := gpt2.NewBatcher(m, decode.BatchOptions{MaxBatch: 1, MaxWaiting: 1})
	t.Cleanup(b.Close)
	_, ts := start(t, Config{}, Models{"gpt2": b})
	hold := make(stepGate) // replaces the server's observer: the first request stays running
	b.Observe(hold)
	t.Cleanup(hold.open) // before b.Close, should the test stop early

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	long := `{"model":"gpt2","prompt":"Hello","max_tokens":200,"stream":true}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/completions", strings.NewReader(long))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	waitUntil(t, func() bool { return b.Stats().Running == 1 })

	waiting := make(chan int, 1)
	go func() {
		code, _, _ := post(t, ts.URL+"/v1/completions", `{"model":"gpt2","prompt":"Hi","max_tokens":2}`)
		waiting <- code
	}()
	waitUntil(t, func() bool { return b.Stats().Waiting == 1 })
	code, body, hdr := post(t, ts.URL+"/v1/completions", `{"model":"gpt2","prompt":"Hi","max_tokens":2}`)
	require.Equal(t, http.StatusServiceUnavailable, code, string(body))
	require.Equal(t, "1", hdr.Get("Retry-After"))

	cancel() // the streaming client leaves: its slot goes to the waiting request
	hold.open()
	require.Equal(t, 200, <-waiting)
	waitUntil(t, func() bool { return b.Stats().Running == 0 })
}

// stepGate is a decode.BatchObserver that holds the scheduler after each step until
// the channel is closed.
type stepGate chan struct{}

func (stepGate) Admitted(time.Duration)            {}
func (g stepGate) Stepped(int, int, time.Duration) { <-g }

func (g stepGate) open() {
	select {
	case <-g:
	default:
		close(g)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "timed out")
		time.Sleep(time.Millisecond)
	}
}
