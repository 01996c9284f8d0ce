package llama

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/lumen-ml/lumen/loader/gguf"
)

// FuzzLoad builds models from mutations of the tiny GGUF file: the metadata
// (shapes, heads, vocabulary, merges, template) and the tensors must give an
// error wrapping ErrFormat (or the reader's), never a panic; a model that loads
// must encode, run and generate.
func FuzzLoad(f *testing.F) {
	data, err := os.ReadFile("testdata/tiny.gguf")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := gguf.FromBytes(data, "fuzz.gguf")
		if err != nil {
			return
		}
		m, err := New(file)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("%v does not wrap ErrFormat", err)
			}
			return
		}
		defer m.Close()
		ids, err := m.Encode("the theatre 0123 ü")
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range m.Generate(context.Background(), ids, GenerateOptions{MaxNewTokens: 2}) {
			if err != nil && !errors.Is(err, ErrInput) {
				t.Fatal(err)
			}
		}
	})
}

// FuzzHFConfig loads the Hugging Face test model under mutations of its
// config.json: an error wrapping ErrFormat, never a panic; a model that loads must
// run.
func FuzzHFConfig(f *testing.F) {
	dir := "testdata/hf-tiny"
	cfg, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		f.Fatal(err)
	}
	weights, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(cfg)
	f.Add([]byte(`{"model_type":"llama","num_hidden_layers":1e30}`))
	f.Fuzz(func(t *testing.T, cfg []byte) {
		tmp := t.TempDir()
		if os.WriteFile(filepath.Join(tmp, "config.json"), cfg, 0o644) != nil ||
			os.WriteFile(filepath.Join(tmp, "model.safetensors"), weights, 0o644) != nil {
			t.Fatal("writing the model")
		}
		m, err := Load(tmp)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("%v does not wrap ErrFormat", err)
			}
			return
		}
		defer m.Close()
		for _, err := range m.Generate(context.Background(), []int{1, 2, 3}, GenerateOptions{MaxNewTokens: 2}) {
			if err != nil && !errors.Is(err, ErrInput) {
				t.Fatal(err)
			}
		}
	})
}
