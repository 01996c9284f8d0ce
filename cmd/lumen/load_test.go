package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/bench/harness"
	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/models/gpt2"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/server"
	"github.com/lumen-ml/lumen/tensor"
)

// load streams completions and reports tokens/s, time to first token and
// inter-token latency.
func TestLoadCompletions(t *testing.T) {
	dir := t.TempDir()
	cfg, err := gpt2.SizeConfig("tiny")
	require.NoError(t, err)
	require.NoError(t, gpt2.WriteRandom(dir, cfg, tensor.F32, 5))
	tok, err := gpt2.LoadTokenizerFS(assets.GPT2Tokenizer())
	require.NoError(t, err)
	pool := ops.NewPool(2)
	defer pool.Close()
	m, err := gpt2.Load(dir, gpt2.WithTokenizer(tok), nn.WithPool(pool))
	require.NoError(t, err)
	b := gpt2.NewBatcher(m, decode.BatchOptions{})
	defer b.Close()
	s, err := server.New(server.Config{}, server.Models{"g": b})
	require.NoError(t, err)
	defer s.Close()
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	body := []byte(`{"model":"g","prompt":"The quick brown fox","max_tokens":8,"temperature":0,"stream":true}`)
	rep := loadReport(harness.Load(context.Background(), ts.URL+"/v1/completions", [][]byte{body}, 3, 6, 0, true))
	require.Len(t, rep.Latencies, 6, "every request succeeds: %v", rep.Status)
	require.Len(t, rep.TTFT, 6)
	require.Positive(t, rep.Tokens)
	require.NotEmpty(t, rep.ITL)
	var out bytes.Buffer
	rep.print(&out)
	require.Contains(t, out.String(), "tokens/s")
	require.Contains(t, out.String(), "ttft      p50")
	require.Contains(t, out.String(), "itl       p50")

	// The CLI turns streaming on for completions whatever the body says.
	code, stdout, stderr := runCLI("load", "--url", ts.URL, "--endpoint", "/v1/completions", "--model", "g", "--requests", "2")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "tokens/s")
}
