package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/internal/testmodels"
	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/models/bert"
	"github.com/lumen-ml/lumen/server"
)

func TestEmbedCommand(t *testing.T) {
	model, tok := shared.Path(t, "fixtures", "minilm-tiny"), shared.Path(t, "tokenizers", "bert-base-uncased")
	texts := []string{"The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."}
	code, out, errOut := runCLI(append([]string{"embed", "--model", model, "--tokenizer", tok}, texts...)...)
	require.Equal(t, 0, code, errOut)
	var resp struct {
		Object string `json:"object"`
		Data   []struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &resp))
	require.Equal(t, "list", resp.Object)
	require.Len(t, resp.Data, 3)
	g, err := safetensors.Open(filepath.Join(model, "golden.safetensors"))
	require.NoError(t, err)
	defer g.Close()
	x, _ := g.Tensor("embeddings")
	want, _ := x.Float32s()
	for i, d := range resp.Data {
		require.Equal(t, i, d.Index)
		for j, v := range d.Embedding {
			require.InDelta(t, want[i*96+j], v, 1e-4)
		}
	}
	// Overriding the directory's normalisation changes the norm.
	code, out, _ = runCLI("embed", "--model", model, "--tokenizer", tok, "--normalize", "false", texts[0])
	require.Equal(t, 0, code)
	require.NoError(t, json.Unmarshal([]byte(out), &resp))
	var ss float64
	for _, v := range resp.Data[0].Embedding {
		ss += float64(v) * float64(v)
	}
	require.Greater(t, math.Abs(math.Sqrt(ss)-1), 1e-3)
	code, _, errOut = runCLI("embed", "--model", model, "--tokenizer", tok, "--pooling", "median", "x")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "--pooling")
	code, _, errOut = runCLI("embed", "--model", model, "x")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "no tokenizer")

	// --quantize int8: the same embeddings within cosine 0.99; an unknown scheme is refused.
	code, out, errOut = runCLI(append([]string{"embed", "--model", model, "--tokenizer", tok, "--quantize", "int8"}, texts...)...)
	require.Equal(t, 0, code, errOut)
	require.NoError(t, json.Unmarshal([]byte(out), &resp))
	for i, d := range resp.Data {
		require.GreaterOrEqual(t, cosine(want[i*96:i*96+96], d.Embedding), 0.99, "text %d", i)
		require.NotEqual(t, want[i*96:i*96+96], d.Embedding, "int8 is not F32")
	}
	code, _, errOut = runCLI("embed", "--model", model, "--tokenizer", tok, "--quantize", "int4", "x")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "unknown quantization")
}

func TestQAClassifyFillMaskCommands(t *testing.T) {
	tok := shared.Path(t, "tokenizers", "bert-base-uncased")
	code, out, errOut := runCLI("qa", "--model", shared.Path(t, "fixtures", "bert-tiny-qa"), "--tokenizer", tok,
		"--question", "Who wrote the novel?", "--context", "The novel was written by Jane Austen in 1813 and published in London.")
	require.Equal(t, 0, code, errOut)
	var a struct {
		Answer     string `json:"answer"`
		Start, End int
	}
	require.NoError(t, json.Unmarshal([]byte(out), &a))
	require.Equal(t, "The novel was written by Jane Austen in 1813 and published in London.", a.Answer) // golden best span

	code, out, errOut = runCLI("classify", "--model", shared.Path(t, "fixtures", "bert-tiny-cls"), "--tokenizer", tok, "great", "awful")
	require.Equal(t, 0, code, errOut)
	var cls []struct {
		Labels []struct {
			Label string  `json:"label"`
			Score float64 `json:"score"`
		} `json:"labels"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &cls))
	require.Len(t, cls, 2)
	require.Len(t, cls[0].Labels, 3)

	code, out, errOut = runCLI("fill-mask", "--model", shared.Path(t, "fixtures", "bert-tiny"), "--tokenizer", tok, "--top-k", "5", "The capital of France is [MASK].")
	require.Equal(t, 0, code, errOut)
	var fills [][]struct {
		ID int `json:"id"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &fills))
	require.Len(t, fills, 1)
	got := []int{}
	for _, f := range fills[0] {
		got = append(got, f.ID)
	}
	require.Equal(t, []int{16678, 15710, 4861, 23692, 19096}, got) // golden top5_ids

	code, _, errOut = runCLI("fill-mask", "--model", shared.Path(t, "fixtures", "bert-tiny-qa"), "--tokenizer", tok, "no head [MASK]")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "masked-LM")
}

func TestGenRandomBert(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bert")
	code, _, errOut := runCLI("gen-random", "--arch", "bert", "--size", "tiny", "--out", out)
	require.Equal(t, 0, code, errOut)
	code, _, errOut = runCLI("embed", "--model", out, "hello") // the shipped vocabulary was written beside it
	require.Equal(t, 0, code, errOut)
	require.FileExists(t, filepath.Join(out, "vocab.txt"))
	code, _, _ = runCLI("gen-random", "--arch", "bert", "--size", "huge", "--out", out)
	require.Equal(t, 1, code)
}

// cosine is the cosine similarity of two vectors of the same length.
func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		ab, aa, bb = ab+x*y, aa+x*x, bb+y*y
	}
	return ab / math.Sqrt(aa*bb)
}

