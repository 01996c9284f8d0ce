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
	t, err := safetensors.Weight(w.src, name, shape...)
	if err == nil {
		t, err = t.ToFloat32()
	}
	if err != nil {
		w.err = fmt.Errorf("lenet: %w", err)
		return nil
	}
	v, _ := t.Float32s()
	return v
}
