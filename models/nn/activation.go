package nn

import (
	"fmt"

	"github.com/lumen-ml/lumen/ops"
)

// Activation is a configured activation function, parsed once from its Hugging Face
// name (config.json's activation_function or hidden_act): ops' own, so that a Linear
// can apply it as its product's epilogue (Linear.ForwardAct).
type Activation = ops.Activation

// The activations Lumen runs.
const (
	GELUTanh = ops.ActGELUTanh // "gelu_new", "gelu_pytorch_tanh": the tanh approximation
	GELU     = ops.ActGELU     // "gelu": the exact erf form
	ReLU     = ops.ActReLU     // "relu"
)

// ParseActivation maps a Hugging Face activation name to an Activation.
func ParseActivation(name string) (Activation, error) {
	switch name {
	case "gelu_new", "gelu_pytorch_tanh":
		return GELUTanh, nil
	case "gelu":
		return GELU, nil
	case "relu":
		return ReLU, nil
	}
	return 0, fmt.Errorf("activation %q is not supported (gelu_new, gelu_pytorch_tanh, gelu, relu)", name)
}
