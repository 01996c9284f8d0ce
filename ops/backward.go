package ops

import (
	"fmt"
	"math"
)

// The backward passes of the layers a convolutional classifier trains with. Each
// overwrites the gradients it is given (a training step clears nothing first) and
// reads what the forward pass saw; a nil gradient slice is skipped (the first
// layer needs no input gradient). They run on the same GEMM as the forward pass and
// allocate nothing once the Workspace has grown to the largest batch.

// ParamGrads names where a layer's parameter gradients go: Weight has the weight's
// layout, Bias one value per output; either may be nil.
type ParamGrads struct {
	Weight, Bias []float32
}

// LinearShape describes y = x·Wᵀ + b over Rows rows: x is Rows×In, the weight Out×In
// (PyTorch's nn.Linear layout), y Rows×Out.
type LinearShape struct {
	Rows, In, Out int
}

func (s LinearShape) check(name string, lens ...[2]int) {
	if s.Rows < 0 || s.In <= 0 || s.Out <= 0 {
		panic(fmt.Errorf("%w: %s %+v", ErrArgs, name, s))
	}
	checkLens(name, lens...)
}

// checkLens panics unless every {have, want} pair has have ≥ want; a have of -1 marks
// a nil (skipped) slice.
func checkLens(name string, lens ...[2]int) {
	for i, l := range lens {
		if l[0] >= 0 && l[0] < l[1] {
			panic(fmt.Errorf("%w: %s operand %d has %d values, want %d", ErrArgs, name, i, l[0], l[1]))
		}
	}
}

func lenOrNil(s []float32) int {
	if s == nil {
		return -1
	}
	return len(s)
}

// LinearForward computes y = x·Wᵀ + b with an unpacked weight (Out×In), for weights
// that change every step; bias may be nil.
func LinearForward(ws *Workspace, s LinearShape, y, x, weight, bias []float32) {
	s.check("LinearForward", [2]int{len(y), s.Rows * s.Out}, [2]int{len(x), s.Rows * s.In},
		[2]int{len(weight), s.Out * s.In}, [2]int{lenOrNil(bias), s.Out})
	Sgemm(ws, false, true, s.Rows, s.Out, s.In, 1, x, s.In, weight, s.In, 0, y, s.Out)
	if bias != nil {
		AddBias(y, s.Rows, s.Out, bias)
	}
}

// LinearBackward computes, from the output gradient dy (Rows×Out), the input
// gradient dx = dy·W (Rows×In; nil to skip), the weight gradient dyᵀ·x (Out×In) and
// the bias gradient Σ_rows dy (Out).
func LinearBackward(ws *Workspace, s LinearShape, dx, x, weight, dy []float32, g ParamGrads) {
	s.check("LinearBackward", [2]int{lenOrNil(dx), s.Rows * s.In}, [2]int{len(x), s.Rows * s.In},
		[2]int{len(weight), s.Out * s.In}, [2]int{len(dy), s.Rows * s.Out},
		[2]int{lenOrNil(g.Weight), s.Out * s.In}, [2]int{lenOrNil(g.Bias), s.Out})
	if dx != nil {
		Sgemm(ws, false, false, s.Rows, s.In, s.Out, 1, dy, s.Out, weight, s.In, 0, dx, s.In)
	}
	if g.Weight != nil {
		Sgemm(ws, true, false, s.Out, s.In, s.Rows, 1, dy, s.Out, x, s.In, 0, g.Weight, s.In)
	}
	if g.Bias != nil {
		sumRows(g.Bias[:s.Out], dy, s.Rows)
	}
}

// sumRows sets dst to the sum of the rows of the rows×len(dst) matrix m.
func sumRows(dst, m []float32, rows int) {
	clear(dst)
	cols := len(dst)
	for r := 0; r < rows; r++ {
		for j, v := range m[r*cols : r*cols+cols] {
			dst[j] += v
		}
	}
}

