package decode_test

import (
	"context"
	"fmt"

	"github.com/lumen-ml/lumen/models/decode"
)

// echo is a toy model: its next token is always the last one plus one.
type echo struct{}

func (echo) Step(_ context.Context, ids []int) ([]float32, error) {
	logits := make([]float32, 8)
	logits[(ids[len(ids)-1]+1)%8] = 1
	return logits, nil
}

// words decodes token i as the i-th word.
type words []string

func (w words) Next(id int) (string, error) { return w[id], nil }
func (words) Flush() string                 { return "" }

func Example() {
	opt := decode.Options{MaxNewTokens: 6, StopAtEOS: true}
	tokens := decode.Stream(context.Background(), echo{}, []int{0}, opt, 7)
	text := decode.Text(tokens, words{"<s>", " one", " two", " three", " four", " five", " six", "</s>"}, []string{" four"})
	for c, err := range text {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%d%q ", c.Token, c.Text)
	}
	fmt.Println()
	// The last len(" four")-1 bytes are held back until they cannot start " four";
	// the text ends before it.

	// Output: 1"" 2" one" 3" two t" 4"hree"
}
