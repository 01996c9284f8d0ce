package llama

import (
	"context"
	"errors"
	"os"
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