// ReLUBackward sets dx = dy where the ReLU's output y is positive and 0 elsewhere,
// as PyTorch's threshold_backward does; dx may alias dy.
func ReLUBackward(dx, y, dy []float32) {
	if len(y) != len(dx) || len(dy) != len(dx) {
		panic(fmt.Errorf("%w: ReLUBackward of lengths %d, %d into %d", ErrArgs, len(y), len(dy), len(dx)))
	}
	for i, v := range y {
		if v > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// MaxPool2DReLUBackward is the backward pass of MaxPool2DReLU: x is the pooling's
// input, y its output (after the ReLU), dy the gradient of y. Each window whose
// output is positive passes its gradient to the first position holding the window's
// maximum in row-major order (PyTorch's choice among ties); other positions get 0.
// Overlapping windows add up.
func MaxPool2DReLUBackward(dx, x, y, dy []float32, s PoolShape) {
	n, c, h, w, k, stride := s.N, s.C, s.H, s.W, s.K, s.Stride
	if n < 0 || c <= 0 || k <= 0 || stride <= 0 || h < k || w < k {
		panic(fmt.Errorf("%w: MaxPool2DReLUBackward %dx%d window, stride %d over %dx%d", ErrArgs, k, k, stride, h, w))
	}
	oh, ow := s.OH(), s.OW()
	checkLens("MaxPool2DReLUBackward", [2]int{len(dx), n * c * h * w}, [2]int{len(x), n * c * h * w},
		[2]int{len(y), n * c * oh * ow}, [2]int{len(dy), n * c * oh * ow})
	clear(dx[:n*c*h*w])
	for plane := 0; plane < n*c; plane++ {
		in := x[plane*h*w : (plane+1)*h*w]
		din := dx[plane*h*w : (plane+1)*h*w]
		out := y[plane*oh*ow : (plane+1)*oh*ow]
		dout := dy[plane*oh*ow : (plane+1)*oh*ow]
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				o := oy*ow + ox
				if !(out[o] > 0) {
					continue
				}
				best := (oy*stride)*w + ox*stride
				m := in[best]
				for ky := 0; ky < k; ky++ {
					row := (oy*stride+ky)*w + ox*stride
					for kx := 0; kx < k; kx++ {
						if v := in[row+kx]; v > m {
							m, best = v, row+kx
						}
					}
				}
				din[best] += dout[o]
			}
		}
	}
}

// CrossEntropy computes the mean over rows of −log softmax(logits)[label] (PyTorch's
// F.cross_entropy with reduction "mean") and, when dlogits is not nil, its gradient
// (softmax − one-hot)/rows. logits and dlogits are rows×classes; labels must lie in
// [0, classes). The loss is accumulated in float64.
func CrossEntropy(dlogits, logits []float32, labels []int, classes int) float64 {
	rows := len(labels)
	if classes <= 0 || rows == 0 || len(logits) < rows*classes || (dlogits != nil && len(dlogits) < rows*classes) {
		panic(fmt.Errorf("%w: CrossEntropy of %d rows × %d classes over %d logits", ErrArgs, rows, classes, len(logits)))
	}
	var loss float64
	inv := 1 / float32(rows)
	for r, label := range labels {
		if label < 0 || label >= classes {
			panic(fmt.Errorf("%w: CrossEntropy label %d outside [0, %d)", ErrArgs, label, classes))
		}
		z := logits[r*classes : (r+1)*classes]
		m := z[0]
		for _, v := range z[1:] {
			m = max(m, v)
		}
		var sum float32
		for _, v := range z {
			sum += float32(math.Exp(float64(v - m)))
		}
		logSum := float32(math.Log(float64(sum)))
		loss -= float64(z[label] - m - logSum)
		if dlogits != nil {
			d := dlogits[r*classes : (r+1)*classes]
			for j, v := range z {
				d[j] = float32(math.Exp(float64(v-m-logSum))) * inv
			}
			d[label] -= inv
		}
	}
	return loss / float64(rows)
}

// Conv2DBackward computes the gradients of Conv2D from its output gradient dy
// (N×OC×OH×OW): the input gradient dx (N×C×H×W; nil to skip), the weight gradient
// (OC×C×KH×KW) and the bias gradient (OC). x and weight are what the forward pass
// read. The batch is lowered once (im2col over all N images, C·KH·KW rows of N·OH·OW
// columns), so each gradient is one GEMM over the whole batch; dx is scattered back
// from the columns' gradient (col2im).
func Conv2DBackward(ws *Workspace, s ConvShape, dx, x, weight, dy []float32, g ParamGrads) {
	must(s.check())
	k := s.C * s.KH * s.KW
	npix := s.OH() * s.OW()
	cols := s.N * npix
	checkLens("Conv2DBackward", [2]int{lenOrNil(dx), s.N * s.C * s.H * s.W}, [2]int{len(x), s.N * s.C * s.H * s.W},
		[2]int{len(weight), s.OC * k}, [2]int{len(dy), s.N * s.OC * npix},
		[2]int{lenOrNil(g.Weight), s.OC * k}, [2]int{lenOrNil(g.Bias), s.OC})
	if s.N == 0 {
		if g.Weight != nil {
			clear(g.Weight[:s.OC*k])
		}
		if g.Bias != nil {
			clear(g.Bias[:s.OC])
		}
		return
	}
	ws = orTemp(ws)
	// dy as one OC × (N·OH·OW) matrix: image n's block of columns is its OC×npix slice.
	dyT := grow(&ws.grad.dy, s.OC*cols)
	for n := 0; n < s.N; n++ {
		for oc := 0; oc < s.OC; oc++ {
			copy(dyT[oc*cols+n*npix:oc*cols+(n+1)*npix], dy[(n*s.OC+oc)*npix:(n*s.OC+oc+1)*npix])
		}
	}
	if g.Bias != nil {
		for oc := range g.Bias[:s.OC] {
			var sum float32
			for _, v := range dyT[oc*cols : (oc+1)*cols] {
				sum += v
			}
			g.Bias[oc] = sum
		}
	}
	col := grow(&ws.grad.col, k*cols)
	if g.Weight != nil {
		im2colBatch(col, x, s)
		// dW[OC×K] = dy[OC×cols] · colᵀ, col stored K×cols.
		Sgemm(ws, false, true, s.OC, k, cols, 1, dyT, cols, col, cols, 0, g.Weight, k)
	}
	if dx != nil {
		// dcol[K×cols] = Wᵀ · dy, then every column's values go back to their pixels.
		Sgemm(ws, true, false, k, cols, s.OC, 1, weight, k, dyT, cols, 0, col, cols)
		col2imBatch(dx, col, s)
	}
}

