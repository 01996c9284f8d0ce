package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/ops/asm"
)

// requireNear checks got against a float64 reference within tol relative to the
// largest reference magnitude (sums of products lose a few ulps per term).
func requireNear(t *testing.T, want []float64, got []float32, tol float64, label string) {
	t.Helper()
	require.Len(t, got, len(want), label)
	scale := 1e-30
	for _, v := range want {
		scale = max(scale, math.Abs(v))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol*scale {
			t.Fatalf("%s[%d] = %g, want %g (|diff| %.3g > %.3g)", label, i, got[i], want[i], d, tol*scale)
		}
	}
}

// naiveConvBackward is the direct sum: every output gradient times what it multiplied.
func naiveConvBackward(x, w, dy []float32, s ConvShape) (dx, dw, db []float64) {
	oh, ow := s.OH(), s.OW()
	dx = make([]float64, s.N*s.C*s.H*s.W)
	dw = make([]float64, s.OC*s.C*s.KH*s.KW)
	db = make([]float64, s.OC)
	for n := 0; n < s.N; n++ {
		for oc := 0; oc < s.OC; oc++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					g := float64(dy[((n*s.OC+oc)*oh+oy)*ow+ox])
					db[oc] += g
					for c := 0; c < s.C; c++ {
						for ky := 0; ky < s.KH; ky++ {
							for kx := 0; kx < s.KW; kx++ {
								iy, ix := oy*s.Stride-s.Padding+ky, ox*s.Stride-s.Padding+kx
								if iy < 0 || iy >= s.H || ix < 0 || ix >= s.W {
									continue
								}
								xi, wi := ((n*s.C+c)*s.H+iy)*s.W+ix, ((oc*s.C+c)*s.KH+ky)*s.KW+kx
								dx[xi] += g * float64(w[wi])
								dw[wi] += g * float64(x[xi])
							}
						}
					}
				}
			}
		}
	}
	return dx, dw, db
}

func dot64(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestConv2DBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	p := NewPool(2)
	defer p.Close()
	shapes := []ConvShape{
		{N: 64, C: 1, H: 28, W: 28, OC: 6, KH: 5, KW: 5, Stride: 1}, // LeNet conv1, a training batch
		{N: 7, C: 6, H: 12, W: 12, OC: 16, KH: 5, KW: 5, Stride: 1}, // LeNet conv2
		{N: 2, C: 1, H: 28, W: 28, OC: 6, KH: 5, KW: 5, Stride: 1, Padding: 2},
		{N: 1, C: 1, H: 1, W: 1, OC: 1, KH: 1, KW: 1, Stride: 1},
		{N: 3, C: 3, H: 7, W: 9, OC: 5, KH: 3, KW: 2, Stride: 2, Padding: 1},
		{N: 2, C: 2, H: 19, W: 23, OC: 7, KH: 3, KW: 4, Stride: 3, Padding: 2},
		{N: 1, C: 2, H: 5, W: 5, OC: 13, KH: 5, KW: 5, Stride: 1, Padding: 4}, // padding wider than the image
		{N: 5, C: 3, H: 11, W: 13, OC: 17, KH: 3, KW: 3, Stride: 1, Padding: 1},
		{N: 2, C: 2, H: 12, W: 14, OC: 7, KH: 2, KW: 9, Stride: 1, Padding: 1}, // a kernel row wider than half a tile
		{N: 3, C: 1, H: 10, W: 30, OC: 6, KH: 4, KW: 8, Stride: 1},
	}
	for _, l := range asm.Supported() {
		for wi, ws := range []*Workspace{nil, NewWorkspace(p)} {
			for _, s := range shapes {
				t.Run(fmt.Sprintf("%v/%+v/threads=%d", l, s, 1+wi), func(t *testing.T) {
					x := randMat(r, s.N*s.C*s.H*s.W)
					w := randMat(r, s.OC*s.C*s.KH*s.KW)
					dy := randMat(r, s.N*s.OC*s.OH()*s.OW())
					dx := make([]float32, len(x))
					dw, db := make([]float32, len(w)), make([]float32, s.OC)
					for i := range dx { // stale values must be overwritten
						dx[i] = 99
					}
					conv2DBackward(ws, l, s, dx, x, w, dy, ParamGrads{Weight: dw, Bias: db})
					wantDx, wantDw, wantDb := naiveConvBackward(x, w, dy, s)
					requireNear(t, wantDx, dx, 1e-5, "dx")
					requireNear(t, wantDw, dw, 1e-5, "dweight")
					requireNear(t, wantDb, db, 1e-5, "dbias")

					// The convolution is bilinear, so the gradients are its adjoints:
					// ⟨dy, conv(x, w)⟩ = ⟨dx, x⟩ = ⟨dw, w⟩, tying backward to Conv2D itself.
					y := make([]float32, len(dy))
					Conv2D(ws, y, x, s, w, nil)
					ip := dot64(dy, y)
					require.InDelta(t, ip, dot64(dx, x), 1e-4*(1+math.Abs(ip)))
					require.InDelta(t, ip, dot64(dw, w), 1e-4*(1+math.Abs(ip)))

					// Only the weight gradients (the first layer): dx stays untouched.
					clear(dw)
					conv2DBackward(ws, l, s, nil, x, w, dy, ParamGrads{Weight: dw})
					requireNear(t, wantDw, dw, 1e-5, "dweight alone")
				})
			}
		}
	}
}

func TestLinearBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 1))
	for _, s := range []LinearShape{{64, 256, 120}, {64, 120, 84}, {64, 84, 10}, {1, 1, 1}, {3, 7, 5}, {33, 17, 13}} {
		x, w, b := randMat(r, s.Rows*s.In), randMat(r, s.Out*s.In), randMat(r, s.Out)
		y := make([]float32, s.Rows*s.Out)
		LinearForward(nil, s, y, x, w, b)
		dy := randMat(r, s.Rows*s.Out)
		dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, s.Out)
		LinearBackward(nil, s, dx, x, w, dy, ParamGrads{Weight: dw, Bias: db})
		wantY := make([]float64, len(y))
		wantDx, wantDw, wantDb := make([]float64, len(x)), make([]float64, len(w)), make([]float64, s.Out)
		for i := 0; i < s.Rows; i++ {
			for o := 0; o < s.Out; o++ {
				g := float64(dy[i*s.Out+o])
				wantY[i*s.Out+o] = float64(b[o]) + dot64(x[i*s.In:(i+1)*s.In], w[o*s.In:(o+1)*s.In])
				wantDb[o] += g
				for k := 0; k < s.In; k++ {
					wantDx[i*s.In+k] += g * float64(w[o*s.In+k])
					wantDw[o*s.In+k] += g * float64(x[i*s.In+k])
				}
			}
		}
		requireNear(t, wantY, y, 1e-5, fmt.Sprintf("%+v y", s))
		requireNear(t, wantDx, dx, 1e-5, fmt.Sprintf("%+v dx", s))
		requireNear(t, wantDw, dw, 1e-5, fmt.Sprintf("%+v dweight", s))
		requireNear(t, wantDb, db, 1e-5, fmt.Sprintf("%+v dbias", s))
	}
	require.Panics(t, func() {
		LinearBackward(nil, LinearShape{2, 3, 4}, make([]float32, 5), make([]float32, 6), make([]float32, 12), make([]float32, 8), ParamGrads{})
	})
}

