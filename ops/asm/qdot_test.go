package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/floats"

	"github.com/lumen-ml/lumen/tensor"
)

// randomQBlocks returns rows weight rows of nb blocks of format wt, each row
// padded to stride bytes, with finite float16 scales.
func randomQBlocks(r *rand.Rand, wt QWeight, rows, nb, stride int) []byte {
	bb := wt.BlockBytes()
	w := make([]byte, rows*stride)
	for i := range w {
		w[i] = byte(r.Uint32())
	}
	for row := range rows {
		for b := range nb {
			blk := w[row*stride+b*bb:]
			d := tensor.F32ToF16(float32(r.NormFloat64() * 0.02))
			blk[0], blk[1] = byte(d), byte(d>>8)
			if wt == QW4_1 {
				m := tensor.F32ToF16(float32(r.NormFloat64() * 0.1))
				blk[2], blk[3] = byte(m), byte(m>>8)
			}
			if wt == QW8_0 {
				for j := 2; j < 34; j++ {
					if int8(blk[j]) == -128 { // ggml's quantiser never writes −128
						blk[j] = 0x81
					}
				}
			}
		}
	}
	return w
}

// dequantRow64 is a block row as float64 values (the ggml definitions).
func dequantRow64(wt QWeight, row []byte, nb int) []float64 {
	out := make([]float64, 0, 32*nb)
	bb := wt.BlockBytes()
	for b := range nb {
		blk := row[b*bb:]
		d := float64(tensor.F16ToF32(uint16(blk[0]) | uint16(blk[1])<<8))
		var vals [32]float64
		switch wt {
		case QW4_0:
			for j := range 16 {
				vals[j] = d * float64(int(blk[2+j]&15)-8)
				vals[j+16] = d * float64(int(blk[2+j]>>4)-8)
			}
		case QW4_1:
			m := float64(tensor.F16ToF32(uint16(blk[2]) | uint16(blk[3])<<8))
			for j := range 16 {
				vals[j] = d*float64(blk[4+j]&15) + m
				vals[j+16] = d*float64(blk[4+j]>>4) + m
			}
		case QW8_0:
			for j := range 32 {
				vals[j] = d * float64(int8(blk[2+j]))
			}
		}
		out = append(out, vals[:]...)
	}
	return out
}

func TestQuantizeQ8(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 32*5)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for i := 32; i < 64; i++ {
		x[i] = 0 // an all-zero block
	}
	x[100] = 40
	a := make([]Q8Block, 5)
	QuantizeQ8(Best, a, x)
	for b, blk := range a {
		assert.Equal(t, blk.D, tensor.F16ToF32(tensor.F32ToF16(blk.D)), "D is a float16")
		sum := 0
		for i, q := range blk.Qs {
			sum += int(q)
			v := x[32*b+i]
			// Error of at most half a step (the float16 scale moves it a little more).
			assert.InDelta(t, v, blk.D*float32(q), float64(blk.D)*0.51+1e-3*math.Abs(float64(v)), "block %d element %d", b, i)
		}
		amax := float32(0)
		for _, v := range x[32*b : 32*b+32] {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		assert.InDelta(t, amax/127*float32(sum), blk.S, 1e-3*math.Abs(float64(blk.S))+1e-6, "S is float16-rounded")
	}
	assert.Equal(t, Q8Block{}, a[1])
	// Ties go away from zero, as roundf (d = 1 here).
	tie := make([]float32, 32)
	copy(tie, []float32{127, 2.5, 3.5, -2.5, -3.5, 0.5, 126.5})
	QuantizeQ8(Best, a[:1], tie)
	assert.Equal(t, []int8{127, 3, 4, -3, -4, 1, 127}, a[0].Qs[:7])
	assert.Panics(t, func() { QuantizeQ8(Best, a, x[:31]) })
}

// TestQGemv compares every level's kernel with the Go twin and both with the
// float64 product of the dequantised rows, on shapes with edges.
func TestQGemv(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, wt := range []QWeight{QW4_0, QW4_1, QW8_0} {
		for _, nb := range []int{1, 2, 3, 7, 18, 48} {
			for _, rows := range []int{1, 3, 17} {
				stride := nb*wt.BlockBytes() + r.IntN(3)*7
				w := randomQBlocks(r, wt, rows, nb, stride)
				x := make([]float32, 32*nb)
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				a := make([]Q8Block, nb)
				QuantizeQ8(Best, a, x)
				av := make([]float64, 0, 32*nb)
				for _, blk := range a {
					for _, q := range blk.Qs {
						av = append(av, float64(blk.D)*float64(q))
					}
				}
				want := make([]float64, rows)
				scale := make([]float64, rows)
				for row := range rows {
					wv := dequantRow64(wt, w[row*stride:], nb)
					if wt == QW4_1 {
						// The offsets m multiply S = d·Σq with the activations' scale
						// before its float16 rounding (llama.cpp's Q8_1): take them out
						// of the product and add m·S.
						for b := range nb {
							blk := w[row*stride+b*20:]
							m := float64(tensor.F16ToF32(uint16(blk[2]) | uint16(blk[3])<<8))
							for i := 32 * b; i < 32*b+32; i++ {
								wv[i] -= m
							}
							want[row] += m * float64(a[b].S)
						}
					}
					want[row] += floats.Dot(wv, av)
					for i := range wv {
						scale[row] += math.Abs(wv[i] * av[i])
					}
				}
				ref := make([]float32, rows)
				qgemvGo(wt, w, stride, a, ref)
				for row := range rows {
					require.InDelta(t, want[row], ref[row], 1e-5*scale[row]+1e-6, "%v nb=%d rows=%d row %d: Go twin", wt, nb, rows, row)
				}
				for _, l := range Supported() {
					y := make([]float32, rows)
					require.NoError(t, QGemv(l, wt, w, stride, a, y))
					for row := range rows {
						require.InDelta(t, ref[row], y[row], 1e-5*scale[row]+1e-6, "%v %v nb=%d rows=%d row %d", l, wt, nb, rows, row)
					}
				}
			}
		}
	}
}

