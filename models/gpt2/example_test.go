package gpt2_test

import (
	"context"
	"fmt"

	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/models/gpt2"
)

func Example() {
	// A tiny random-weight GPT-2 from the test fixtures, with the real GPT-2 tokenizer.
	m, err := gpt2.Load(shared.Dir()+"/fixtures/gpt2-tiny", gpt2.WithTokenizerDir(shared.Dir()+"/tokenizers/gpt2"))
	if err != nil {
		panic(err)
	}
	defer m.Close()
	ids := m.Tokenizer().Encode("Hello, my dog is a little")
	var out []int
	for tok, err := range m.Generate(context.Background(), ids, gpt2.GenerateOptions{MaxNewTokens: 5}) { // greedy
		if err != nil {
			panic(err)
		}
		out = append(out, tok)
	}
	fmt.Println(ids, out)
	// Output: [15496 11 616 3290 318 257 1310] [48813 48468 37144 42523 50236]
}