// The sentence-transformers prompts: --prompt-name puts one before each text, the
// default one applies without it, an unknown name is refused.
func TestEmbedPrompts(t *testing.T) {
	src, tok := shared.Path(t, "fixtures", "minilm-tiny"), shared.Path(t, "tokenizers", "bert-base-uncased")
	dir := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors", "modules.json"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "1_Pooling"), 0o755))
	b, err := os.ReadFile(filepath.Join(src, "1_Pooling", "config.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "1_Pooling", "config.json"), b, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config_sentence_transformers.json"),
		[]byte(`{"prompts":{"query":"query: ","passage":"passage: "},"default_prompt_name":"passage"}`), 0o644))
	embed := func(args ...string) string {
		code, out, errOut := runCLI(append([]string{"embed", "--model", dir, "--tokenizer", tok}, args...)...)
		require.Equal(t, 0, code, errOut)
		return out
	}
	plain := func(text string) string { // the original directory has no prompts
		code, out, errOut := runCLI("embed", "--model", src, "--tokenizer", tok, text)
		require.Equal(t, 0, code, errOut)
		return out
	}
	strip := func(s string) string { return s[:strings.LastIndex(s, `"model"`)] }
	require.Equal(t, strip(plain("query: the sea")), strip(embed("--prompt-name", "query", "the sea")))
	require.Equal(t, strip(plain("passage: the sea")), strip(embed("the sea")), "the default prompt")
	code, _, errOut := runCLI("embed", "--model", dir, "--tokenizer", tok, "--prompt-name", "title", "x")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `no prompt "title"`)
}

// lumen rerank: the documents ranked as sentence-transformers' CrossEncoder ranks
// them, --top-n and --return-documents.
func TestRerankCommand(t *testing.T) {
	dir := testmodels.CrossEncoder(t)
	g := testmodels.Rerank(t)
	code, out, errOut := runCLI(append([]string{"rerank", "--model", dir, "--query", g.Query, "--top-n", "2", "--return-documents"}, g.Documents...)...)
	require.Equal(t, 0, code, errOut)
	var resp struct{ Results []server.RerankResult }
	require.NoError(t, json.Unmarshal([]byte(out), &resp))
	require.Len(t, resp.Results, 2)
	for i, want := range bert.Rank(g.Scores, 2) {
		require.Equal(t, want.Index, resp.Results[i].Index)
		require.InDelta(t, want.Score, resp.Results[i].RelevanceScore, 1e-5)
		require.Equal(t, g.Documents[want.Index], resp.Results[i].Document.Text)
	}
	code, _, errOut = runCLI("rerank", "--model", shared.Path(t, "fixtures", "bert-tiny-cls"), "--tokenizer", shared.Path(t, "tokenizers", "bert-base-uncased"), "--query", "q", "doc")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "cross-encoder")
}

// TestEncoderFamilyCLI runs the tasks on the other architectures' random
// checkpoints (models/bert/testdata/encoders, checked there against transformers):
// NER on RoBERTa, fill-mask on XLM-R's <mask>, rerank on an XLM-R cross-encoder,
// embed on MPNet.
func TestEncoderFamilyCLI(t *testing.T) {
	dir := func(name string) string {
		return filepath.Join("..", "..", "models", "bert", "testdata", "encoders", name)
	}
	golden := func(name string) map[string]any {
		raw, err := os.ReadFile(filepath.Join(dir(name), "golden.json"))
		require.NoError(t, err)
		var g map[string]any
		require.NoError(t, json.Unmarshal(raw, &g))
		return g
	}
	g := golden("roberta-tok")
	code, out, errOut := runCLI("ner", "--model", dir("roberta-tok"), g["ner_text"].(string))
	require.Equal(t, 0, code, errOut)
	var ner []struct {
		Entities []struct {
			Group string `json:"entity_group"`
			Start int    `json:"start"`
		} `json:"entities"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &ner))
	want := g["ner"].([]any)
	require.Len(t, ner[0].Entities, len(want))
	for i, e := range ner[0].Entities {
		require.Equal(t, want[i].(map[string]any)["entity_group"], e.Group)
		require.EqualValues(t, want[i].(map[string]any)["start"], e.Start)
	}

	g = golden("xlm-roberta-mlm")
	text := g["texts"].([]any)[1].(string)
	code, out, errOut = runCLI("fill-mask", "--model", dir("xlm-roberta-mlm"), text)
	require.Equal(t, 0, code, errOut)
	var fills [][]struct {
		ID       int    `json:"id"`
		Sequence string `json:"sequence"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &fills))
	top := g["fill_mask"].([]any)[1].([]any)[0].(map[string]any)
	require.EqualValues(t, top["token"], fills[0][0].ID)
	require.Equal(t, top["sequence"], fills[0][0].Sequence)

	r := golden("xlm-roberta-seq")["rerank"].(map[string]any)
	args := []string{"rerank", "--model", dir("xlm-roberta-seq"), "--max-length", "16", "--query", r["query"].(string)}
	for _, d := range r["documents"].([]any) {
		args = append(args, d.(string))
	}
	code, out, errOut = runCLI(args...)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "relevance_score")

	code, _, errOut = runCLI("ner", "--model", dir("mpnet-qa"), "no token head")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "token-classification")
	code, out, errOut = runCLI("embed", "--model", dir("mpnet-qa"), "Hello world!")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "[")
}
