package ops

import (
	"fmt"

	"github.com/lumen-ml/lumen/ops/asm"
)

// ConvShape describes a 2-D convolution over NCHW input: N images of C channels,
// H×W pixels, OC output channels, KH×KW kernels, one stride and one zero padding
// for both axes.
type ConvShape struct {
	N, C, H, W      int
	OC, KH, KW      int
	Stride, Padding int
}

// OH returns the output height.
func (s ConvShape) OH() int { return (s.H+2*s.Padding-s.KH)/s.Stride + 1 }

// OW returns the output width.
func (s ConvShape) OW() int { return (s.W+2*s.Padding-s.KW)/s.Stride + 1 }

func (s ConvShape) check() error {
	if s.N < 0 || s.C <= 0 || s.H <= 0 || s.W <= 0 || s.OC <= 0 || s.KH <= 0 || s.KW <= 0 || s.Stride <= 0 || s.Padding < 0 {
		return fmt.Errorf("%w: convolution %+v", ErrArgs, s)
	}
	if s.H+2*s.Padding < s.KH || s.W+2*s.Padding < s.KW {
		return fmt.Errorf("%w: %dx%d kernel larger than the padded %dx%d input", ErrArgs, s.KH, s.KW, s.H+2*s.Padding, s.W+2*s.Padding)
	}
	return nil
}

// Conv2D computes y = conv(x, weight) + bias for a batch: x is N×C×H×W, weight is
// OC×C×KH×KW (PyTorch's layout, read as an OC×(C·KH·KW) matrix), bias has OC entries
// (or is nil), y is N×OC×OH×OW. Each image is lowered (im2col) straight into the
// GEMM's packed-panel layout — no intermediate matrix, no second packing pass — and
// multiplied by the weight matrix, which lands the result directly in NCHW order.
func Conv2D(ws *Workspace, y, x []float32, s ConvShape, weight, bias []float32) {
	must(s.check())
	k := s.C * s.KH * s.KW
	npix := s.OH() * s.OW()
	switch {
	case len(x) < s.N*s.C*s.H*s.W:
		panic(fmt.Errorf("%w: Conv2D input has %d values, want %d", ErrArgs, len(x), s.N*s.C*s.H*s.W))
	case len(y) < s.N*s.OC*npix:
		panic(fmt.Errorf("%w: Conv2D output has %d values, want %d", ErrArgs, len(y), s.N*s.OC*npix))
	case len(weight) < s.OC*k:
		panic(fmt.Errorf("%w: Conv2D weight has %d values, want %d×%d×%d×%d", ErrArgs, len(weight), s.OC, s.C, s.KH, s.KW))
	case bias != nil && len(bias) < s.OC:
		panic(fmt.Errorf("%w: Conv2D bias has %d values, want %d", ErrArgs, len(bias), s.OC))
	}
	ws = orTemp(ws)
	if s.Stride == 1 && asm.HasIndirect(asm.Best) && s.N > 0 {
		conv2DIndirect(ws, y, x, s, weight, bias)
		return
	}
	l := asm.Best
	_, nr := asm.Tile(l)
	pb := &ws.packB.pb
	*pb = PackedB{level: l, wt: asm.WeightF32, k: k, n: npix, nr: nr, f32: grow(&ws.packB.buf, (npix+nr-1)/nr*nr*k)}
	clear(pb.f32) // padding positions and the last panel's spare columns stay zero
	for n := 0; n < s.N; n++ {
		img := x[n*s.C*s.H*s.W : (n+1)*s.C*s.H*s.W]
		out := y[n*s.OC*npix : (n+1)*s.OC*npix]
		im2colPanels(pb, img, s)
		// The weight matrix is the same for every image: pack it once.
		ws.gemm.runReusingA(ws, n > 0, false, s.OC, 1, weight, k, pb, 0, out, npix)
		if bias != nil {
			for c := 0; c < s.OC; c++ {
				b := bias[c]
				ch := out[c*npix : (c+1)*npix]
				for i := range ch {
					ch[i] += b
				}
			}
		}
	}
}

