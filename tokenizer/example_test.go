package tokenizer_test

import (
	"fmt"

	"github.com/lumen-ml/lumen/tokenizer"
)

func Example() {
	tk, err := tokenizer.Load("testdata/wordpiece-bert/tokenizer.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	enc, err := tk.Encode("Hello, world!", true)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(enc.Tokens)
	fmt.Println(enc.CharOffsets)
	text, _ := tk.Decode(enc.IDs, true)
	fmt.Println(text)
	// Output:
	// [[CLS] he ##ll ##o , wo ##rld ! [SEP]]
	// [[0 0] [0 2] [2 4] [4 5] [5 6] [7 9] [9 12] [12 13] [0 0]]
	// hello, world!
}

func ExampleChatTemplate() {
	chatml := "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
	c, err := tokenizer.NewChatTemplate(chatml, "", "<|im_end|>")
	if err != nil {
		fmt.Println(err)
		return
	}
	prompt, err := c.Render([]tokenizer.Message{
		{Role: "system", Content: "You are terse."},
		{Role: "user", Content: "What is the capital of France?"},
	}, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(prompt)
	// Output:
	// <|im_start|>system
	// You are terse.<|im_end|>
	// <|im_start|>user
	// What is the capital of France?<|im_end|>
	// <|im_start|>assistant
}

func ExampleTokenizer_EncodeIDs() {
	tk, err := tokenizer.Load("testdata/bpe-llama3/tokenizer.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	ids, err := tk.EncodeIDs("Hello world", false)
	if err != nil {
		fmt.Println(err)
		return
	}
	enc, _ := tk.Encode("Hello world", false)
	fmt.Println(len(ids) == enc.Len(), ids[0] == enc.IDs[0])
	// Output: true true
}