// im2colBatch writes the (C·KH·KW)×(N·OH·OW) lowering of the batch x into col:
// row (c, ky, kx), column n·OH·OW + oy·OW + ox holds x[n, c, oy·stride−pad+ky,
// ox·stride−pad+kx], or 0 in the padding. For each row and image, the valid output
// columns of an output row read a (strided) run of one input row.
func im2colBatch(col, x []float32, s ConvShape) {
	oh, ow := s.OH(), s.OW()
	npix := oh * ow
	cols := s.N * npix
	r := 0
	for c := 0; c < s.C; c++ {
		for ky := 0; ky < s.KH; ky++ {
			for kx := 0; kx < s.KW; kx++ {
				lo := max(0, (s.Padding-kx+s.Stride-1)/s.Stride)
				hi := min(ow, (s.W+s.Padding-kx+s.Stride-1)/s.Stride)
				row := col[r*cols : (r+1)*cols]
				r++
				for n := 0; n < s.N; n++ {
					plane := x[(n*s.C+c)*s.H*s.W : (n*s.C+c+1)*s.H*s.W]
					dst := row[n*npix : (n+1)*npix]
					for oy := 0; oy < oh; oy++ {
						d := dst[oy*ow : (oy+1)*ow]
						iy := oy*s.Stride - s.Padding + ky
						if iy < 0 || iy >= s.H || hi <= lo {
							clear(d)
							continue
						}
						clear(d[:lo])
						clear(d[hi:])
						src := plane[iy*s.W : (iy+1)*s.W]
						ix := lo*s.Stride - s.Padding + kx
						if s.Stride == 1 {
							copy(d[lo:hi], src[ix:ix+hi-lo])
							continue
						}
						for ox := lo; ox < hi; ox++ {
							d[ox] = src[ix]
							ix += s.Stride
						}
					}
				}
			}
		}
	}
}

// col2imBatch is im2colBatch's adjoint: it sets dx to the sum, over every column
// entry, of the values that came from each input position.
func col2imBatch(dx, col []float32, s ConvShape) {
	clear(dx[:s.N*s.C*s.H*s.W])
	convColumnsAdjoint(dx, col, s)
}

// convColumnsAdjoint adds every column entry back into the input position it was
// read from (the walk of convColumns, reversed).
func convColumnsAdjoint(dx, col []float32, s ConvShape) {
	oh, ow := s.OH(), s.OW()
	npix := oh * ow
	cols := s.N * npix
	r := 0
	for c := 0; c < s.C; c++ {
		for ky := 0; ky < s.KH; ky++ {
			for kx := 0; kx < s.KW; kx++ {
				lo := max(0, (s.Padding-kx+s.Stride-1)/s.Stride)
				hi := min(ow, (s.W+s.Padding-kx+s.Stride-1)/s.Stride)
				row := col[r*cols : (r+1)*cols]
				r++
				if hi <= lo {
					continue
				}
				for n := 0; n < s.N; n++ {
					plane := dx[(n*s.C+c)*s.H*s.W : (n*s.C+c+1)*s.H*s.W]
					src := row[n*npix : (n+1)*npix]
					for oy := 0; oy < oh; oy++ {
						iy := oy*s.Stride - s.Padding + ky
						if iy < 0 || iy >= s.H {
							continue
						}
						d := plane[iy*s.W : (iy+1)*s.W]
						ix := lo*s.Stride - s.Padding + kx
						for _, v := range src[oy*ow+lo : oy*ow+hi] {
							d[ix] += v
							ix += s.Stride
						}
					}
				}
			}
		}
	}
}

// gradScratch holds Conv2DBackward's batch-wide matrices.
type gradScratch struct {
	dy  []float32 // [OC, N·OH·OW]
	col []float32 // [C·KH·KW, N·OH·OW]: the lowering, then its gradient
}