// im2colPanels writes the (C·KH·KW)×(OH·OW) im2col matrix of one image into pb's
// panels: row r = (c, ky, kx), column o = output pixel. Positions that overhang the
// padding are never written (the caller zeroed the panels once).
func im2colPanels(pb *PackedB, img []float32, s ConvShape) {
	oh, ow, nr, k := s.OH(), s.OW(), pb.nr, pb.k
	dst := pb.f32
	panelStride := k * nr
	r := 0
	for c := 0; c < s.C; c++ {
		plane := img[c*s.H*s.W : (c+1)*s.H*s.W]
		for ky := 0; ky < s.KH; ky++ {
			for kx := 0; kx < s.KW; kx++ {
				rowOff := r * nr
				r++
				// Valid output columns: 0 ≤ ox·stride − pad + kx < W.
				lo := max(0, (s.Padding-kx+s.Stride-1)/s.Stride)
				hi := min(ow, (s.W+s.Padding-kx+s.Stride-1)/s.Stride)
				if hi <= lo {
					continue
				}
				// Pixel o = oy·ow + lo sits at column j of the panel starting at pos; both
				// advance by ow pixels per output row, without a division.
				o := lo
				pos, j := (o/nr)*panelStride+rowOff, o%nr
				for oy := 0; oy < oh; oy++ {
					if oy > 0 {
						for j += ow; j >= nr; j -= nr {
							pos += panelStride
						}
					}
					iy := oy*s.Stride - s.Padding + ky
					if iy < 0 || iy >= s.H {
						continue
					}
					src := plane[iy*s.W : (iy+1)*s.W]
					ix := lo*s.Stride - s.Padding + kx
					if s.Stride == 1 {
						p, jj := pos, j
						for n := hi - lo; n > 0; {
							run := min(nr-jj, n)
							copy(dst[p+jj:p+jj+run], src[ix:ix+run])
							ix, n, jj, p = ix+run, n-run, 0, p+panelStride
						}
						continue
					}
					p, jj := pos, j
					for ox := lo; ox < hi; ox++ {
						dst[p+jj] = src[ix]
						ix += s.Stride
						if jj++; jj == nr {
							jj, p = 0, p+panelStride
						}
					}
				}
			}
		}
	}
}

// PoolShape describes a max pooling over NCHW input: N images of C channels, H×W
// pixels, K×K windows moved by Stride, no padding.
type PoolShape struct {
	N, C, H, W int
	K, Stride  int
}

// OH returns the output height.
func (s PoolShape) OH() int { return (s.H-s.K)/s.Stride + 1 }

// OW returns the output width.
func (s PoolShape) OW() int { return (s.W-s.K)/s.Stride + 1 }

// MaxPool2D takes the maximum over each window of the N×C×H×W input x; y is
// N×C×OH×OW. NaN propagates. ws splits the planes over its pool (nil: the caller).
func MaxPool2D(ws *Workspace, y, x []float32, s PoolShape) { maxPool2D(ws, y, x, s, false) }

// MaxPool2DReLU is MaxPool2D followed by ReLU in one pass (LeNet's pool → ReLU).
func MaxPool2DReLU(ws *Workspace, y, x []float32, s PoolShape) { maxPool2D(ws, y, x, s, true) }

func maxPool2D(ws *Workspace, y, x []float32, s PoolShape, relu bool) {
	n, c, h, w, k, stride := s.N, s.C, s.H, s.W, s.K, s.Stride
	if n < 0 || c <= 0 || k <= 0 || stride <= 0 || h < k || w < k {
		panic(fmt.Errorf("%w: MaxPool2D %dx%d window, stride %d over %dx%d", ErrArgs, k, k, stride, h, w))
	}
	oh, ow := s.OH(), s.OW()
	if len(x) < n*c*h*w || len(y) < n*c*oh*ow {
		panic(fmt.Errorf("%w: MaxPool2D needs %d inputs and %d outputs, got %d and %d", ErrArgs, n*c*h*w, n*c*oh*ow, len(x), len(y)))
	}
	runPlanes(ws, poolJob{s: s, relu: relu, y: y, x: x})
}

// poolJob is a max pooling or its backward over contiguous ranges of planes, one
// range per item.
type poolJob struct {
	s            PoolShape
	relu, back   bool
	y, x, dx, dy []float32
	items        int
}