func TestMaxPool2DReLUBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	pool := NewPool(2)
	defer pool.Close()
	ws := NewWorkspace(pool)
	for _, s := range []PoolShape{{N: 2, C: 3, H: 24, W: 24, K: 2, Stride: 2}, {N: 1, C: 2, H: 7, W: 9, K: 2, Stride: 2},
		{N: 2, C: 1, H: 8, W: 7, K: 3, Stride: 2}, {N: 1, C: 1, H: 3, W: 3, K: 3, Stride: 1},
		{N: 64, C: 6, H: 24, W: 24, K: 2, Stride: 2}, {N: 40, C: 7, H: 9, W: 9, K: 3, Stride: 2}} { // the last two split over the pool
		x := randMat(r, s.N*s.C*s.H*s.W)
		// Ties: every fourth window of a quarter of the planes repeats its values.
		for i := 0; i+1 < len(x); i += 7 {
			x[i+1] = x[i]
		}
		y := make([]float32, s.N*s.C*s.OH()*s.OW())
		MaxPool2DReLU(nil, y, x, s)
		yp := make([]float32, len(y))
		MaxPool2DReLU(ws, yp, x, s)
		require.Equal(t, y, yp, "%+v: the pool's split gives the same result", s)
		dy := randMat(r, len(y))
		dx := make([]float32, len(x))
		for i := range dx {
			dx[i] = float32(math.NaN()) // every position is written
		}
		MaxPool2DReLUBackward(nil, dx, x, y, dy, s)
		dxp := make([]float32, len(x))
		for i := range dxp {
			dxp[i] = float32(math.NaN())
		}
		MaxPool2DReLUBackward(ws, dxp, x, y, dy, s)
		require.Equal(t, dx, dxp, "%+v: the pool's split gives the same result", s)
		want := make([]float64, len(x))
		for plane := 0; plane < s.N*s.C; plane++ {
			for oy := 0; oy < s.OH(); oy++ {
				for ox := 0; ox < s.OW(); ox++ {
					best, m := -1, float32(math.Inf(-1))
					for ky := 0; ky < s.K; ky++ {
						for kx := 0; kx < s.K; kx++ {
							i := plane*s.H*s.W + (oy*s.Stride+ky)*s.W + ox*s.Stride + kx
							if x[i] > m {
								best, m = i, x[i]
							}
						}
					}
					o := (plane*s.OH()+oy)*s.OW() + ox
					require.Equal(t, max(m, 0), y[o])
					if m > 0 {
						want[best] += float64(dy[o])
					}
				}
			}
		}
		requireNear(t, want, dx, 1e-6, fmt.Sprintf("%+v", s))
	}
}

func TestReLUBackward(t *testing.T) {
	y := []float32{0, 1, -0, 2, float32(math.NaN())}
	dy := []float32{5, 6, 7, 8, 9}
	dx := make([]float32, 5)
	ReLUBackward(dx, y, dy)
	require.Equal(t, []float32{0, 6, 0, 8, 0}, dx)
	ReLUBackward(dy, y, dy) // in place
	require.Equal(t, dx, dy)
}

func TestCrossEntropy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const rows, classes = 9, 10
	logits := randMat(r, rows*classes)
	for i := range logits {
		logits[i] *= 30 // large logits: the max subtraction matters
	}
	labels := make([]int, rows)
	for i := range labels {
		labels[i] = r.IntN(classes)
	}
	d := make([]float32, len(logits))
	loss := CrossEntropy(d, logits, labels, classes)
	var want float64
	for i, l := range labels {
		z := logits[i*classes : (i+1)*classes]
		var sum float64
		for _, v := range z {
			sum += math.Exp(float64(v))
		}
		want += math.Log(sum) - float64(z[l])
		for j, v := range z {
			g := math.Exp(float64(v)) / sum
			if j == l {
				g--
			}
			require.InDelta(t, g/rows, d[i*classes+j], 1e-6)
		}
	}
	require.InDelta(t, want/rows, loss, 1e-5*want/rows)
	require.Panics(t, func() { CrossEntropy(nil, logits, []int{10}, classes) })
	require.Panics(t, func() { CrossEntropy(nil, logits, []int{-1}, classes) })
}
