package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/internal/golden"
	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/internal/testmodels"
	"github.com/lumen-ml/lumen/models/bert"
	"github.com/lumen-ml/lumen/models/gpt2"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
)

// testModels loads four models onto one shared two-thread pool, as lumen serve does.
func testModels(t testing.TB) Models {
	pool := ops.NewPool(2)
	t.Cleanup(pool.Close)
	gp, err := gpt2.Load(shared.Path(t, "fixtures", "gpt2-tiny"), nn.WithPool(pool), nn.WithTokenizerDir(shared.Path(t, "tokenizers", "gpt2")))
	require.NoError(t, err)
	t.Cleanup(gp.Close)
	models := Models{"gpt2": gp}
	for name, fixture := range map[string]string{"minilm": "minilm-tiny", "cls": "bert-tiny-cls", "qa": "bert-tiny-qa"} {
		m, err := bert.Load(shared.Path(t, "fixtures", fixture), nn.WithPool(pool), nn.WithTokenizerDir(shared.Path(t, "tokenizers", "bert-base-uncased")))
		require.NoError(t, err)
		t.Cleanup(m.Close)
		models[name] = m
	}
	return models
}

func start(t testing.TB, cfg Config, models Models) (*Server, *httptest.Server) {
	s, err := New(cfg, models)
	require.NoError(t, err)
	ts := httptest.NewServer(s.Handler()) // listens on 127.0.0.1
	t.Cleanup(func() { ts.Close(); s.Close() })
	return s, ts
}

func post(t testing.TB, url, body string) (int, []byte, http.Header) {
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	return readResponse(t, resp, err)
}

// readResponse reads a whole response: status, body, headers.
func readResponse(t testing.TB, resp *http.Response, err error) (int, []byte, http.Header) {
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b, resp.Header
}

func TestCompletions(t *testing.T) {
	models := testModels(t)
	_, ts := start(t, Config{}, models)
	gp := models["gpt2"].(*gpt2.Model)
	g := golden.Open(t, "gpt2-tiny")
	want, err := gp.Tokenizer().Decode(g.Ints(t, "f32.prompt0.generated_ids"))
	require.NoError(t, err)

	code, body, _ := post(t, ts.URL+"/v1/completions", `{"model":"gpt2","prompt":"Hello, my dog is a little","max_tokens":24,"temperature":0}`)
	require.Equal(t, 200, code, string(body))
	var resp completionResponse
	require.NoError(t, json.Unmarshal(body, &resp))
	require.Equal(t, want, resp.Choices[0].Text, "greedy completion equals the golden continuation")
	require.Equal(t, "length", *resp.Choices[0].FinishReason)
	require.Equal(t, 24, resp.Usage.CompletionTokens)
	require.Equal(t, 7, resp.Usage.PromptTokens)

	// Streaming: the server-sent events concatenate to the same text.
	r, err := http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(`{"model":"gpt2","prompt":"Hello, my dog is a little","max_tokens":24,"temperature":0,"stream":true}`))
	require.NoError(t, err)
	defer r.Body.Close()
	require.Equal(t, "text/event-stream", r.Header.Get("Content-Type"))
	var streamed strings.Builder
	events, done := 0, false
	sc := bufio.NewScanner(r.Body)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if line == "[DONE]" {
			done = true
			break
		}
		var chunk completionResponse
		require.NoError(t, json.Unmarshal([]byte(line), &chunk))
		streamed.WriteString(chunk.Choices[0].Text)
		events++
	}
	require.True(t, done)
	require.Greater(t, events, 5)
	require.Equal(t, want, streamed.String())

	// A stop string ends the text before it; finish_reason is "stop".
	stop := want[4:8]
	code, body, _ = post(t, ts.URL+"/v1/completions", fmt.Sprintf(`{"model":"gpt2","prompt":"Hello, my dog is a little","max_tokens":24,"temperature":0,"stop":%q}`, stop))
	require.Equal(t, 200, code)
	require.NoError(t, json.Unmarshal(body, &resp))
	require.Equal(t, want[:strings.Index(want, stop)], resp.Choices[0].Text)
	require.Equal(t, "stop", *resp.Choices[0].FinishReason)
}

