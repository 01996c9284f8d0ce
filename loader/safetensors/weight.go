package safetensors

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lumen-ml/lumen/tensor"
)

// ErrWeight is wrapped when a tensor exists but is not the weight a model expects.
var ErrWeight = errors.New("unexpected weight")

// Weight returns the named tensor after the checks a model loader makes of each
// weight: it exists, it has the given shape (-1 matches any positive size), and its
// element type is floating point. Errors name the tensor and the expectation.
func Weight(src Source, name string, shape ...int) (*tensor.Tensor, error) {
	if _, err := CheckWeight(src, name, shape...); err != nil {
		return nil, err
	}
	return src.Tensor(name)
}

// CheckWeight makes Weight's checks from the header alone, reading no data, and
// returns the tensor's header entry.
func CheckWeight(src Source, name string, shape ...int) (Info, error) {
	in, ok := src.Info(name)
	if !ok {
		return Info{}, fmt.Errorf("safetensors: missing tensor %q (want shape %s): %w", name, describeShape(shape), ErrNotFound)
	}
	match := len(in.Shape) == len(shape)
	for i := 0; match && i < len(shape); i++ {
		match = in.Shape[i] > 0 && (shape[i] == -1 || shape[i] == in.Shape[i])
	}
	if !match {
		return Info{}, fmt.Errorf("safetensors: tensor %q has shape %v, want %s: %w", name, in.Shape, describeShape(shape), ErrWeight)
	}
	if !in.DType.IsFloat() {
		return Info{}, fmt.Errorf("safetensors: tensor %q has dtype %v, want a floating type: %w", name, in.DType, ErrWeight)
	}
	return in, nil
}

// describeShape prints a shape with -1 as "*".
func describeShape(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		if d == -1 {
			parts[i] = "*"
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}
