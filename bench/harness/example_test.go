package harness_test

import (
	"fmt"

	"github.com/lumen-ml/lumen/bench/harness"
)

// The quick suite's GPT-2 workloads, and how a repetition's time becomes a rate.
func ExampleSelect() {
	ws, err := harness.Select(harness.QuickSuite(), "gpt2-*")
	if err != nil {
		panic(err)
	}
	for _, w := range ws {
		fmt.Printf("%s: %d reps, %.0f %s at 0.5 s per repetition\n", w.Name, w.Reps, w.Rate(0.5), w.Unit())
	}
	// Output:
	// gpt2-prefill128: 5 reps, 256 tokens/s at 0.5 s per repetition
	// gpt2-decode: 5 reps, 32 tokens/s at 0.5 s per repetition
}
