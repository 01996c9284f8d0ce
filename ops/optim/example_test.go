package optim_test

import (
	"fmt"

	"github.com/lumen-ml/lumen/ops/optim"
)

// Minimise (w − 3)² with SGD and momentum: the gradient is 2(w − 3).
func Example() {
	w := optim.Param{Name: "w", Value: []float32{0}, Grad: []float32{0}}
	opt, err := optim.NewSGD([]optim.Param{w}, optim.SGDConfig{LR: 0.1, Momentum: 0.5})
	if err != nil {
		panic(err)
	}
	for range 50 {
		w.Grad[0] = 2 * (w.Value[0] - 3)
		opt.Step()
	}
	fmt.Printf("w = %.4f\n", w.Value[0])
	// Output: w = 3.0000
}