func TestEncoderEndpoints(t *testing.T) {
	models := testModels(t)
	_, ts := start(t, Config{}, models)
	texts := []string{"The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."}
	in, _ := json.Marshal(texts)
	code, body, _ := post(t, ts.URL+"/v1/embeddings", `{"model":"minilm","input":`+string(in)+`}`)
	require.Equal(t, 200, code, string(body))
	var emb struct {
		Data []struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
		Usage usage `json:"usage"`
	}
	require.NoError(t, json.Unmarshal(body, &emb))
	want := golden.Open(t, "minilm-tiny").F32(t, "embeddings")
	require.Len(t, emb.Data, 3)
	for i, d := range emb.Data {
		require.Equal(t, i, d.Index)
		for j, v := range d.Embedding {
			require.InDelta(t, want[i*96+j], v, 1e-4)
		}
	}
	require.Positive(t, emb.Usage.PromptTokens)

	// OpenAI's encoding_format "base64" (little-endian float32s) and dimensions
	// (truncated, then renormalised).
	code, body, _ = post(t, ts.URL+"/v1/embeddings", `{"model":"minilm","input":`+string(in)+`,"encoding_format":"base64","dimensions":10}`)
	require.Equal(t, 200, code, string(body))
	var b64 struct {
		Data []struct {
			Embedding string `json:"embedding"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(body, &b64))
	require.Len(t, b64.Data, 3)
	for i, d := range b64.Data {
		raw, err := base64.StdEncoding.DecodeString(d.Embedding)
		require.NoError(t, err)
		require.Len(t, raw, 40)
		var ss float64
		for j := range 10 {
			ss += float64(want[i*96+j]) * float64(want[i*96+j])
		}
		for j := range 10 {
			v := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
			require.InDelta(t, float64(want[i*96+j])/math.Sqrt(ss), v, 1e-4)
		}
	}
	// Token ids as input (one array, or an array of them): the embeddings of the
	// texts they encode; bad ids are 400s.
	ids := make([][]int, len(texts))
	for i, text := range texts {
		encs, err := models["minilm"].(*bert.Model).Encode([]string{text}, false)
		require.NoError(t, err)
		ids[i] = encs[0].IDs
	}
	for _, input := range []any{ids, ids[0]} {
		raw, _ := json.Marshal(input)
		code, body, _ = post(t, ts.URL+"/v1/embeddings", `{"model":"minilm","input":`+string(raw)+`}`)
		require.Equal(t, 200, code, string(body))
		require.NoError(t, json.Unmarshal(body, &emb))
		for i, d := range emb.Data {
			for j, v := range d.Embedding {
				require.InDelta(t, want[i*96+j], v, 1e-4)
			}
		}
	}
	for _, bad := range []string{`[[]]`, `[[101, 99999999]]`, `[[-1]]`} {
		code, body, _ = post(t, ts.URL+"/v1/embeddings", `{"model":"minilm","input":`+bad+`}`)
		require.Equal(t, 400, code, "%s: %s", bad, body)
	}

	for _, bad := range []string{`"dimensions":97`, `"dimensions":0`, `"encoding_format":"int8"`, `"prompt_name":"query"`} {
		code, body, _ = post(t, ts.URL+"/v1/embeddings", `{"model":"minilm","input":"hi",`+bad+`}`)
		require.Equal(t, 400, code, "%s: %s", bad, body)
	}

	code, body, _ = post(t, ts.URL+"/v1/classify", `{"model":"cls","input":"I love it"}`)
	require.Equal(t, 200, code, string(body))
	require.Contains(t, string(body), `"label":"`)

	code, body, _ = post(t, ts.URL+"/v1/qa", `{"model":"qa","question":"Who wrote the novel?","context":"The novel was written by Jane Austen in 1813 and published in London."}`)
	require.Equal(t, 200, code, string(body))
	var qa struct{ Answer string }
	require.NoError(t, json.Unmarshal(body, &qa))
	require.Equal(t, "The novel was written by Jane Austen in 1813 and published in London.", qa.Answer)

	resp, err := http.Get(ts.URL + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	resp, err = http.Get(ts.URL + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"lumen_requests_total", "lumen_request_duration_seconds_bucket", "lumen_queue_depth", "lumen_requests_running"} {
		require.Contains(t, string(metrics), name)
	}
	require.Contains(t, string(metrics), `lumen_requests_total{code="200",endpoint="/v1/embeddings"} 4`)
	require.Contains(t, string(metrics), `lumen_requests_total{code="400",endpoint="/v1/embeddings"} 7`)
}

func TestBadRequests(t *testing.T) {
	_, ts := start(t, Config{MaxBodyBytes: 4096, MaxTokens: 64, MaxInputs: 2}, testModels(t))
	long := strings.Repeat("word ", 200)
	for _, c := range []struct {
		path, body string
		code       int
		msg        string
	}{
		{"/v1/completions", `{"model":"gpt2","prompt":`, 400, "malformed JSON"},
		{"/v1/completions", `{"model":"gpt2","prompt":42}`, 400, "want string, got number"},
		{"/v1/completions", `{"model":"nope","prompt":"hi"}`, 404, "no completion model"},
		{"/v1/completions", `{"model":"gpt2","prompt":""}`, 400, "non-empty"},
		{"/v1/completions", `{"model":"gpt2","prompt":"hi","max_tokens":65}`, 400, "max_tokens"},
		{"/v1/completions", `{"model":"gpt2","prompt":"hi","temperature":3}`, 400, "temperature"},
		{"/v1/completions", `{"model":"gpt2","prompt":"hi","stop":[1,2]}`, 400, "stop"},
		{"/v1/completions", `{"model":"gpt2","prompt":"` + strings.Repeat("a ", 240) + `","max_tokens":60}`, 400, "context"},
		{"/v1/completions", `{"model":"gpt2","prompt":"hi"} {}`, 400, "after the request object"},
		{"/v1/embeddings", `{"model":"minilm","input":[1.5]}`, 400, "string or an array"},
		{"/v1/embeddings", `{"model":"minilm"}`, 400, "required"},
		{"/v1/embeddings", `{"model":"minilm","input":null}`, 400, "required"},
		{"/v1/embeddings", `{"model":"minilm","input":""}`, 400, "input 0 is empty"},
		{"/v1/embeddings", `{"model":"minilm","input":["a",""]}`, 400, "input 1 is empty"},
		{"/v1/classify", `null`, 400, "must be a JSON object, not null"},
		{"/v1/embeddings", `{"model":"minilm","input":["a","b","c"]}`, 400, "limit is 2"},
		{"/v1/embeddings", `{"model":"gpt2","input":"a"}`, 404, "no embedding model"},
		{"/v1/embeddings", `{"model":"minilm","input":"` + strings.Repeat("x", 5000) + `"}`, 413, "larger than"},
		{"/v1/classify", `{"model":"minilm","input":"a"}`, 400, "no classification head"},
		{"/v1/qa", `{"model":"qa","question":"q"}`, 400, "non-empty"},
		{"/v1/qa", `{"model":"qa","question":"q","context":"` + long + long + `"}`, 400, "at most 128"},
		{"/v1/nothing", `{}`, 404, "no endpoint"},
	} {
		code, body, _ := post(t, ts.URL+c.path, c.body)
		require.Equal(t, c.code, code, "%s %s: %s", c.path, c.body[:min(len(c.body), 60)], body)
		require.Contains(t, string(body), c.msg, c.path)
	}
	resp, err := http.Get(ts.URL + "/v1/completions")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestQueueFullIs503(t *testing.T) {
	s, ts := start(t, Config{Workers: 1, QueueSize: 1, RetryAfterSec: 3}, testModels(t))
	// Occupy the worker and the queue place directly.
	r1, ok := s.admit.enter(context.Background(), true)
	require.True(t, ok)
	r2, ok := s.admit.enter(context.Background(), false)
	require.True(t, ok)
	code, body, hdr := post(t, ts.URL+"/v1/embeddings", `{"model":"minilm","input":"hi"}`)
	require.Equal(t, 503, code, string(body))
	require.Equal(t, "3", hdr.Get("Retry-After"))
	r1()
	r2()
	code, _, _ = post(t, ts.URL+"/v1/embeddings", `{"model":"minilm","input":"hi"}`)
	require.Equal(t, 200, code)
}

func TestClientDisconnectCancels(t *testing.T) {
	s, ts := start(t, Config{Workers: 1, QueueSize: 4}, testModels(t))
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/completions", strings.NewReader(`{"model":"gpt2","prompt":"Hello","max_tokens":200,"stream":true}`))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	br := bufio.NewReader(resp.Body)
	_, err = br.ReadString('\n') // the stream has started
	require.NoError(t, err)
	cancel()
	resp.Body.Close()
	require.Eventually(t, func() bool { return s.admit.running() == 0 }, 5*time.Second, 10*time.Millisecond, "the generation stopped and released its worker")
}

// TestConcurrentClients: 64 clients mixing endpoints (run under -race in CI); the
// micro-batched embeddings must equal the unbatched ones.
func TestConcurrentClients(t *testing.T) {
	models := testModels(t)
	_, ts := start(t, Config{Workers: 4, QueueSize: 128, BatchWait: 5 * time.Millisecond}, models)
	mini := models["minilm"].(*bert.Model)
	texts := []string{"alpha beta", "gamma", "delta epsilon zeta", "eta theta"}
	encs, err := mini.Encode(texts, false)
	require.NoError(t, err)
	want, err := mini.Embed(context.Background(), encs)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for c := 0; c < 64; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rep := 0; rep < 3; rep++ {
				i := (c + rep) % len(texts)
				if c%8 == 0 {
					code, body, _ := post(t, ts.URL+"/v1/completions", `{"model":"gpt2","prompt":"Hi","max_tokens":4,"temperature":0}`)
					require.Equal(t, 200, code, string(body))
					continue
				}
				code, body, _ := post(t, ts.URL+"/v1/embeddings", fmt.Sprintf(`{"model":"minilm","input":%q}`, texts[i]))
				require.Equal(t, 200, code, string(body))
				var e struct {
					Data []struct {
						Embedding []float32 `json:"embedding"`
					} `json:"data"`
				}
				require.NoError(t, json.Unmarshal(body, &e))
				for j, v := range e.Data[0].Embedding {
					require.InDelta(t, want[i][j], v, 1e-5)
				}
			}
		}()
	}
	wg.Wait()
}

// TestNoLeaks sends 10,000 requests and checks that goroutines and heap return to a
// bound afterwards.
func TestNoLeaks(t *testing.T) {
	_, ts := start(t, Config{Workers: 2, QueueSize: 64}, testModels(t))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	send := func(n int) {
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 8 {
					body := `{"model":"minilm","input":"short text"}`
					if i%10 == 0 {
						body = `{"model":"minilm","input":` // malformed: the error path too
					}
					resp, err := client.Post(ts.URL+"/v1/embeddings", "application/json", bytes.NewReader([]byte(body)))
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
	}
	measure := func() (int, uint64) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return runtime.NumGoroutine(), ms.HeapAlloc
	}
	send(500) // warm up pools and connections
	g0, h0 := measure()
	send(10_000)
	time.Sleep(100 * time.Millisecond)
	g1, h1 := measure()
	require.LessOrEqual(t, g1, g0+4, "goroutines grew from %d to %d", g0, g1)
	require.Less(t, h1, h0+16<<20, "heap grew from %d to %d bytes", h0, h1)
}

// /v1/rerank on a cross-encoder: the documents sorted by sentence-transformers'
// CrossEncoder scores (models/bert/testdata/rerank_st.json), top_n and
// return_documents; a model that is not a cross-encoder does not serve it.
func TestRerank(t *testing.T) {
	m, err := bert.Load(testmodels.CrossEncoder(t))
	require.NoError(t, err)
	g := testmodels.Rerank(t)
	_, ts := start(t, Config{}, Models{"ce": m})
	req, _ := json.Marshal(map[string]any{"model": "ce", "query": g.Query, "documents": g.Documents, "top_n": 3, "return_documents": true})
	code, body, _ := post(t, ts.URL+"/v1/rerank", string(req))
	require.Equal(t, 200, code, string(body))
	var resp struct{ Results []RerankResult }
	require.NoError(t, json.Unmarshal(body, &resp))
	require.Len(t, resp.Results, 3)
	order := bert.Rank(g.Scores, 3)
	for i, r := range resp.Results {
		require.Equal(t, order[i].Index, r.Index)
		require.InDelta(t, g.Scores[r.Index], r.RelevanceScore, 1e-5)
		require.Equal(t, g.Documents[r.Index], r.Document.Text)
	}
	for _, bad := range []string{
		`{"model":"ce","documents":["a"]}`, `{"model":"ce","query":"q","documents":[]}`, `{"model":"ce","query":"q","documents":["a"],"top_n":-1}`,
		`{"model":"ce","query":"q","documents":[""]}`, `{"model":"ce","query":"q","documents":"a"}`,
	} {
		code, body, _ := post(t, ts.URL+"/v1/rerank", bad)
		require.Equal(t, 400, code, "%s: %s", bad, body)
	}
	code, _, _ = post(t, ts.URL+"/v1/rerank", `{"model":"nope","query":"q","documents":["a"]}`)
	require.Equal(t, 404, code)
}
