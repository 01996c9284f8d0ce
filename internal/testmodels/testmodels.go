// Package testmodels assembles the models that tests of several packages share and
// that are too large to commit whole: they are built from the shared fixtures
// (internal/shared) and small committed parts.
package testmodels

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/tensor"
)

// CrossEncoder assembles, in a temporary directory, the cross-encoder of the rerank
// tests: the shared bert-tiny-cls encoder with the one-logit head of
// models/bert/testdata/cross_head.safetensors (tools/bert/make_rerank_goldens.py)
// and the bert-base-uncased tokenizer. It returns the directory.
func CrossEncoder(tb testing.TB) string {
	tb.Helper()
	fixture, tok := shared.Path(tb, "fixtures", "bert-tiny-cls"), shared.Path(tb, "tokenizers", "bert-base-uncased")
	_, file, _, _ := runtime.Caller(0)
	headPath := filepath.Join(filepath.Dir(file), "..", "..", "models", "bert", "testdata", "cross_head.safetensors")
	tensors := map[string]*tensor.Tensor{}
	for _, path := range []string{filepath.Join(fixture, "model.safetensors"), headPath} {
		src, err := safetensors.Open(path)
		if err != nil {
			tb.Fatal(err)
		}
		for _, name := range src.Names() {
			x, err := src.Tensor(name)
			if err != nil {
				tb.Fatal(err)
			}
			tensors[name] = x.Clone()
		}
		src.Close()
	}
	dir := tb.TempDir()
	if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), tensors, nil); err != nil {
		tb.Fatal(err)
	}
	var cfg map[string]any
	raw, err := os.ReadFile(filepath.Join(fixture, "config.json"))
	if err == nil {
		err = json.Unmarshal(raw, &cfg)
	}
	if err != nil {
		tb.Fatal(err)
	}
	cfg["id2label"], cfg["label2id"] = map[string]string{"0": "LABEL_0"}, map[string]int{"LABEL_0": 0}
	raw, _ = json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644); err != nil {
		tb.Fatal(err)
	}
	entries, err := os.ReadDir(tok)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(tok, e.Name()))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// RerankGolden is models/bert/testdata/rerank_st.json: a query, its documents and
// sentence-transformers' CrossEncoder.predict scores for them on CrossEncoder's model.
type RerankGolden struct {
	Query     string
	Documents []string
	Scores    []float32
}

// Rerank reads the rerank golden.
func Rerank(tb testing.TB) RerankGolden {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "models", "bert", "testdata", "rerank_st.json"))
	var g RerankGolden
	if err == nil {
		err = json.Unmarshal(raw, &g)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return g
}
