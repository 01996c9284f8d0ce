package ops

import (
	"fmt"

	"github.com/lumen-ml/lumen/ops/asm"
	"github.com/lumen-ml/lumen/tensor"
)

// gemvJob serves M ≤ gemvMaxM. Each item is a range of columns of one row of C, so B
// streams once per row and the threads split the columns. Over a packed B, a row is
// summed exactly as the blocked GEMM sums it (KC slices in order, one multiply-add
// chain per column and slice, slices added), so with alpha 1 and beta 0 — Linear —
// a row's result is the same bits whatever M is: a sequence decoded alone and in a
// batch with others gets the same logits. Over an unpacked B, items are 16-column
// groups summed by Gemv16.
type gemvJob struct {
	l           asm.Level
	packed      *PackedB
	kc          int // the GEMM's KC for the packed level
	transB      bool
	b           []float32
	ldb         int
	m, n, k     int
	alpha, beta float32
	x           []float32 // the m rows of op(A), contiguous (k each)
	xbuf        []float32
	c           []float32
	ldc         int
	groups      int // column units per row: 64-column blocks (packed) or 16-column groups
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
		grow(&g.scratch[w].x, 64)
	}
}

func (g *gemvJob) runPacked(ws *Workspace, transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int) {
	g.setup(ws, transA, m, pb.n, pb.k, alpha, a, lda, beta, c, ldc)
	g.packed, g.l, g.kc = pb, pb.level, asm.BlockingFor(pb.level).KC
	g.groups = (pb.n + 63) / 64
	g.chunks = min(g.groups, 4*ws.threads())
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
	y := g.scratch[w].x[:64]
	crow := g.c[row*g.ldc : row*g.ldc+g.n]
	unit := 16
	if g.packed != nil {
		unit = 64
	}
	for grp := g0; grp < g1; grp++ {
		j0 := grp * unit
		width := min(unit, g.n-j0)
		switch {
		case g.packed != nil && g.packed.nr < 16:
			gemvNarrowPanels(g.packed, x, j0, width, g.kc, y)
		case g.packed != nil:
			g.packedBlock(x, j0, width, y)
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

// packedBlock computes y[j] = Σ_p x[p]·B[p, j0+j] for the (up to) 64 columns from j0
// of a packed B at least 16 wide, KC slice by KC slice as the GEMM does.
func (g *gemvJob) packedBlock(x []float32, j0, width int, y []float32) {
	pb := g.packed
	var off [4]int
	for q := range off {
		col := j0 + 16*min(q, (width-1)/16) // past the last group: repeat it
		off[q] = col/pb.nr*pb.k*pb.nr + col%pb.nr
	}
	for pc := 0; pc < pb.k; pc += g.kc {
		kc := min(g.kc, pb.k-pc)
		o := off
		for q := range o {
			o[q] += pc * pb.nr
		}
		if err := asm.Gemv64(g.l, pb.wt, kc, x[pc:pc+kc], pb.f32, pb.u16, o, pb.nr, y, pc > 0); err != nil {
			panic(fmt.Sprintf("ops: internal error: %v", err))
		}
	}
}

// gemvNarrowPanels computes y[j] = Σ_p x[p]·B[p, j0+j] for panels narrower than 16
// (the NEON and generic tiles are 8 wide), KC slice by KC slice and one chain per
// column as their micro-kernels sum.
func gemvNarrowPanels(pb *PackedB, x []float32, j0, width, kc int, y []float32) {
	var accBuf [16]float32
	for j := 0; j < width; {
		col := j0 + j
		jp, sub := col/pb.nr, col%pb.nr
		run := min(pb.nr-sub, width-j, len(accBuf))
		base := jp * pb.k * pb.nr
		out := y[j : j+run]
		for pc := 0; pc < pb.k; pc += kc {
			acc := accBuf[:run]
			clear(acc)
			for p := pc; p < min(pc+kc, pb.k); p++ {
				xv := x[p]
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
			for q, v := range acc {
				if pc == 0 {
					out[q] = v
				} else {
					out[q] = v + out[q]
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