func (j *poolJob) Do(_, item int) {
	planes := j.s.N * j.s.C
	j.planes(item*planes/j.items, (item+1)*planes/j.items)
}

// planes runs planes [p0, p1).
func (j *poolJob) planes(p0, p1 int) {
	s := j.s
	hw, ohw := s.H*s.W, s.OH()*s.OW()
	x, y := j.x[p0*hw:p1*hw], j.y[p0*ohw:p1*ohw]
	n2x2 := s.K == 2 && s.Stride == 2
	switch {
	case j.back && n2x2:
		maxPool2x2Backward(j.dx[p0*hw:p1*hw], x, y, j.dy[p0*ohw:p1*ohw], p1-p0, s.H, s.W)
	case j.back:
		maxPoolBackwardPlanes(j.dx[p0*hw:p1*hw], x, y, j.dy[p0*ohw:p1*ohw], s, p1-p0)
	case n2x2 && j.relu:
		maxPool2x2ReLU(y, x, p1-p0, s.H, s.W)
	case n2x2:
		maxPool2x2(y, x, p1-p0, s.H, s.W)
	default:
		maxPoolPlanes(y, x, s, p1-p0, j.relu)
	}
}

// minPlaneJob is the fewest input values worth a job on the pool: below it the
// hand-off costs more than the pass.
const minPlaneJob = 16 << 10

// runPlanes runs j: on ws's pool, one range of planes per thread, when there is
// enough work; else on the caller.
func runPlanes(ws *Workspace, j poolJob) {
	planes := j.s.N * j.s.C
	if ws == nil || ws.threads() <= 1 || planes < 2 || planes*j.s.H*j.s.W < minPlaneJob {
		j.planes(0, planes)
		return
	}
	ws.planes = j
	ws.planes.items = min(planes, ws.threads())
	ws.run(ws.planes.items, &ws.planes)
	ws.planes = poolJob{}
}

// maxPoolPlanes is the general window and stride over planes planes.
func maxPoolPlanes(y, x []float32, s PoolShape, planes int, relu bool) {
	h, w, k, stride := s.H, s.W, s.K, s.Stride
	oh, ow := s.OH(), s.OW()
	for plane := 0; plane < planes; plane++ {
		in := x[plane*h*w : (plane+1)*h*w]
		out := y[plane*oh*ow : (plane+1)*oh*ow]
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				m := in[oy*stride*w+ox*stride]
				for ky := 0; ky < k; ky++ {
					r := in[(oy*stride+ky)*w+ox*stride : (oy*stride+ky)*w+ox*stride+k]
					for _, v := range r {
						if v > m || v != v {
							m = v
						}
					}
				}
				if relu && m < 0 {
					m = 0
				}
				out[oy*ow+ox] = m
			}
		}
	}
}

// maxPool2x2 is MaxPool2D's 2×2, stride-2 case; the builtin max propagates NaN.
func maxPool2x2(y, x []float32, planes, h, w int) {
	oh, ow := h/2, w/2
	for plane := 0; plane < planes; plane++ {
		in := x[plane*h*w : (plane+1)*h*w]
		out := y[plane*oh*ow : (plane+1)*oh*ow]
		for oy := 0; oy < oh; oy++ {
			r0 := in[2*oy*w : 2*oy*w+2*ow]
			r1 := in[(2*oy+1)*w : (2*oy+1)*w+2*ow]
			o := out[oy*ow : oy*ow+ow]
			for ox := range o {
				o[ox] = max(r0[2*ox], r0[2*ox+1], r1[2*ox], r1[2*ox+1])
			}
		}
	}
}

// maxPool2x2ReLU is maxPool2x2 with the ReLU, on the values' bits as integers
// (asm.MaxPool2x2ReLU): planes of even height in one call, each plane alone otherwise.
func maxPool2x2ReLU(y, x []float32, planes, h, w int) {
	oh, ow := h/2, w/2
	if h%2 == 0 {
		asm.MaxPool2x2ReLU(asm.Best, y, x, planes*oh, w)
		return
	}
	for plane := range planes {
		asm.MaxPool2x2ReLU(asm.Best, y[plane*oh*ow:(plane+1)*oh*ow], x[plane*h*w:(plane+1)*h*w], oh, w)
	}
}
