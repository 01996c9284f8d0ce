package asm_test

import (
	"fmt"

	"github.com/lumen-ml/lumen/ops/asm"
)

func ExampleSgemmKernel() {
	level := asm.Best // or asm.Generic, or any level asm.Available reports
	mr, nr := asm.Tile(level)
	k := 2
	a := make([]float32, k*mr) // packed A panel: k columns of mr values
	b := make([]float32, k*nr) // packed B panel: k rows of nr values
	for i := range a {
		a[i] = 1
	}
	for j := range b {
		b[j] = 0.5
	}
	c := make([]float32, mr*nr)
	if err := asm.SgemmKernel(level, k, a, b, c, nr, 1, 0); err != nil {
		panic(err)
	}
	fmt.Println(c[0], c[len(c)-1])
	// Output: 1 1
}
