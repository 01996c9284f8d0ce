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
