package ops_test

import (
	"fmt"

	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/tensor"
)

func ExampleLinear() {
	// One pool of threads for the process (ops.DefaultPool() is GOMAXPROCS of them);
	// one workspace per goroutine holds the operators' scratch.
	pool := ops.NewPool(2)
	defer pool.Close()
	ws := ops.NewWorkspace(pool)

	// A PyTorch Linear weight [out=3, in=2], packed once as the B operand (transposed).
	w := []float32{1, 0, 0, 1, 1, 1}
	pw, err := ops.PackB(true, 2, 3, w, 2, tensor.F32)
	if err != nil {
		panic(err)
	}
	x := []float32{2, 3} // one row: the decode path
	y := make([]float32, 3)
	ops.Linear(ws, y, x, 1, pw, []float32{0, 0, 0.5})
	fmt.Println(y)
	// Output: [2 3 5.5]
}

func ExampleLinear_int8() {
	// The same Linear with int8 weights (one scale per output column): each call
	// quantises the input rows to 7 bits, sums the products exactly in int32 and
	// dequantises, adding the bias, in the kernels' epilogue.
	w := []float32{1, 0, 0, 1, 1, 1}
	pw, err := ops.PackB(true, 2, 3, w, 2, tensor.I8)
	if err != nil {
		panic(err)
	}
	y := make([]float32, 3)
	ops.Linear(nil, y, []float32{2, 3}, 1, pw, []float32{0, 0, 0.5})
	fmt.Printf("%.2f %v %d bytes\n", y, pw.DType(), pw.Bytes())
	// Output: [2.01 3.00 5.51] I8 192 bytes
}

func ExampleAttention() {
	// One sequence, one head of size 2, two positions, causal: the first query sees
	// only the first key; the second sees both (equal scores, so the mean value).
	q := []float32{1, 0, 1, 0}
	k := []float32{1, 0, 1, 0}
	v := []float32{1, 2, 3, 4}
	out := make([]float32, 4)
	s := ops.AttentionShape{Batch: 1, Heads: 1, HeadDim: 2, Queries: 2, Keys: 2, Causal: true, Scale: 1,
		QRow: 2, KVRow: 2, OutRow: 2}
	ops.Attention(nil, s, out, q, k, v, nil)
	fmt.Println(out)
	// Output: [1 2 2 3]
}

func ExampleSoftmax() {
	x := []float32{1, 1, 1000, 1000}
	ops.Softmax(x, 2, 2) // max-subtraction keeps 1000 finite
	fmt.Println(x)
	// Output: [0.5 0.5 0.5 0.5]
}
