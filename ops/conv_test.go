package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/tensor"
)

func naiveConv(x, w, b []float32, s ConvShape) []float64 {
	oh, ow := s.OH(), s.OW()
	y := make([]float64, s.N*s.OC*oh*ow)
	for n := 0; n < s.N; n++ {
		for oc := 0; oc < s.OC; oc++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					acc := float64(b[oc])
					for c := 0; c < s.C; c++ {
						for ky := 0; ky < s.KH; ky++ {
							for kx := 0; kx < s.KW; kx++ {
								iy, ix := oy*s.Stride-s.Padding+ky, ox*s.Stride-s.Padding+kx
								if iy < 0 || iy >= s.H || ix < 0 || ix >= s.W {
									continue
								}
								acc += float64(x[((n*s.C+c)*s.H+iy)*s.W+ix]) * float64(w[((oc*s.C+c)*s.KH+ky)*s.KW+kx])
							}
						}
					}
					y[((n*s.OC+oc)*oh+oy)*ow+ox] = acc
				}
			}
		}
	}
	return y
}

func TestConv2D(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	p := NewPool(2)
	defer p.Close()
	ws := NewWorkspace(p)
	shapes := []ConvShape{
		{N: 2, C: 1, H: 28, W: 28, OC: 6, KH: 5, KW: 5, Stride: 1, Padding: 0},  // LeNet conv1
		{N: 3, C: 6, H: 12, W: 12, OC: 16, KH: 5, KW: 5, Stride: 1, Padding: 0}, // LeNet conv2
		{N: 1, C: 1, H: 28, W: 28, OC: 6, KH: 5, KW: 5, Stride: 1, Padding: 2},  // LeNet-5 conv1
		{N: 2, C: 3, H: 7, W: 9, OC: 5, KH: 3, KW: 2, Stride: 2, Padding: 1},
		{N: 1, C: 2, H: 5, W: 5, OC: 1, KH: 5, KW: 5, Stride: 1, Padding: 2},
		{N: 1, C: 1, H: 1, W: 1, OC: 3, KH: 1, KW: 1, Stride: 1, Padding: 0},
		{N: 2, C: 2, H: 19, W: 23, OC: 7, KH: 3, KW: 4, Stride: 3, Padding: 2},
		{N: 2, C: 3, H: 17, W: 13, OC: 13, KH: 3, KW: 3, Stride: 1, Padding: 1},
		{N: 3, C: 2, H: 9, W: 10, OC: 12, KH: 3, KW: 3, Stride: 1, Padding: 0}, // 7×8 output: odd row pairs
		{N: 1, C: 1, H: 40, W: 40, OC: 6, KH: 5, KW: 5, Stride: 1, Padding: 0}, // 36 columns: overlapping last tile
		{N: 2, C: 2, H: 3, W: 4, OC: 7, KH: 2, KW: 2, Stride: 1, Padding: 3},   // output rows that read only the border
		{N: 2, C: 16, H: 8, W: 8, OC: 6, KH: 5, KW: 5, Stride: 1, Padding: 4},  // LeNet conv2's input gradient (the flipped full convolution)
		{N: 1, C: 3, H: 6, W: 20, OC: 8, KH: 3, KW: 3, Stride: 1, Padding: 2},  // wide rows with border rows
		{N: 2, C: 2, H: 3, W: 10, OC: 7, KH: 2, KW: 3, Stride: 1, Padding: 0},  // 2×8 output: two groups of 8, fewer than a 6×32 tile's four
		{N: 2, C: 3, H: 5, W: 18, OC: 13, KH: 3, KW: 3, Stride: 1, Padding: 0}, // 3×16: six groups, the last tile overlapping
	}
	for _, s := range shapes {
		x := randMat(r, s.N*s.C*s.H*s.W)
		w := randMat(r, s.OC*s.C*s.KH*s.KW)
		for _, b := range [][]float32{randMat(r, s.OC), nil} {
			y := make([]float32, s.N*s.OC*s.OH()*s.OW())
			Conv2D(ws, y, x, s, w, b)
			nb := b
			if nb == nil {
				nb = make([]float32, s.OC)
			}
			want := naiveConv(x, w, nb, s)
			for i := range want {
				require.InDelta(t, want[i], float64(y[i]), 1e-4*(1+math.Abs(want[i])), "%+v (bias %v) at %d", s, b != nil, i)
			}
		}
	}
	s := shapes[0]
	require.ErrorIs(t, panicked(func() { Conv2D(nil, make([]float32, 10), make([]float32, 2*28*28), s, make([]float32, 150), nil) }), ErrArgs)
	require.ErrorIs(t, panicked(func() {
		Conv2D(nil, make([]float32, 2*6*24*24), make([]float32, 2*28*28), s, make([]float32, 149), nil)
	}), ErrArgs)
	bad := s
	bad.KH = 40
	require.ErrorIs(t, panicked(func() { Conv2D(nil, nil, nil, bad, nil, nil) }), ErrArgs)
}

