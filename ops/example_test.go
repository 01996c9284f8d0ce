package ops_test

import (
	"fmt"

	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/ops/asm"
)

func ExampleSgemmPacked() {
	pool := ops.NewPool(2)
	defer pool.Close()

	// A PyTorch Linear weight [out=3, in=2], packed once as the B operand (transposed).
	w := []float32{1, 0, 0, 1, 1, 1}
	pw, err := ops.PackB(true, 2, 3, w, 2, asm.WeightF32)
	if err != nil {
		panic(err)
	}
	x := []float32{2, 3} // one row: the decode path
	y := make([]float32, 3)
	if err := ops.SgemmPacked(pool, false, 1, 1, x, 2, pw, 0, y, 3); err != nil {
		panic(err)
	}
	fmt.Println(y)
	// Output: [2 3 5]
}

func ExampleSoftmax() {
	x := []float32{1, 1, 1000, 1000}
	_ = ops.Softmax(x, 2, 2) // max-subtraction keeps 1000 finite
	fmt.Println(x)
	// Output: [0.5 0.5 0.5 0.5]
}