// TestQGemv2 checks that the two-row product is bit for bit two one-row products,
// at every level, for every format (Q4_1 has its own kernel; the others fall back).
func TestQGemv2(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, wt := range []QWeight{QW4_0, QW4_1, QW8_0} {
		for _, nb := range []int{1, 2, 5, 18, 48} {
			for _, rows := range []int{1, 2, 13, 32} {
				stride := nb*wt.BlockBytes() + r.IntN(3)*5
				w := randomQBlocks(r, wt, rows, nb, stride)
				a := make([][]Q8Block, 2)
				for i := range a {
					x := make([]float32, 32*nb)
					for j := range x {
						x[j] = float32(r.NormFloat64()) * float32(i+1)
					}
					a[i] = make([]Q8Block, nb)
					QuantizeQ8(Best, a[i], x)
				}
				for _, l := range Supported() {
					want0, want1 := make([]float32, rows), make([]float32, rows)
					require.NoError(t, QGemv(l, wt, w, stride, a[0], want0))
					require.NoError(t, QGemv(l, wt, w, stride, a[1], want1))
					y0, y1 := make([]float32, rows), make([]float32, rows)
					require.NoError(t, QGemv2(l, wt, w, stride, a[0], a[1], y0, y1))
					require.Equal(t, want0, y0, "%v %v nb=%d rows=%d", l, wt, nb, rows)
					require.Equal(t, want1, y1, "%v %v nb=%d rows=%d", l, wt, nb, rows)
				}
			}
		}
	}
	y := make([]float32, 2)
	assert.Error(t, QGemv2(Generic, QW4_1, make([]byte, 60), 40, make([]Q8Block, 2), make([]Q8Block, 2), y, y), "short weights")
	assert.Error(t, QGemv2(Generic, QW4_1, make([]byte, 80), 40, make([]Q8Block, 2), make([]Q8Block, 1), y, y), "rows of different lengths")
}

// TestQuantizeQ8Twins checks every level against the Go twin, bit for bit: random
// blocks, ties at ±k.5 steps, zero blocks, one-value blocks, tiny and huge scales.
func TestQuantizeQ8Twins(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, nb := range []int{1, 2, 3, 7, 18, 48} {
		for trial := range 20 {
			x := make([]float32, 32*nb)
			for i := range x {
				x[i] = float32(r.NormFloat64()) * float32(math.Pow(10, float64(trial%7-3)))
			}
			switch trial % 5 {
			case 1: // exact ties: d = 1 with 127 in the block, then k + ½
				for b := range nb {
					x[32*b] = 127
					for i := 1; i < 32; i++ {
						x[32*b+i] = float32(r.IntN(254)-127) + 0.5
					}
				}
			case 2:
				clear(x[:32])
			case 3:
				for i := range x {
					if i%32 != 5 {
						x[i] = 0
					}
				}
			case 4: // just under and over the halves
				for i := 1; i < len(x); i++ {
					x[i] = math.Nextafter32(float32(i%9)-4+0.5, float32(2*(i%2)-1)*100)
				}
				x[0] = 127
			}
			want := make([]Q8Block, nb)
			quantizeQ8Go(want, x)
			for _, l := range Supported() {
				got := make([]Q8Block, nb)
				QuantizeQ8(l, got, x)
				require.Equal(t, want, got, "%v nb=%d trial %d", l, nb, trial)
			}
		}
	}
}

func BenchmarkQuantizeQ8(b *testing.B) {
	r := rand.New(rand.NewPCG(13, 14))
	x := make([]float32, 1536)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	a := make([]Q8Block, len(x)/32)
	for _, l := range Supported() {
		b.Run(l.String(), func(b *testing.B) {
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				QuantizeQ8(l, a, x)
			}
		})
	}
}

