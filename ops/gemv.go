package ops

import (
	"fmt"

	"github.com/lumen-ml/lumen/ops/asm"
	"github.com/lumen-ml/lumen/tensor"
)

// gemvJob serves M ≤ gemvMaxM: each item is a range of 16-column groups of one row of
// C, so B streams once per row and the threads split the columns.
type gemvJob struct {
	l           asm.Level
	packed      *PackedB
	transB      bool
	b           []float32
	ldb         int
	m, n, k     int
	alpha, beta float32
	x           []float32 // the m rows of op(A), contiguous (k each)
	xbuf        []float32
	c           []float32
	ldc         int
	groups      int // 16-column groups per row
	chunks      int // items per row
	scratch     []workerScratch
}

func (g *gemvJob) setup(ws *Workspace, transA bool, m, n, k int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) {
	g.m, g.n, g.k, g.alpha, g.beta, g.c, g.ldc = m, n, k, alpha, beta, c, ldc
	g.scratch = ws.scratch
	switch {
	case transA: // gather the columns of A that are rows of op(A)
		g.x = grow(&g.xbuf, m*k)
		for i := 0; i < m; i++ {
			for q := 0; q < k; q++ {
				g.x[i*k+q] = a[q*lda+i]
			}
		}
	case lda == k || m == 1:
		g.x = a[:(m-1)*lda+k]
	default:
		g.x = grow(&g.xbuf, m*k)
		for i := 0; i < m; i++ {
			copy(g.x[i*k:(i+1)*k], a[i*lda:i*lda+k])
		}
	}
	g.groups = (n + 15) / 16
	g.chunks = min(g.groups, 4*ws.threads())
	for w := range g.scratch {
		grow(&g.scratch[w].x, 16)
	}
}

func (g *gemvJob) runPacked(ws *Workspace, transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int) {
	g.setup(ws, transA, m, pb.n, pb.k, alpha, a, lda, beta, c, ldc)
	g.packed, g.l = pb, pb.level
	ws.run(m*g.chunks, g)
	g.packed, g.c, g.x = nil, nil, nil
}

func (g *gemvJob) runUnpacked(ws *Workspace, l asm.Level, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	g.setup(ws, transA, m, n, k, alpha, a, lda, beta, c, ldc)
	g.packed, g.l, g.transB, g.b, g.ldb = nil, l, transB, b, ldb
	ws.run(m*g.chunks, g)
	g.b, g.c, g.x = nil, nil, nil
}

func (g *gemvJob) Do(w, item int) {
	row, ch := item/g.chunks, item%g.chunks
	g0, g1 := ch*g.groups/g.chunks, (ch+1)*g.groups/g.chunks
	x := g.x[row*g.k : row*g.k+g.k]
	y := g.scratch[w].x[:16]
	crow := g.c[row*g.ldc : row*g.ldc+g.n]
	for grp := g0; grp < g1; grp++ {
		j0 := grp * 16
		width := min(16, g.n-j0)
		switch {
		case g.packed != nil && g.packed.nr < 16:
			gemvNarrowPanels(g.packed, x, j0, width, y)
		case g.packed != nil:
			pb := g.packed
			jp, sub := j0/pb.nr, j0%pb.nr
			off := jp*pb.k*pb.nr + sub
			var err error
			if pb.wt == asm.WeightF32 {
				err = asm.Gemv16(g.l, pb.wt, g.k, x, pb.f32[off:], nil, pb.nr, y)
			} else {
				err = asm.Gemv16(g.l, pb.wt, g.k, x, nil, pb.u16[off:], pb.nr, y)
			}
			if err != nil {
				panic(fmt.Sprintf("ops: internal error: %v", err))
			}
		case !g.transB && width == 16:
			if err := asm.Gemv16(g.l, asm.WeightF32, g.k, x, g.b[j0:], nil, g.ldb, y); err != nil {
				panic(fmt.Sprintf("ops: internal error: %v", err))
			}
		case !g.transB:
			for j := 0; j < width; j++ {
				var s float32
				for q, xv := range x {
					s += xv * g.b[q*g.ldb+j0+j]
				}
				y[j] = s
			}
		default:
			for j := 0; j < width; j++ {
				y[j] = dot(x, g.b[(j0+j)*g.ldb:(j0+j)*g.ldb+g.k])
			}
		}
		dst := crow[j0 : j0+width]
		for j := range dst {
			if g.beta == 0 {
				dst[j] = g.alpha * y[j]
			} else {
				dst[j] = g.alpha*y[j] + g.beta*dst[j]
			}
		}
	}
}

// gemvNarrowPanels computes y[j] = Σ_p x[p]·B[p, j0+j] for panels narrower than the
// 16-wide kernel (the NEON and generic tiles are 8 wide).
func gemvNarrowPanels(pb *PackedB, x []float32, j0, width int, y []float32) {
	clear(y[:width])
	for j := 0; j < width; {
		col := j0 + j
		jp, sub := col/pb.nr, col%pb.nr
		run := min(pb.nr-sub, width-j)
		base := jp * pb.k * pb.nr
		acc := y[j : j+run]
		for p, xv := range x {
			off := base + p*pb.nr + sub
			switch pb.wt {
			case asm.WeightF32:
				for q, v := range pb.f32[off : off+run] {
					acc[q] += xv * v
				}
			case asm.WeightBF16:
				for q, v := range pb.u16[off : off+run] {
					acc[q] += xv * tensor.BF16ToF32(v)
				}
			case asm.WeightF16:
				for q, v := range pb.u16[off : off+run] {
					acc[q] += xv * tensor.F16ToF32(v)
				}
			}
		}
		j += run
	}
}

// dot is a four-accumulator dot product (the compiler keeps the sums in registers).
func dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}
