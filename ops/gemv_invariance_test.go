package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/ops/asm"
	"github.com/lumen-ml/lumen/tensor"
)

// Linear over packed weights gives every row the same bits whatever M is: the GEMV
// path (M ≤ 3) sums as the blocked GEMM does. Continuous batching relies on it: a
// sequence decoded alone and in a batch of any size gets the same tokens.
func TestLinearRowsDoNotDependOnM(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 41))
	p := NewPool(2)
	defer p.Close()
	for _, ws := range []*Workspace{nil, NewWorkspace(p)} {
		for _, l := range asm.Supported() {
			kc := asm.BlockingFor(l).KC
			for _, wt := range []asm.WeightType{asm.WeightF32, asm.WeightBF16, asm.WeightF16} {
				// k: one slice, a slice and a bit, several; n: edges of 8, 16, 64.
				for _, kn := range [][2]int{{1, 1}, {7, 17}, {kc, 64}, {kc + 1, 65}, {2*kc + 37, 131}, {3*kc + 5, 200}} {
					k, n := kn[0], kn[1]
					b := randMat(r, k*n)
					pb, err := packB(l, true, k, n, b, k, wt)
					require.NoError(t, err)
					const m = 9
					x := randMat(r, m*k)
					bias := randMat(r, n)
					all := make([]float32, m*n)
					Linear(ws, all, x, m, pb, bias)
					for _, rows := range []int{1, 2, 3, 4, 5} {
						for i0 := 0; i0+rows <= m; i0 += rows {
							got := make([]float32, rows*n)
							Linear(ws, got, x[i0*k:(i0+rows)*k], rows, pb, bias)
							for i := range got {
								if math.Float32bits(got[i]) != math.Float32bits(all[i0*n+i]) {
									t.Fatalf("%v/%v k=%d n=%d: row %d column %d with M=%d is %v, with M=%d %v",
										l, wt, k, n, i0+i/n, i%n, rows, got[i], m, all[i0*n+i])
								}
							}
						}
					}
				}
			}
		}
	}
}

func TestGemv64BatchInvariantHalfWeights(t *testing.T) {
	// The half-precision kernels widen exactly, so they agree bit for bit with F32
	// weights holding the same (rounded) values.
	r := rand.New(rand.NewPCG(5, 6))
	for _, l := range asm.Supported() {
		for _, dt := range []tensor.DType{tensor.BF16, tensor.F16} {
			k, n := 300, 70
			b := randMat(r, k*n)
			wt, _ := weightType(dt)
			half, err := packB(l, false, k, n, b, n, wt)
			require.NoError(t, err)
			rounded := make([]float32, len(b))
			for i, v := range b {
				if dt == tensor.BF16 {
					rounded[i] = tensor.BF16ToF32(tensor.F32ToBF16(v))
				} else {
					rounded[i] = tensor.F16ToF32(tensor.F32ToF16(v))
				}
			}
			full, err := packB(l, false, k, n, rounded, n, asm.WeightF32)
			require.NoError(t, err)
			x := randMat(r, k)
			a, c := make([]float32, n), make([]float32, n)
			Linear(nil, a, x, 1, half, nil)
			Linear(nil, c, x, 1, full, nil)
			require.Equal(t, c, a, "%v/%v", l, dt)
		}
	}
}