func TestQGemvErrors(t *testing.T) {
	a := make([]Q8Block, 2)
	y := make([]float32, 2)
	err := QGemv(Generic, QW4_1, make([]byte, 60), 40, a, y)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "need 80 bytes")
	err = QGemv(Generic, QW4_1, make([]byte, 100), 30, a, y)
	assert.Error(t, err, "a stride shorter than a row")
	assert.NoError(t, QGemv(Generic, QW4_1, nil, 0, nil, nil))
	for _, wt := range []QWeight{QW4_0, QW4_1, QW8_0} {
		assert.NotEmpty(t, fmt.Sprint(wt))
	}
}

func BenchmarkQGemv(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	const rows, k = 1536, 576
	for _, wt := range []QWeight{QW4_0, QW4_1, QW8_0} {
		nb := k / 32
		stride := nb * wt.BlockBytes()
		w := randomQBlocks(r, wt, rows, nb, stride)
		x := make([]float32, k)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		a := make([]Q8Block, nb)
		QuantizeQ8(Best, a, x)
		y := make([]float32, rows)
		for _, l := range Supported() {
			b.Run(fmt.Sprintf("%v/%v", wt, l), func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				for b.Loop() {
					_ = QGemv(l, wt, w, stride, a, y)
				}
			})
		}
	}
}

// TestQGemm16IsQGemvPerRow: every level's QGemm16 gives, for every weight row and
// every packed activation row, the bits QGemv gives for that row alone (batching never
// changes a sequence's numbers); rows past the pack are 0; short inputs are errors.
func TestQGemm16IsQGemvPerRow(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, wt := range []QWeight{QW4_0, QW4_1, QW8_0} {
		for _, nb := range []int{1, 2, 5, 18, 48} {
			for _, rows := range []int{1, 3, 16, 33} {
				stride := nb*wt.BlockBytes() + r.IntN(3)*5
				w := randomQBlocks(r, wt, rows, nb, stride)
				for _, n := range []int{1, 7, 16} {
					a := make([][]Q8Block, n)
					for i := range a {
						x := make([]float32, 32*nb)
						for j := range x {
							x[j] = float32(r.NormFloat64()) * float32(i+1)
							if r.IntN(50) == 0 {
								x[j] *= 40 // outliers: extreme quantised values
							}
						}
						a[i] = make([]Q8Block, nb)
						QuantizeQ8(Best, a[i], x)
					}
					var p Q8Pack16
					PackQ8x16(&p, a)
					for _, l := range Supported() {
						y := make([]float32, rows*16)
						for i := range y {
							y[i] = 42
						}
						require.NoError(t, QGemm16(l, wt, w, stride, &p, y))
						want := make([]float32, rows)
						for i := range 16 {
							if i < n {
								require.NoError(t, QGemv(l, wt, w, stride, a[i], want))
							} else {
								clear(want)
							}
							for row := range rows {
								require.Equal(t, math.Float32bits(want[row]), math.Float32bits(y[row*16+i]), "%v %v nb=%d rows=%d n=%d: weight row %d, activation row %d", l, wt, nb, rows, n, row, i)
							}
						}
					}
				}
			}
		}
	}
	var p Q8Pack16
	PackQ8x16(&p, [][]Q8Block{make([]Q8Block, 2)})
	assert.Error(t, QGemm16(Generic, QW4_1, make([]byte, 60), 40, &p, make([]float32, 32)), "short weights")
	assert.Error(t, QGemm16(Generic, QW4_1, make([]byte, 80), 40, &p, make([]float32, 33)), "not 16 per row")
	assert.Panics(t, func() { PackQ8x16(&p, make([][]Q8Block, 17)) })
	assert.Panics(t, func() { PackQ8x16(&p, [][]Q8Block{make([]Q8Block, 2), make([]Q8Block, 3)}) })
}

// BenchmarkQGemm16: SmolLM2's up projection (1536×576) for 16 activation rows, as one
// QGemm16 and as eight QGemv2 (today's path); bytes are the weights'.
func BenchmarkQGemm16(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	const rows, k = 1536, 576
	for _, wt := range []QWeight{QW4_1, QW8_0} {
		nb := k / 32
		stride := nb * wt.BlockBytes()
		w := randomQBlocks(r, wt, rows, nb, stride)
		a := make([][]Q8Block, 16)
		for i := range a {
			x := make([]float32, k)
			for j := range x {
				x[j] = float32(r.NormFloat64())
			}
			a[i] = make([]Q8Block, nb)
			QuantizeQ8(Best, a[i], x)
		}
		var p Q8Pack16
		PackQ8x16(&p, a)
		y := make([]float32, rows*16)
		b.Run(fmt.Sprintf("%v/qgemm16", wt), func(b *testing.B) {
			for b.Loop() {
				_ = QGemm16(Best, wt, w, stride, &p, y)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/16/1e3, "µs/row")
		})
		b.Run(fmt.Sprintf("%v/qgemv2x8", wt), func(b *testing.B) {
			y0, y1 := make([]float32, rows), make([]float32, rows)
			for b.Loop() {
				for i := 0; i < 16; i += 2 {
					_ = QGemv2(Best, wt, w, stride, a[i], a[i+1], y0, y1)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/16/1e3, "µs/row")
		})
	}
}
