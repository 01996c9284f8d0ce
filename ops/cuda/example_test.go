package cuda_test

import (
	"fmt"

	"github.com/lumen-ml/lumen/ops/cuda"
)

// LUMEN_DEVICE values and what they ask for; FromEnv opens the device they name.
func ExampleParseMode() {
	for _, s := range []string{"cpu", "auto", "cuda:1"} {
		m, err := cuda.ParseMode(s)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s -> %s device %d\n", s, m.Kind, m.Device)
	}
	// Output:
	// cpu -> cpu device 0
	// auto -> auto device 0
	// cuda:1 -> cuda device 1
}
