package asm

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMaxPool2x2ReLUMatchesTwin: every level gives the twin's bits — NaN of either
// sign, infinities, −0, widths with a masked last step — writes nothing past its rows,
// and the twin is the float definition (max with 0; NaN where the window has one).
func TestMaxPool2x2ReLUMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(24, 2))
	nan := float32(math.NaN())
	special := []float32{nan, -nan, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), 0, math.MaxFloat32, -math.MaxFloat32}
	for _, w := range []int{2, 3, 8, 24, 25, 30, 32, 34, 64, 66} {
		for _, rows := range []int{1, 3, 12} {
			x := make([]float32, 2*rows*w)
			for i := range x {
				x[i] = float32(r.NormFloat64())
				if r.IntN(8) == 0 {
					x[i] = special[r.IntN(len(special))]
				}
			}
			want := make([]float32, rows*(w/2))
			MaxPool2x2ReLUGo(want, x, rows, w)
			for i := range want {
				row, o := i/(w/2), i%(w/2)
				win := []float32{x[2*row*w+2*o], x[2*row*w+2*o+1], x[(2*row+1)*w+2*o], x[(2*row+1)*w+2*o+1]}
				m, isNaN := float32(0), false
				for _, v := range win {
					m = max(m, v)
					isNaN = isNaN || v != v
				}
				if isNaN {
					require.True(t, math.IsNaN(float64(want[i])), "twin w=%d window %d", w, i)
				} else {
					require.Equal(t, math.Float32bits(m), math.Float32bits(want[i]), "twin w=%d window %d", w, i)
				}
			}
			for _, l := range Supported() {
				got := make([]float32, len(want)+1)
				got[len(want)] = 42
				MaxPool2x2ReLU(l, got, x, rows, w)
				require.Equal(t, float32(42), got[len(want)], "%v wrote past", l)
				for i := range want {
					require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "%v w=%d rows=%d window %d", l, w, rows, i)
				}
			}
		}
	}
	require.Panics(t, func() { MaxPool2x2ReLU(Best, make([]float32, 4), make([]float32, 11), 2, 3) })
}

func BenchmarkMaxPool2x2ReLU(b *testing.B) {
	x := make([]float32, 256*6*24*24) // LeNet's first pooling at batch 256
	for i := range x {
		x[i] = float32(i%17) - 8
	}
	y := make([]float32, len(x)/4)
	for _, l := range Supported() {
		b.Run(l.String(), func(b *testing.B) {
			for b.Loop() {
				MaxPool2x2ReLU(l, y, x, 256*6*12, 24)
			}
		})
	}
}

// TestMaxPool2x2ReLUBackwardMatchesTwin: every level writes the twin's bits into every
// position of dx — ties (first position wins), NaN windows, non-positive outputs,
// masked last steps, the odd last column zeroed — and nothing past its rows; the twin
// is the definition.
func TestMaxPool2x2ReLUBackwardMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(24, 3))
	nan := float32(math.NaN())
	for _, w := range []int{1, 2, 3, 8, 24, 25, 30, 32, 34, 64, 66} {
		for _, rows := range []int{1, 3, 12} {
			ow := w / 2
			x := make([]float32, 2*rows*w)
			for i := range x {
				x[i] = float32(r.IntN(7) - 3) // small integers: many ties
				if r.IntN(16) == 0 {
					x[i] = nan
				}
			}
			y, dy := make([]float32, rows*ow), make([]float32, rows*ow)
			MaxPool2x2ReLUGo(y, x, rows, w)
			for i := range dy {
				dy[i] = float32(r.NormFloat64())
			}
			want := make([]float32, len(x))
			for i := range want {
				want[i] = 42
			}
			MaxPool2x2ReLUBackward(Generic, want, x, y, dy, rows, w)
			for i, v := range want {
				row, col := i/w, i%w
				o := row/2*ow + col/2
				exp := float32(0)
				if col < 2*ow && y[o] > 0 {
					first := -1
					for q, p := range []int{(row &^ 1) * w, (row&^1)*w + 1, (row | 1) * w, (row|1)*w + 1} {
						if x[p+col&^1] == y[o] && first < 0 {
							first = q
						}
					}
					if first < 0 {
						first = 3 // the twin's choice when none equals (cannot happen for a real output)
					}
					if first == (row&1)*2+col&1 {
						exp = dy[o]
					}
				}
				require.Equal(t, math.Float32bits(exp), math.Float32bits(v), "twin w=%d rows=%d at %d", w, rows, i)
			}
			for _, l := range Supported() {
				got := make([]float32, len(x)+1)
				for i := range got {
					got[i] = 42
				}
				MaxPool2x2ReLUBackward(l, got, x, y, dy, rows, w)
				require.Equal(t, float32(42), got[len(x)], "%v wrote past", l)
				for i := range want {
					require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "%v w=%d rows=%d at %d", l, w, rows, i)
				}
			}
		}
	}
	require.Panics(t, func() {
		MaxPool2x2ReLUBackward(Best, make([]float32, 11), make([]float32, 12), make([]float32, 2), make([]float32, 2), 2, 3)
	})
}
