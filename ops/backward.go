package ops

import (
	"fmt"
	"math"

	"github.com/lumen-ml/lumen/ops/asm"
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
// Overlapping windows add up. ws splits the planes over its pool (nil: the caller).
func MaxPool2DReLUBackward(ws *Workspace, dx, x, y, dy []float32, s PoolShape) {
	n, c, h, w, k, stride := s.N, s.C, s.H, s.W, s.K, s.Stride
	if n < 0 || c <= 0 || k <= 0 || stride <= 0 || h < k || w < k {
		panic(fmt.Errorf("%w: MaxPool2DReLUBackward %dx%d window, stride %d over %dx%d", ErrArgs, k, k, stride, h, w))
	}
	oh, ow := s.OH(), s.OW()
	checkLens("MaxPool2DReLUBackward", [2]int{len(dx), n * c * h * w}, [2]int{len(x), n * c * h * w},
		[2]int{len(y), n * c * oh * ow}, [2]int{len(dy), n * c * oh * ow})
	runPlanes(ws, poolJob{s: s, back: true, dx: dx, x: x, y: y, dy: dy})
}

// maxPoolBackwardPlanes is the general window and stride over planes planes.
func maxPoolBackwardPlanes(dx, x, y, dy []float32, s PoolShape, planes int) {
	h, w, k, stride := s.H, s.W, s.K, s.Stride
	oh, ow := s.OH(), s.OW()
	clear(dx[:planes*h*w])
	for plane := 0; plane < planes; plane++ {
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

// maxPool2x2Backward is MaxPool2DReLUBackward's 2×2, stride-2 case
// (asm.MaxPool2x2ReLUBackward): it writes all four positions of every window (no
// clearing pass) and zeroes the odd last row and column that no window covers; planes
// of even height go as one call.
func maxPool2x2Backward(dx, x, y, dy []float32, planes, h, w int) {
	oh, ow := h/2, w/2
	if h%2 == 0 {
		asm.MaxPool2x2ReLUBackward(asm.Best, dx, x, y, dy, planes*oh, w)
		return
	}
	for plane := range planes {
		asm.MaxPool2x2ReLUBackward(asm.Best, dx[plane*h*w:(plane+1)*h*w], x[plane*h*w:(plane+1)*h*w], y[plane*oh*ow:(plane+1)*oh*ow], dy[plane*oh*ow:(plane+1)*oh*ow], oh, w)
		clear(dx[(plane*h+h-1)*w : (plane+1)*h*w])
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
// read. On levels with the indirect kernel (AVX2, AVX-512) and stride 1, the weight
// gradient reads the images in place over chunks of 16 (weightGradIndirect), and the
// input gradient of a square kernel is the flipped full convolution (Conv2D itself).
// Otherwise, per image, the weight gradient is dy_n (OC×OH·OW) times the transposed
// lowering of x_n, written straight into the GEMM's panel layout, and the input
// gradient is Wᵀ·dy_n scattered back to the pixels (col2im). Images are split into
// one contiguous range per thread, each with its own partial weight gradient, summed
// in a fixed order: the result does not depend on scheduling.
func Conv2DBackward(ws *Workspace, s ConvShape, dx, x, weight, dy []float32, g ParamGrads) {
	conv2DBackward(ws, asm.Best, s, dx, x, weight, dy, g)
}

func conv2DBackward(ws *Workspace, l asm.Level, s ConvShape, dx, x, weight, dy []float32, g ParamGrads) {
	must(s.check())
	k := s.C * s.KH * s.KW
	npix := s.OH() * s.OW()
	checkLens("Conv2DBackward", [2]int{lenOrNil(dx), s.N * s.C * s.H * s.W}, [2]int{len(x), s.N * s.C * s.H * s.W},
		[2]int{len(weight), s.OC * k}, [2]int{len(dy), s.N * s.OC * npix},
		[2]int{lenOrNil(g.Weight), s.OC * k}, [2]int{lenOrNil(g.Bias), s.OC})
	// The bias gradient is summed by the weight gradient's job, per item, when that runs.
	ws = orTemp(ws)
	j := &ws.grad
	j.db = nil
	if g.Bias != nil && (g.Weight == nil || s.N == 0) {
		convBiasGrad(g.Bias[:s.OC], dy, s.OC, npix, 0, s.N)
	} else if g.Bias != nil {
		j.db = g.Bias[:s.OC]
	}
	if g.Weight != nil {
		clear(g.Weight[:s.OC*k])
	}
	if s.N == 0 || (g.Weight == nil && dx == nil) {
		return
	}
	if dx != nil && l == asm.Best && asm.HasIndirect(l) && s.Stride == 1 && s.KH == s.KW && s.Padding < s.KH {
		// The input gradient of a stride-1 convolution is the full convolution of dy
		// with the kernel flipped and its channel axes swapped:
		//   dx[c, iy, ix] = Σ_oc,ky,kx W[oc, c, ky, kx] · dy[oc, iy+pad−ky, ix+pad−kx]
		// — Conv2D with padding KH−1−pad, on the indirect kernel: no column matrix.
		flip := grow(&j.flip, s.C*s.OC*s.KH*s.KW)
		k2 := s.KH * s.KW
		for oc := 0; oc < s.OC; oc++ {
			for c := 0; c < s.C; c++ {
				src, dst := weight[(oc*s.C+c)*k2:(oc*s.C+c+1)*k2], flip[(c*s.OC+oc)*k2:(c*s.OC+oc+1)*k2]
				for i, v := range src {
					dst[k2-1-i] = v
				}
			}
		}
		t := ConvShape{N: s.N, C: s.OC, H: s.OH(), W: s.OW(), OC: s.C, KH: s.KH, KW: s.KW, Stride: 1, Padding: s.KH - 1 - s.Padding}
		conv2DIndirect(ws, dx, dy, t, flip, nil)
		dx = nil
		if g.Weight == nil {
			return
		}
	}
	j.level, j.s, j.x, j.weight, j.dy, j.dx, j.dw = l, s, x, weight, dy, dx, g.Weight
	// With the indirect kernel, the weight gradient reads the image in place (see
	// weightGradIndirect) when a kernel row fits in half a tile.
	j.indirect = asm.HasIndirect(l) && s.Stride == 1 && s.KW <= 8
	j.items = min(s.N, ws.threads())
	if j.indirect {
		// One offset table per chunk length the items will use.
		j.hp, j.wp = s.H+2*s.Padding, s.W+2*s.Padding
		for item := 0; item < j.items; item++ {
			lo, hi := item*s.N/j.items, (item+1)*s.N/j.items
			j.table(hi - lo - (hi-lo-1)/gradChunk*gradChunk) // the last chunk's
			j.table(min(gradChunk, hi-lo))
		}
	}
	j.serial = ws.serialWorkspaces()
	for len(j.part) < j.items {
		j.part = append(j.part, nil)
	}
	if g.Weight != nil {
		for i := 1; i < j.items; i++ {
			grow(&j.part[i], s.OC*k+s.OC) // the weight's gradient, then the bias's
		}
	}
	for len(j.scratch) < len(j.serial) {
		j.scratch = append(j.scratch, convGradScratch{})
	}
	ws.run(j.items, j)
	if g.Weight != nil {
		for i := 1; i < j.items; i++ {
			for e, v := range j.part[i][:s.OC*k] {
				g.Weight[e] += v
			}
			if j.db != nil {
				for oc, v := range j.part[i][s.OC*k : s.OC*k+s.OC] {
					j.db[oc] += v
				}
			}
		}
	}
	j.x, j.weight, j.dy, j.dx, j.dw, j.db = nil, nil, nil, nil, nil, nil
}

// convBiasGrad sets db[oc] = Σ over images [lo, hi) and pixels of dy[n, oc].
func convBiasGrad(db, dy []float32, oc, npix, lo, hi int) {
	clear(db[:oc])
	for n := lo; n < hi; n++ {
		for c := range db[:oc] {
			db[c] += sum32(dy[(n*oc+c)*npix : (n*oc+c+1)*npix])
		}
	}
}

// convGradJob is Conv2DBackward's work: item i takes images [i·N/items, (i+1)·N/items).
type convGradJob struct {
	level                 asm.Level
	indirect              bool
	tables                []gradTable // pixel p of a chunk ↦ its offset in the padded images
	hp, wp                int         // padded image height and width
	flip                  []float32   // [C, OC, KH, KW]: the weight flipped, for the input gradient
	s                     ConvShape
	x, weight, dy, dx, dw []float32
	db                    []float32 // the bias gradient, when the job sums it
	items                 int
	part                  [][]float32 // item i > 0 sums its weight gradient here (item 0 into dw)
	scratch               []convGradScratch
	serial                []*Workspace
}

// convGradScratch is one worker's: the transposed lowering of an image as GEMM
// panels, and an image's column gradient.
type convGradScratch struct {
	pb    PackedB
	buf   []float32
	dcol  []float32 // [C·KH·KW, OH·OW]
	img   []float32 // [C, H+2·pad, W+2·pad] + slack: the padded image
	a     []float32 // dy_n packed into 6-row panels of OH·OW columns
	tile  []float32 // [6, 16]
	pbDy  PackedB   // dy_n as the B of Wᵀ·dy_n
	dyBuf []float32
}

func (j *convGradJob) Do(w, item int) {
	s := j.s
	k, npix := s.C*s.KH*s.KW, s.OH()*s.OW()
	sc, sws := &j.scratch[w], j.serial[w]
	dw := j.dw
	if item > 0 && dw != nil {
		dw = j.part[item]
	}
	lo, hi := item*s.N/j.items, (item+1)*s.N/j.items
	if j.db != nil { // item 0 into the bias gradient, the others after their weight's
		db := j.db
		if item > 0 {
			db = j.part[item][s.OC*k:]
		}
		convBiasGrad(db, j.dy, s.OC, npix, lo, hi)
	}
	if dw != nil && !j.indirect {
		l := j.level
		_, nr := asm.Tile(l)
		sc.pb = PackedB{level: l, wt: asm.WeightF32, k: npix, n: k, nr: nr, f32: grow(&sc.buf, (k+nr-1)/nr*nr*npix)}
		clear(sc.pb.f32) // the last panel's spare columns stay zero
	}
	for n := lo; n < hi; n++ {
		img := j.x[n*s.C*s.H*s.W : (n+1)*s.C*s.H*s.W]
		dyN := j.dy[n*s.OC*npix : (n+1)*s.OC*npix] // OC × OH·OW
		if dw != nil && j.indirect && (n-lo)%gradChunk == 0 {
			if n == lo {
				clear(dw[:s.OC*k])
			}
			j.weightGradIndirect(sc, dw, n, min(gradChunk, hi-n))
		}
		if dw != nil && !j.indirect {
			// dW[OC×K] (+)= dy_n · lowering(x_n)ᵀ
			im2colPanelsT(&sc.pb, img, s)
			beta := float32(1)
			if n == lo {
				beta = 0
			}
			sws.gemm.run(sws, false, s.OC, 1, dyN, npix, &sc.pb, beta, dw, k)
		}
		if j.dx != nil {
			// dcol[K×OH·OW] = Wᵀ · dy_n, then back to the pixels it was read from.
			dcol := grow(&sc.dcol, k*npix)
			_, nr := asm.Tile(j.level)
			pb := &sc.pbDy
			*pb = PackedB{level: j.level, wt: asm.WeightF32, k: s.OC, n: npix, nr: nr, f32: grow(&sc.dyBuf, (npix+nr-1)/nr*nr*s.OC)}
			packPanels(pb, pb.f32, false, dyN, npix, 0, panelsOf(pb), same[float32], copyRun[float32])
			// Wᵀ is the same for every image: the worker packs it once, unless the
			// weight gradient's products (the lowering path) used the GEMM in between.
			sws.gemm.runReusingA(sws, n > lo && j.indirect, true, k, 1, j.weight, k, pb, 0, dcol, npix)
			col2im(j.dx[n*s.C*s.H*s.W:(n+1)*s.C*s.H*s.W], dcol, s)
		}
	}
}

// gradChunk is the number of images whose weight gradient one indirect product
// covers: long reductions, with the padded images and packed dy still in L2.
const gradChunk = 16

// table returns the offset table of a chunk of m images, making it if needed (before
// the job runs: workers only read the tables).
func (j *convGradJob) table(m int) *asm.Indirect {
	s := j.s
	key := [6]int{j.hp, j.wp, s.OH(), s.OW(), s.C, m}
	for _, t := range j.tables {
		if t.key == key {
			return t.ind
		}
	}
	offs := make([]int32, 0, m*s.OH()*s.OW())
	for n := 0; n < m; n++ {
		for oy := 0; oy < s.OH(); oy++ {
			for ox := 0; ox < s.OW(); ox++ {
				offs = append(offs, int32(n*s.C*j.hp*j.wp+oy*j.wp+ox))
			}
		}
	}
	ind, _ := asm.NewIndirect(offs) // non-negative by construction
	if len(j.tables) == maxIndirectTables {
		j.tables = j.tables[1:]
	}
	j.tables = append(j.tables, gradTable{key, ind})
	return ind
}

// gradTable is the offset table of one image geometry and chunk length.
type gradTable struct {
	key [6]int
	ind *asm.Indirect
}

// weightGradIndirect adds the weight gradient of images n0…n0+m−1 to dw with the
// indirect kernel, reading the padded images in place instead of lowering them:
//
//	dW[oc, c, ky, kx] = Σ_p dy[oc, p] · img[c, oy+ky, ox+kx],  p = (image, oy, ox)
//
// is a 6×16 tile whose reduction runs over every pixel of the chunk, with A = dy
// (packed, 6 channels per panel) and B_p[j] = img[c, oy+ky, ox+j] for j < 8 and
// img[c, oy+ky+1, ox+j−8] for j ≥ 8: one call yields kernel rows ky and ky+1 of
// channel c in columns 0…KW−1 and 8…8+KW−1 (the other columns are discarded).
func (j *convGradJob) weightGradIndirect(sc *convGradScratch, dw []float32, n0, m int) {
	s := j.s
	npix, plane := s.OH()*s.OW(), j.hp*j.wp
	ind := j.table(m)
	imgStride := s.C * plane
	need := m*imgStride + j.wp + 24 // slack: the last tile's second row and overreach
	var padded []float32
	if start := n0 * imgStride; s.Padding == 0 && len(j.x)-start >= need {
		// Unpadded images are their own padded copy; what the slack reads belongs to
		// the next image and only reaches discarded columns.
		padded = j.x[start : start+need]
	} else {
		padded = grow(&sc.img, need)
		clear(padded)
		for n := 0; n < m; n++ {
			padImage(padded[n*imgStride:], j.x[(n0+n)*s.C*s.H*s.W:], s, j.hp, j.wp)
		}
	}
	if asm.HasIndirectOuter(j.level) && s.OC >= outerMinChannels && s.KW <= asm.OuterCols {
		j.weightGradOuter(sc, dw, n0, m, ind, padded)
		return
	}
	// A: panel oc0 holds a[(n·npix+p)·6 + i] = dy[n0+n, oc0+i, p]: six rows of dy read
	// side by side, the panel written in order.
	mp := (s.OC + 5) / 6 * 6
	kk := m * npix
	a := grow(&sc.a, mp*kk)
	for n := 0; n < m; n++ {
		dyN := j.dy[(n0+n)*s.OC*npix : (n0+n+1)*s.OC*npix]
		for oc0 := 0; oc0 < mp; oc0 += 6 {
			panel := a[oc0*kk+n*npix*6 : oc0*kk+(n+1)*npix*6]
			if oc0+6 <= s.OC {
				r0, r1, r2 := dyN[oc0*npix:][:npix], dyN[(oc0+1)*npix:][:npix], dyN[(oc0+2)*npix:][:npix]
				r3, r4, r5 := dyN[(oc0+3)*npix:][:npix], dyN[(oc0+4)*npix:][:npix], dyN[(oc0+5)*npix:][:npix]
				for p := range r0 {
					q := panel[p*6 : p*6+6 : p*6+6]
					q[0], q[1], q[2], q[3], q[4], q[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
				}
				continue
			}
			for p := 0; p < npix; p++ {
				for i := 0; i < 6; i++ {
					v := float32(0)
					if oc0+i < s.OC {
						v = dyN[(oc0+i)*npix+p]
					}
					panel[p*6+i] = v
				}
			}
		}
	}
	tile := grow(&sc.tile, 6*16)
	k2 := s.KH * s.KW
	for oc0 := 0; oc0 < s.OC; oc0 += 6 {
		rows := min(6, s.OC-oc0)
		for c := 0; c < s.C; c++ {
			for ky := 0; ky < s.KH; ky += 2 {
				mustIndirect(asm.SgemmIndirect(j.level, ind, a[oc0*kk:(oc0+6)*kk], padded[c*plane+ky*j.wp:], j.wp, tile, 16))
				for i := 0; i < rows; i++ {
					d := dw[(oc0+i)*s.C*k2+c*k2+ky*s.KW:]
					t := tile[i*16 : i*16+16]
					for kx := 0; kx < s.KW; kx++ {
						d[kx] += t[kx]
					}
					if ky+1 < s.KH {
						for kx := 0; kx < s.KW; kx++ {
							d[s.KW+kx] += t[8+kx]
						}
					}
				}
			}
		}
	}
}

// outerMinChannels is the fewest output channels for which the weight gradient runs
// on the outer-product kernel: its 16 lanes are output channels, and below this the
// 6×16 tile's kernel columns waste less.
const outerMinChannels = 12

// weightGradOuter is weightGradIndirect's product on the outer-product kernel
// (asm.SgemmIndirectOuter): A is dy with 16 output channels side by side per pixel,
// and one call gives 4 of the (channel, kernel row) pairs — every kernel column — for
// 16 output channels. padded holds the chunk's padded images; ind maps its pixels.
func (j *convGradJob) weightGradOuter(sc *convGradScratch, dw []float32, n0, m int, ind *asm.Indirect, padded []float32) {
	const lanes = asm.OuterLanes
	s := j.s
	npix, plane := s.OH()*s.OW(), j.hp*j.wp
	mp := (s.OC + lanes - 1) / lanes * lanes
	kk := m * npix
	// A: panel oc0 holds a[(n·npix+p)·16 + i] = dy[n0+n, oc0+i, p] (0 past OC).
	a := grow(&sc.a, mp*kk)
	for n := 0; n < m; n++ {
		dyN := j.dy[(n0+n)*s.OC*npix : (n0+n+1)*s.OC*npix]
		for oc0 := 0; oc0 < mp; oc0 += lanes {
			panel := a[oc0*kk+n*npix*lanes : oc0*kk+(n+1)*npix*lanes]
			live := min(lanes, s.OC-oc0)
			for p := 0; p < npix; p++ {
				q := panel[p*lanes : (p+1)*lanes : (p+1)*lanes]
				for i := range q[:live] {
					q[i] = dyN[(oc0+i)*npix+p]
				}
				clear(q[live:])
			}
		}
	}
	tile := grow(&sc.tile, asm.OuterRows*asm.OuterCols*lanes)
	k2 := s.KH * s.KW
	pairs := s.C * s.KH // the kernel's (channel, row) pairs: pair q is c·KH + ky
	for oc0 := 0; oc0 < s.OC; oc0 += lanes {
		live := min(lanes, s.OC-oc0)
		for q0 := 0; q0 < pairs; q0 += asm.OuterRows {
			var rows [asm.OuterRows]int
			for r := range rows {
				q := min(q0+r, pairs-1) // a short last group repeats its last pair
				rows[r] = q/s.KH*plane + q%s.KH*j.wp
			}
			mustIndirect(asm.SgemmIndirectOuter(j.level, ind, a[oc0*kk:(oc0+lanes)*kk], padded, rows, tile))
			for r := range min(asm.OuterRows, pairs-q0) {
				// dW[oc, c, ky, kx] sits at oc·C·KH·KW + (c·KH + ky)·KW + kx.
				for x := range s.KW {
					t := tile[(r*asm.OuterCols+x)*lanes:][:live]
					for i, v := range t {
						dw[(oc0+i)*s.C*k2+(q0+r)*s.KW+x] += v
					}
				}
			}
		}
	}
}

// im2colPanelsT writes the transposed lowering of one image into pb's panels: row p
// is output pixel p, column r = (c, ky, kx) holds img[c, oy·stride−pad+ky,
// ox·stride−pad+kx] (0 in the padding). Columns past C·KH·KW are left alone.
func im2colPanelsT(pb *PackedB, img []float32, s ConvShape) {
	oh, ow, nr, npix := s.OH(), s.OW(), pb.nr, pb.k
	dst := pb.f32
	r := 0
	for c := 0; c < s.C; c++ {
		plane := img[c*s.H*s.W : (c+1)*s.H*s.W]
		for ky := 0; ky < s.KH; ky++ {
			for kx := 0; kx < s.KW; kx++ {
				base := (r/nr)*npix*nr + r%nr
				r++
				for oy := 0; oy < oh; oy++ {
					iy := oy*s.Stride - s.Padding + ky
					row := dst[base+oy*ow*nr:]
					if iy < 0 || iy >= s.H {
						for ox := 0; ox < ow; ox++ {
							row[ox*nr] = 0
						}
						continue
					}
					src := plane[iy*s.W : (iy+1)*s.W]
					ix := -s.Padding + kx
					for ox := 0; ox < ow; ox++ {
						v := float32(0)
						if ix >= 0 && ix < s.W {
							v = src[ix]
						}
						row[ox*nr] = v
						ix += s.Stride
					}
				}
			}
		}
	}
}

// col2im sets the image gradient dimg (C×H×W) to the sum, over the column gradient
// dcol (C·KH·KW × OH·OW), of the values that came from each input position.
func col2im(dimg, dcol []float32, s ConvShape) {
	oh, ow := s.OH(), s.OW()
	npix := oh * ow
	clear(dimg[:s.C*s.H*s.W])
	r := 0
	for c := 0; c < s.C; c++ {
		plane := dimg[c*s.H*s.W : (c+1)*s.H*s.W]
		for ky := 0; ky < s.KH; ky++ {
			for kx := 0; kx < s.KW; kx++ {
				lo := max(0, (s.Padding-kx+s.Stride-1)/s.Stride)
				hi := min(ow, (s.W+s.Padding-kx+s.Stride-1)/s.Stride)
				src := dcol[r*npix : (r+1)*npix]
				r++
				if hi <= lo {
					continue
				}
				for oy := 0; oy < oh; oy++ {
					iy := oy*s.Stride - s.Padding + ky
					if iy < 0 || iy >= s.H {
						continue
					}
					d := plane[iy*s.W : (iy+1)*s.W]
					ix := lo*s.Stride - s.Padding + kx
					if s.Stride == 1 {
						d = d[ix : ix+hi-lo]
						for i, v := range src[oy*ow+lo : oy*ow+hi] {
							d[i] += v
						}
						continue
					}
					for _, v := range src[oy*ow+lo : oy*ow+hi] {
						d[ix] += v
						ix += s.Stride
					}
				}
			}
		}
	}
}

// sum32 adds x up with four independent accumulators (a single chain waits on each
// add's latency).
func sum32(x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		q := x[i : i+4 : i+4]
		s0 += q[0]
		s1 += q[1]
		s2 += q[2]
		s3 += q[3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}