func TestMaxPool2D(t *testing.T) {
	x := []float32{
		1, 2, 3, 4,
		5, 6, 7, 8,
		-1, -2, float32(math.NaN()), 0,
		-3, -4, 1, 2,
	}
	y := make([]float32, 4)
	MaxPool2D(nil, y, x, PoolShape{N: 1, C: 1, H: 4, W: 4, K: 2, Stride: 2})
	require.Equal(t, float32(6), y[0])
	require.Equal(t, float32(8), y[1])
	require.Equal(t, float32(-1), y[2])
	require.True(t, math.IsNaN(float64(y[3])))
	require.ErrorIs(t, panicked(func() { MaxPool2D(nil, y, x, PoolShape{N: 1, C: 1, H: 4, W: 4, K: 5, Stride: 2}) }), ErrArgs)
	require.ErrorIs(t, panicked(func() { MaxPool2D(nil, y[:3], x, PoolShape{N: 1, C: 1, H: 4, W: 4, K: 2, Stride: 2}) }), ErrArgs)
	yr := make([]float32, 4)
	MaxPool2DReLU(nil, yr, []float32{-1, -2, -3, -4, 5, -6, 7, -8, -1, -2, -3, -4, -5, -6, -7, float32(math.NaN())}, PoolShape{N: 1, C: 1, H: 4, W: 4, K: 2, Stride: 2})
	require.Equal(t, float32(5), yr[0])
	require.Equal(t, float32(7), yr[1])
	require.True(t, math.IsNaN(float64(yr[3])), "ReLU keeps NaN")
	require.Equal(t, float32(0), yr[2])
	x[10] = 0.5
	y3 := make([]float32, 4)
	MaxPool2D(nil, y3, x, PoolShape{N: 1, C: 1, H: 4, W: 4, K: 3, Stride: 1}) // overlapping windows
	require.Equal(t, []float32{7, 8, 7, 8}, y3)
}

func TestLinear(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, m := range []int{1, 5, 64} {
		in, out := 256, 120
		w, b, x := randMat(r, out*in), randMat(r, out), randMat(r, m*in)
		pw, err := PackB(true, in, out, w, in, tensor.F32)
		require.NoError(t, err)
		y := make([]float32, m*out)
		Linear(nil, y, x, m, pw, b)
		for i := 0; i < m; i++ {
			for o := 0; o < out; o++ {
				want := float64(b[o])
				for k := 0; k < in; k++ {
					want += float64(x[i*in+k]) * float64(w[o*in+k])
				}
				require.InDelta(t, want, float64(y[i*out+o]), 1e-4*(1+math.Abs(want)))
			}
		}
	}
	require.ErrorIs(t, panicked(func() { Linear(nil, nil, nil, 1, nil, nil) }), ErrArgs)
}

// The integer fast path of the fused 2×2 pool + ReLU agrees bit for bit with the
// float one on hostile values: signed zeros, infinities, subnormals, NaNs of either
// sign, ties, and odd sizes.
func TestMaxPool2x2ReLUMatchesFloatMax(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-45, -1e-45,
		math.Float32frombits(0x7fc00000), math.Float32frombits(0xffc00000), 3, -3, math.MaxFloat32, -math.MaxFloat32}
	for _, sz := range [][2]int{{24, 24}, {7, 9}, {2, 2}, {3, 5}} {
		h, w := sz[0], sz[1]
		x := make([]float32, 3*h*w)
		for i := range x {
			if r.IntN(3) == 0 {
				x[i] = special[r.IntN(len(special))]
			} else {
				x[i] = float32(r.NormFloat64())
			}
		}
		want, got := make([]float32, 3*(h/2)*(w/2)), make([]float32, 3*(h/2)*(w/2))
		maxPool2x2(want, x, 3, h, w)
		for i, v := range want {
			want[i] = max(v, 0) // the float ReLU: NaN stays NaN, −0 becomes +0
		}
		maxPool2x2ReLU(got, x, 3, h, w)
		for i := range want {
			if math.IsNaN(float64(want[i])) {
				require.True(t, math.IsNaN(float64(got[i])), "window %d", i)
				continue
			}
			require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), "window %d: %v vs %v", i, want[i], got[i])
		}
	}
}

// LinearAct's epilogue (bias and activation on each block of the product as it is
// finished) gives the bits of Linear followed by the activation, on the product's
// every path (few rows, blocked, several column blocks, int8 weights), at one and
// two threads, with and without a bias.
func TestLinearActMatchesLinearThenAct(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	pool := NewPool(2)
	defer pool.Close()
	for _, ws := range []*Workspace{nil, NewWorkspace(pool)} {
		for _, c := range []struct{ m, in, out int }{{1, 64, 40}, {3, 33, 17}, {37, 200, 97}, {130, 384, 1536}, {700, 96, 70}} {
			for _, dt := range []tensor.DType{tensor.F32, tensor.I8} {
				w, x := randMat(r, c.out*c.in), randMat(r, c.m*c.in)
				pw, err := PackB(true, c.in, c.out, w, c.in, dt)
				require.NoError(t, err)
				for _, bias := range [][]float32{nil, randMat(r, c.out)} {
					for _, act := range []Activation{ActIdentity, ActGELU, ActGELUTanh, ActReLU} {
						want, got := make([]float32, c.m*c.out), make([]float32, c.m*c.out)
						Linear(ws, want, x, c.m, pw, bias)
						act.Forward(want)
						LinearAct(ws, got, x, c.m, pw, bias, act)
						require.Equal(t, want, got, "%+v %v bias %v act %d", c, dt, bias != nil, act)
					}
				}
			}
		}
	}
	require.ErrorIs(t, panicked(func() { LinearAct(nil, nil, nil, 1, nil, nil, ActGELU) }), ErrArgs)
}
