package nn

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/tensor"
)

// RandomWeights builds a checkpoint of random weights, as Hugging Face initialises
// them (normal with a standard deviation, or a constant for norms and biases), in
// F32, F16 or BF16, reproducibly for a seed. Its first error is kept and returned
// by Tensors.
type RandomWeights struct {
	rng *rand.Rand
	dt  tensor.DType
	out map[string]*tensor.Tensor
	err error
}

// NewRandomWeights starts an empty checkpoint; stream separates the models' draws.
func NewRandomWeights(dt tensor.DType, seed, stream uint64) *RandomWeights {
	w := &RandomWeights{rng: rand.New(rand.NewPCG(seed, stream)), dt: dt, out: map[string]*tensor.Tensor{}}
	if dt != tensor.F32 && dt != tensor.F16 && dt != tensor.BF16 {
		w.err = fmt.Errorf("random weights in %v: want F32, F16 or BF16", dt)
	}
	return w
}

// Add draws tensor name of the given shape: normal values of standard deviation
// std, or fill everywhere when std is 0.
func (w *RandomWeights) Add(name string, std float64, fill float32, shape ...int) {
	if w.err != nil {
		return
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	vals := make([]float32, n)
	for i := range vals {
		vals[i] = fill
		if std > 0 {
			vals[i] = float32(w.rng.NormFloat64() * std)
		}
	}
	var t *tensor.Tensor
	var err error
	switch w.dt {
	case tensor.F32:
		t, err = tensor.FromFloat32(vals, shape...)
	default:
		bits := make([]uint16, n)
		if w.dt == tensor.F16 {
			tensor.F32ToF16Slice(bits, vals)
		} else {
			tensor.F32ToBF16Slice(bits, vals)
		}
		t, err = tensor.FromUint16(w.dt, bits, shape...)
	}
	w.out[name], w.err = t, err
}

// Tensors returns the checkpoint, or the first error.
func (w *RandomWeights) Tensors() (map[string]*tensor.Tensor, error) {
	if w.err != nil {
		return nil, w.err
	}
	return w.out, nil
}

// WriteCheckpoint writes a Hugging Face model directory: model.safetensors with
// tensors and config.json with config.
func WriteCheckpoint(dir string, tensors map[string]*tensor.Tensor, config map[string]any) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), tensors, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(config, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), append(raw, '\n'), 0o644)
}

// TorchDType is config.json's torch_dtype for dt ("float32", "float16", "bfloat16").
func TorchDType(dt tensor.DType) string {
	return map[tensor.DType]string{tensor.F32: "float32", tensor.F16: "float16", tensor.BF16: "bfloat16"}[dt]
}
