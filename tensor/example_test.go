package tensor_test

import (
	"fmt"

	"github.com/lumen-ml/lumen/tensor"
)

func Example() {
	x, _ := tensor.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	xt, _ := x.Transpose(0, 1) // a view: no copy
	v, _ := xt.At(2, 1)
	fmt.Println(xt.Shape(), xt.IsContiguous(), v)
	c := xt.Contiguous() // copies, because the view is strided
	data, _ := c.Float32s()
	fmt.Println(data)
	// Output:
	// [3 2] false 6
	// [1 4 2 5 3 6]
}

func ExampleF32ToBF16() {
	b := tensor.F32ToBF16(3.14159)
	fmt.Printf("%#04x %v\n", b, tensor.BF16ToF32(b))
	// Output: 0x4049 3.140625
}
