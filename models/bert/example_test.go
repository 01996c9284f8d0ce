package bert_test

import (
	"context"
	"fmt"

	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/models/bert"
)

func Example() {
	// A tiny random-weight MiniLM from the fixtures, with its sentence-transformers
	// pooling (mean + normalise) and the bert-base-uncased vocabulary.
	m, err := bert.Load(shared.Dir()+"/fixtures/minilm-tiny", bert.WithTokenizerDir(shared.Dir()+"/tokenizers/bert-base-uncased"))
	if err != nil {
		panic(err)
	}
	defer m.Close()
	emb, err := m.Embed(context.Background(), []string{"The weather is lovely today.", "It's so sunny outside!"})
	if err != nil {
		panic(err)
	}
	var dot float32
	for i := range emb[0] {
		dot += emb[0][i] * emb[1][i]
	}
	fmt.Printf("%d vectors of %d, cosine %.3f\n", len(emb), len(emb[0]), dot)
	// Output: 2 vectors of 96, cosine 0.817
}
