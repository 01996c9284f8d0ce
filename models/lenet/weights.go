package lenet

import (
	"fmt"

	"github.com/lumen-ml/lumen/loader/safetensors"
)

// weights reads named tensors as float32, checking their shapes; the first error
// sticks, so a run of gets reports the first problem.
type weights struct {
	src safetensors.Source
	err error
}

// shape returns the stored shape of name (nil if absent).
func (w *weights) shape(name string) []int {
	in, ok := w.src.Info(name)
	if !ok {
		return nil
	}
	return in.Shape
}

// dim returns dimension i of name, or -2 (never a valid size) if unknown.
func (w *weights) dim(name string, i int) int {
	s := w.shape(name)
	if i >= len(s) {
		return -2
	}
	return s[i]
}

// get returns name as float32 after checking it has the given shape (-1 matches any
// positive size).
func (w *weights) get(name string, shape ...int) []float32 {
	if w.err != nil {
		return nil
	}
	in, ok := w.src.Info(name)
	if !ok {
		w.err = fmt.Errorf("lenet: missing tensor %q (want shape %s)", name, describe(shape))
		return nil
	}
	match := len(in.Shape) == len(shape)
	for i := 0; match && i < len(shape); i++ {
		match = in.Shape[i] > 0 && (shape[i] == -1 || shape[i] == in.Shape[i])
	}
	if !match {
		w.err = fmt.Errorf("lenet: tensor %q has shape %v, want %s", name, in.Shape, describe(shape))
		return nil
	}
	if !in.DType.IsFloat() {
		w.err = fmt.Errorf("lenet: tensor %q has dtype %v, want a floating type", name, in.DType)
		return nil
	}
	t, err := w.src.Tensor(name)
	if err != nil {
		w.err = fmt.Errorf("lenet: %w", err)
		return nil
	}
	f, err := t.ToFloat32()
	if err != nil {
		w.err = fmt.Errorf("lenet: tensor %q: %w", name, err)
		return nil
	}
	v, _ := f.Float32s()
	return v
}

func describe(shape []int) string {
	s := "["
	for i, d := range shape {
		if i > 0 {
			s += " "
		}
		if d == -1 {
			s += "*"
		} else {
			s += fmt.Sprint(d)
		}
	}
	return s + "]"
}
