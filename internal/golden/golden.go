// Package golden reads the golden.safetensors files of the shared fixtures for tests.
package golden

import (
	"testing"

	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/tensor"
)

// File is one fixture's golden.safetensors.
type File struct{ f *safetensors.File }

// Open opens ../shared/fixtures/FIXTURE/golden.safetensors, closed when the test ends.
func Open(tb testing.TB, fixture string) File {
	tb.Helper()
	f, err := safetensors.Open(shared.Path(tb, "fixtures", fixture, "golden.safetensors"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return File{f}
}

// Has reports whether the golden file holds name.
func (g File) Has(name string) bool { _, ok := g.f.Info(name); return ok }

// F32 returns a golden tensor as float32.
func (g File) F32(tb testing.TB, name string) []float32 {
	tb.Helper()
	x, err := g.f.Tensor(name)
	if err == nil {
		x, err = x.ToFloat32()
	}
	if err != nil {
		tb.Fatalf("golden %s: %v", name, err)
	}
	v, _ := x.Float32s()
	return v
}

// Ints returns an I64 golden tensor as ints.
func (g File) Ints(tb testing.TB, name string) []int {
	tb.Helper()
	x, err := g.f.Tensor(name)
	if err != nil {
		tb.Fatalf("golden %s: %v", name, err)
	}
	if x.DType() != tensor.I64 {
		tb.Fatalf("golden %s is %v, want I64", name, x.DType())
	}
	v, _ := x.Int64s()
	out := make([]int, len(v))
	for i, e := range v {
		out[i] = int(e)
	}
	return out
}
