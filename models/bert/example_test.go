package bert_test

import (
	"context"
	"fmt"
	"os"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/models/bert"
)

func Example() {
	// A tiny BERT with random weights written to a temporary directory (a Hugging
	// Face or sentence-transformers directory loads the same way, with its pooling),
	// with the bert-base-uncased vocabulary that package assets ships.
	dir, err := os.MkdirTemp("", "bert-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	cfg, _ := bert.SizeConfig("tiny")
	if err := bert.WriteRandom(dir, cfg, 1); err != nil {
		panic(err)
	}
	tok, err := bert.LoadTokenizerFS(assets.BERTUncasedVocab())
	if err != nil {
		panic(err)
	}
	m, err := bert.Load(dir, bert.WithTokenizer(tok))
	if err != nil {
		panic(err)
	}
	defer m.Close()
	encs, err := m.Encode([]string{"The weather is lovely today.", "It's so sunny outside!"}, true)
	if err != nil {
		panic(err)
	}
	emb, err := m.EmbedWith(context.Background(), encs, bert.Pooling{Normalize: true}) // mean of the tokens, L2-normalised
	if err != nil {
		panic(err)
	}
	var dot float32
	for i := range emb[0] {
		dot += emb[0][i] * emb[1][i]
	}
	fmt.Printf("%d vectors of %d, cosine %.2f\n", len(emb), len(emb[0]), dot)
	// Output: 2 vectors of 64, cosine 0.94
}

// Named entities with a token-classification checkpoint (here a tiny random RoBERTa
// from the package's test data, so the labels are noise): each span of tokens with
// one entity, grouped as transformers' "simple" aggregation groups them.
func ExampleModel_Entities() {
	m, err := bert.Load("testdata/encoders/roberta-tok")
	if err != nil {
		panic(err)
	}
	defer m.Close()
	fmt.Println(m.Config().ModelType, m.TokenLabels())
	ents, err := m.Entities(context.Background(), []string{"My name is Wolfgang and I live in Berlin."})
	if err != nil {
		panic(err)
	}
	e := ents[0][1]
	fmt.Printf("%s %q at bytes %d–%d\n", e.Label, e.Word, e.Start, e.End)
	// Output:
	// roberta [O B-PER I-PER B-LOC I-LOC]
	// LOC "y" at bytes 1–2
}
