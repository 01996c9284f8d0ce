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

// The same holds for Sgemm over unpacked B, transposed or not (attention's products):
// with alpha 1, or K within one KC slice, a row does not depend on M.
func TestSgemmRowsDoNotDependOnM(t *testing.T) {
	r := rand.New(rand.NewPCG(32, 42))
	for _, l := range asm.Supported() {
		kc := asm.BlockingFor(l).KC
		for _, transB := range []bool{false, true} {
			for _, c := range []struct {
				k, n  int
				alpha float32
			}{{1, 1, 1}, {64, 64, 0.125}, {64, 13, 0.125}, {13, 64, 1}, {kc + 3, 100, 1}, {2*kc + 1, 64, 1}, {37, 200, 0.3}} {
				const m = 9
				ldb := c.n + 3
				if transB {
					ldb = c.k + 2
				}
				rows := c.k
				if transB {
					rows = c.n
				}
				a, b := randMat(r, m*c.k), randMat(r, rows*ldb)
				all := make([]float32, m*c.n)
				sgemm(nil, l, false, transB, m, c.n, c.k, c.alpha, a, c.k, b, ldb, 0, all, c.n)
				for _, mm := range []int{1, 2, 3, 4} {
					for i0 := 0; i0+mm <= m; i0 += mm {
						got := make([]float32, mm*c.n)
						sgemm(nil, l, false, transB, mm, c.n, c.k, c.alpha, a[i0*c.k:], c.k, b, ldb, 0, got, c.n)
						for i := range got {
							if math.Float32bits(got[i]) != math.Float32bits(all[i0*c.n+i]) {
								t.Fatalf("%v transB=%v k=%d n=%d: row %d column %d with M=%d is %v, with M=%d %v",
									l, transB, c.k, c.n, i0+i/c.n, i%c.n, mm, got[i], m, all[i0*c.n+i])
							}
						}
					}
				}
			}
		}
	}
}

// A causal query's attention output does not depend on how many queries share the
// call: chunked prefill and decode steps reproduce a whole-prompt prefill bit for bit.
func TestAttentionChunksMatchWhole(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 43))
	p := NewPool(2)
	defer p.Close()
	for _, ws := range []*Workspace{nil, NewWorkspace(p)} {
		for _, l := range []int{1, 5, 37, 300} {
			const H, D = 3, 64
			E := H * D
			q, k, v := randMat(r, l*E), randMat(r, l*E), randMat(r, l*E)
			mask := make([]float32, l)
			shape := func(past, n int) AttentionShape {
				return AttentionShape{Batch: 1, Heads: H, HeadDim: D, Queries: n, Keys: past + n, Causal: true, Past: past,
					Scale: 0.125, QRow: E, QSeq: l * E, KVRow: E, KVSeq: l * E, OutRow: E, OutSeq: l * E, MaskSeq: l}
			}
			whole := make([]float32, l*E)
			Attention(ws, shape(0, l), whole, q, k, v, mask)
			got := make([]float32, l*E)
			for past, i := 0, 0; past < l; i++ {
				n := min([]int{1, 2, 3, 5, 7, 19, 64}[i%7], l-past)
				Attention(ws, shape(past, n), got[past*E:], q[past*E:], k, v, mask)
				past += n
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(whole[i]) {
					t.Fatalf("L=%d: position %d value %d: chunked %v, whole %v", l, i/E, i%E, got[i], whole[i])
				}
			}
		}
	}
}
