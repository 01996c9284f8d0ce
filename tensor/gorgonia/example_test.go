package gorgonia_test

import (
	"fmt"

	gt "gorgonia.org/tensor"

	"github.com/lumen-ml/lumen/tensor/gorgonia"
)

func Example() {
	d := gt.New(gt.WithShape(2, 2), gt.WithBacking([]float32{1, 2, 3, 4}))
	x, err := gorgonia.FromDense(d) // shares d's memory
	if err != nil {
		panic(err)
	}
	_ = x.Set(10, 0, 0)
	fmt.Println(x.Shape(), d.Data())
	// Output: [2 2] [10 2 3 4]
}
