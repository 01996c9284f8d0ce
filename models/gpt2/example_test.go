package gpt2_test

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/models/gpt2"
	"github.com/lumen-ml/lumen/tensor"
)

func Example() {
	// A tiny GPT-2 with random weights written to a temporary directory (a Hugging
	// Face checkpoint directory loads the same way), with the real GPT-2 tokenizer
	// that package assets ships.
	dir, err := os.MkdirTemp("", "gpt2-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	cfg, _ := gpt2.SizeConfig("tiny")
	if err := gpt2.WriteRandom(dir, cfg, tensor.F32, 1); err != nil {
		panic(err)
	}
	tok, err := gpt2.LoadTokenizerFS(assets.GPT2Tokenizer())
	if err != nil {
		panic(err)
	}
	m, err := gpt2.Load(dir, gpt2.WithTokenizer(tok))
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
	fmt.Println(ids, out) // random weights: the model just repeats the last token
	// Output: [15496 11 616 3290 318 257 1310] [1310 1310 1310 1310 1310]
}

func ExampleBatcher() {
	dir, err := os.MkdirTemp("", "gpt2-batcher-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	cfg, _ := gpt2.SizeConfig("tiny")
	if err := gpt2.WriteRandom(dir, cfg, tensor.F32, 1); err != nil {
		panic(err)
	}
	tok, err := gpt2.LoadTokenizerFS(assets.GPT2Tokenizer())
	if err != nil {
		panic(err)
	}
	m, err := gpt2.Load(dir, gpt2.WithTokenizer(tok))
	if err != nil {
		panic(err)
	}
	defer m.Close()

	// One batcher serves every request; concurrent ones share each decode step.
	b := gpt2.NewBatcher(m, decode.BatchOptions{MaxBatch: 8})
	defer b.Close()
	prompts := []string{"Hello, my dog is a little", "The quick brown fox", "Once upon a time"}
	texts := make([]string, len(prompts))
	var wg sync.WaitGroup
	for i, p := range prompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids, _ := b.Encode(p)
			for chunk, err := range b.GenerateText(context.Background(), ids, gpt2.GenerateOptions{MaxNewTokens: 4}, nil) {
				if err != nil {
					panic(err)
				}
				texts[i] += chunk.Text
			}
		}()
	}
	wg.Wait()
	// Each text is what the model generates for its prompt alone.
	for i, p := range prompts {
		ids, _ := m.Encode(p)
		alone := ""
		for chunk, err := range m.GenerateText(context.Background(), ids, gpt2.GenerateOptions{MaxNewTokens: 4}, nil) {
			if err != nil {
				panic(err)
			}
			alone += chunk.Text
		}
		fmt.Println(texts[i] == alone)
	}
	// Output:
	// true
	// true
	// true
}
