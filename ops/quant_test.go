package ops

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/lumen-ml/lumen/tensor"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDequantizeGoldens compares Dequantize with gguf-py 0.19.0's dequantize, bit for
// bit, on the blocks of tools/gguf/make_quant_goldens.py.
func TestDequantizeGoldens(t *testing.T) {
	for _, ty := range []QType{QF32, QF16, QBF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K} {
		blocks, err := os.ReadFile("testdata/ggml/" + ty.String() + ".blocks")
		require.NoError(t, err)
		raw, err := os.ReadFile("testdata/ggml/" + ty.String() + ".f32")
		require.NoError(t, err)
		want := make([]float32, len(raw)/4)
		for i := range want {
			want[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		got := make([]float32, len(want))
		require.NoError(t, Dequantize(ty, got, blocks), ty.String())
		for i := range want {
			if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
				t.Fatalf("%v: element %d is %g (%#x), gguf-py gives %g (%#x)", ty, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
		}
	}
}

func TestDequantizeErrors(t *testing.T) {
	err := Dequantize(Q4_1, make([]float32, 32), make([]byte, 19))
	assert.ErrorIs(t, err, ErrArgs)
	err = Dequantize(Q4_1, make([]float32, 31), make([]byte, 20))
	assert.ErrorIs(t, err, ErrArgs)
	err = Dequantize(QType(16), nil, nil)
	assert.ErrorIs(t, err, ErrArgs)
	assert.Contains(t, err.Error(), "ggml_type(16)")
	assert.Equal(t, 40, Q4_1.RowBytes(64))
}

// randomQ returns rows×cols of random blocks of type t with finite, small scales.
func randomQ(r *rand.Rand, t QType, rows, cols int) []byte {
	e, b := t.Block()
	data := make([]byte, rows*cols/e*b)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	f16At := func(p []byte, v float64) { binary.LittleEndian.PutUint16(p, tensor.F32ToF16(float32(v))) }
	scales := map[QType][]int{Q4_0: {0}, Q4_1: {0, 2}, Q5_0: {0}, Q5_1: {0, 2}, Q8_0: {0},
		Q2_K: {80, 82}, Q3_K: {108}, Q4_K: {0, 2}, Q5_K: {0, 2}, Q6_K: {208}}
	for blk := 0; blk < len(data)/b; blk++ {
		p := data[blk*b : (blk+1)*b]
		switch t {
		case QF32:
			binary.LittleEndian.PutUint32(p, math.Float32bits(float32(r.NormFloat64())))
		case QF16:
			f16At(p, r.NormFloat64())
		case QBF16:
			binary.LittleEndian.PutUint16(p, tensor.F32ToBF16(float32(r.NormFloat64())))
		default:
			for _, o := range scales[t] {
				f16At(p[o:], r.NormFloat64()*0.05)
			}
		}
	}
	return data
}

// TestQLinear checks QLinear in both activation modes against the float64 product
// of the dequantised weights, at one and two threads, on shapes across the work
// items' edges.
func TestQLinear(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	pool := NewPool(2)
	defer pool.Close()
	for _, ty := range []QType{QF32, QF16, QBF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K} {
		e, _ := ty.Block()
		for _, shape := range [][3]int{{1, 1, 1}, {3, 33, 2}, {1, 70, 3}, {5, 64, 1}} {
			rows, n, kb := shape[0], shape[1], shape[2]
			k := kb * max(e, 32)
			w, err := NewQMatrix(ty, n, k, randomQ(r, ty, n, k))
			require.NoError(t, err)
			x := make([]float32, rows*k)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			wrow := make([]float32, k)
			want := make([]float64, rows*n)
			bound := make([]float64, rows*n)
			for j := range n {
				w.Row(j, wrow)
				for i := range rows {
					for p := range k {
						want[i*n+j] += float64(wrow[p]) * float64(x[i*k+p])
						bound[i*n+j] += math.Abs(float64(wrow[p]) * float64(x[i*k+p]))
					}
				}
			}
			for _, act := range []QAct{QActF32, QActQ8} {
				tol := 1e-5
				if _, q8 := q8Weight(ty); q8 && act == QActQ8 {
					tol = 2e-2 // 8-bit activations: half a step of 1/127 of the block's largest value
				}
				one := make([]float32, rows*n)
				QLinear(nil, one, x, rows, w, act)
				two := make([]float32, rows*n)
				QLinear(NewWorkspace(pool), two, x, rows, w, act)
				for i := range want {
					require.InDelta(t, want[i], one[i], tol*bound[i]+1e-6, "%v %v %v element %d", ty, act, shape, i)
				}
				assert.Equal(t, one, two, "%v %v %v: two threads give the single-threaded result", ty, act, shape)
			}
		}
	}
}

func TestQMatrixErrors(t *testing.T) {
	_, err := NewQMatrix(Q4_1, 2, 48, make([]byte, 60))
	assert.ErrorIs(t, err, ErrArgs)
	_, err = NewQMatrix(Q4_1, 2, 64, make([]byte, 79))
	assert.ErrorIs(t, err, ErrArgs)
	_, err = NewQMatrix(QType(99), 2, 64, nil)
	assert.ErrorIs(t, err, ErrArgs)
	w, err := NewQMatrix(Q8_0, 2, 32, make([]byte, 68))
	require.NoError(t, err)
	assert.Equal(t, "Q8_0 2×32", w.String())
	assert.Panics(t, func() { QLinear(nil, make([]float32, 2), make([]float32, 31), 1, w, QActQ8) })
	assert.Panics(t, func() { w.Row(2, make([]float32, 32)) })
}

func BenchmarkQLinear(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, ty := range []QType{Q4_1, Q8_0, Q4_K, Q6_K} {
		for _, rows := range []int{1, 64} {
			n, k := 1536, 576
			if e, _ := ty.Block(); e == 256 {
				k = 768
			}
			w, _ := NewQMatrix(ty, n, k, randomQ(r, ty, n, k))
			x := make([]float32, rows*k)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			y := make([]float32, rows*n)
			for _, threads := range []int{1, 2} {
				p := NewPool(threads)
				ws := NewWorkspace(p)
				for _, act := range []QAct{QActQ8, QActF32} {
					b.Run(fmt.Sprintf("%v/rows=%d/%v/threads=%d", ty, rows, act, threads), func(b *testing.B) {
						b.SetBytes(int64(w.Bytes()))
						for b.Loop() {
							QLinear(ws, y, x, rows, w, act)
						}
					})
				}
				p.Close()
			}
		}
	}
}

// TestQLinearRowsAreIndependent: with 8-bit activations a row's outputs are the same
// bits whatever rows it is multiplied with — alone, in pairs, in groups of 16 or in
// a last partial group (asm.QGemm16) — so batching never changes a sequence.
func TestQLinearRowsAreIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	pool := NewPool(2)
	defer pool.Close()
	for _, ty := range []QType{Q4_0, Q4_1, Q8_0} {
		n, k := 300, 96 // three chunks of weight rows, the last partial
		w, err := NewQMatrix(ty, n, k, randomQ(r, ty, n, k))
		require.NoError(t, err)
		for _, rows := range []int{2, 5, 6, 16, 22, 37} {
			x := make([]float32, rows*k)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			for _, ws := range []*Workspace{nil, NewWorkspace(pool)} {
				all := make([]float32, rows*n)
				QLinear(ws, all, x, rows, w, QActQ8)
				for i := range rows {
					one := make([]float32, n)
					QLinear(nil, one, x[i*k:(i+1)*k], 1, w, QActQ8)
					require.Equal(t, one, all[i*n:(i+1)*n], "%v rows=%d: row %d", ty, rows, i)
				}
			}
		}
	}
}
