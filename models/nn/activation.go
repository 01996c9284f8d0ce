package nn

import (
	"fmt"

	"github.com/lumen-ml/lumen/ops"
)

// Activation is a configured activation function, parsed once from its Hugging Face
// name (config.json's activation_function or hidden_act).
type Activation int

// The activations Lumen runs.
const (
	GELUTanh Activation = iota // "gelu_new", "gelu_pytorch_tanh": the tanh approximation
	GELU                       // "gelu": the exact erf form
	ReLU                       // "relu"
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

// Forward applies the activation to x in place.
func (a Activation) Forward(x []float32) {
	switch a {
	case GELUTanh:
		ops.GELUTanh(x)
	case GELU:
		ops.GELUErf(x)
	case ReLU:
		ops.ReLU(x)
	}
}
