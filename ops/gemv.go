package ops

import (
	"fmt"

	"github.com/lumen-ml/lumen/ops/asm"
	"github.com/lumen-ml/lumen/tensor"
)

// gemvJob serves M ≤ gemvMaxM. Each item is a range of 64-column blocks of one row
// of C, so B streams once per row and the threads split the columns. A row is summed
// exactly as the blocked GEMM sums it: KC slices in order, one multiply-add chain per
// column and slice, slices added (asm.Gemv64, or the narrow-panel loop for 8-wide
// tiles). With alpha 1 (or K within one KC slice) and beta 0, a row's result is
// therefore the same bits whatever M is and whichever path computes it: a sequence
// decoded alone and in a batch with others gets the same logits, and attention gives a
// query the same output however many queries share the call.
type gemvJob struct {
	l           asm.Level
	packed      *PackedB
	kc          int // the GEMM's KC for the level
	transB      bool
	b           []float32
	ldb         int
	m, n, k     int
	alpha, beta float32
	x           []float32 // the m rows of op(A), contiguous (k each)
	xbuf        []float32
	c           []float32
	ldc         int
	blocks      int // 64-column blocks per row
	chunks      int // items per row
	scratch     []workerScratch
}

func (g *gemvJob) setup(ws *Workspace, l asm.Level, transA bool, m, n, k int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) {
	g.l, g.kc = l, asm.BlockingFor(l).KC
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
	g.blocks = (n + 63) / 64
	g.chunks = min(g.blocks, 4*ws.threads())
	for w := range g.scratch {
		grow(&g.scratch[w].x, 64)
	}
}

func (g *gemvJob) runPacked(ws *Workspace, transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int) {
	g.setup(ws, pb.level, transA, m, pb.n, pb.k, alpha, a, lda, beta, c, ldc)
	g.packed = pb
	ws.run(m*g.chunks, g)
	g.packed, g.c, g.x = nil, nil, nil
}

func (g *gemvJob) runUnpacked(ws *Workspace, l asm.Level, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	g.setup(ws, l, transA, m, n, k, alpha, a, lda, beta, c, ldc)
	g.packed, g.transB, g.b, g.ldb = nil, transB, b, ldb
	for w := range g.scratch { // one size for every k: a decode step's growing key count allocates nothing
		grow(&g.scratch[w].kb, g.kc*64)
	}
	ws.run(m*g.chunks, g)
	g.b, g.c, g.x = nil, nil, nil
}

func (g *gemvJob) Do(w, item int) {
	row, ch := item/g.chunks, item%g.chunks
	b0, b1 := ch*g.blocks/g.chunks, (ch+1)*g.blocks/g.chunks
	x := g.x[row*g.k : row*g.k+g.k]
	s := &g.scratch[w]
	y := s.x[:64]
	crow := g.c[row*g.ldc : row*g.ldc+g.n]
	for blk := b0; blk < b1; blk++ {
		j0 := blk * 64
		width := min(64, g.n-j0)
		switch {
		case g.packed != nil && g.packed.nr < 16:
			gemvNarrowPanels(g.packed, x, j0, width, g.kc, y)
		case g.packed != nil:
			g.packedBlock(x, j0, width, y)
		default:
			g.unpackedBlock(x, j0, width, s.kb, y)
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

// unpackedBlock is packedBlock over op(B) as stored: a block of 64 whole columns of a
// row-major B is read in place; a transposed B, or the last block, is first gathered
// slice by slice into kb (KC×64, zero-padded) — the same values the GEMM's packing
// gives its micro-kernel.
func (g *gemvJob) unpackedBlock(x []float32, j0, width int, kb, y []float32) {
	if g.transB && asm.HasGemvT8(g.l) {
		g.transposedBlock(x, j0, width, kb, y)
		return
	}
	inPlace := !g.transB && width == 64
	for pc := 0; pc < g.k; pc += g.kc {
		kc := min(g.kc, g.k-pc)
		if inPlace {
			o := pc*g.ldb + j0
			g.gemv64(kc, x[pc:pc+kc], g.b, [4]int{o, o + 16, o + 32, o + 48}, g.ldb, y, pc > 0)
			continue
		}
		panel := kb[:kc*64]
		if g.transB { // column j of op(B) is row j0+j of B: read rows, write columns
			if width < 64 {
				clear(panel)
			}
			for j := 0; j < width; j++ {
				src := g.b[(j0+j)*g.ldb+pc : (j0+j)*g.ldb+pc+kc]
				for p, v := range src {
					panel[p*64+j] = v
				}
			}
		} else {
			for p := 0; p < kc; p++ {
				dst := panel[p*64 : p*64+64]
				copy(dst, g.b[(pc+p)*g.ldb+j0:(pc+p)*g.ldb+j0+width])
				clear(dst[width:])
			}
		}
		g.gemv64(kc, x[pc:pc+kc], panel, [4]int{0, 16, 32, 48}, 64, y, pc > 0)
	}
}

// transposedBlock is unpackedBlock for a transposed B on levels with asm.GemvT8: the
// columns of op(B) are rows of B, eight dot products at a time read in place (the last
// group of fewer rows copied into kb), each summed as the micro-kernel sums a column.
func (g *gemvJob) transposedBlock(x []float32, j0, width int, kb, y []float32) {
	var acc [8]float32
	for pc := 0; pc < g.k; pc += g.kc {
		kc := min(g.kc, g.k-pc)
		for jj := 0; jj < width; jj += 8 {
			rows := min(8, width-jj)
			src, ldb := g.b[(j0+jj)*g.ldb+pc:], g.ldb
			if rows < 8 {
				blk := kb[:8*kc]
				clear(blk[rows*kc:])
				for r := range rows {
					copy(blk[r*kc:(r+1)*kc], g.b[(j0+jj+r)*g.ldb+pc:])
				}
				src, ldb = blk, kc
			}
			if err := asm.GemvT8(g.l, kc, x[pc:pc+kc], src, ldb, acc[:]); err != nil {
				panic(fmt.Sprintf("ops: internal error: %v", err))
			}
			for r, v := range acc[:rows] {
				if pc == 0 {
					y[jj+r] = v
				} else {
					y[jj+r] = v + y[jj+r]
				}
			}
		}
	}
}

// gemv64 runs asm.Gemv64 on F32 columns: it sums as the level's micro-kernel does.
func (g *gemvJob) gemv64(k int, x, b []float32, off [4]int, ldb int, y []float32, add bool) {
	if err := asm.Gemv64(g.l, asm.WeightF32, k, x, b, nil, off, ldb, y, add); err != nil {
		panic(fmt.Sprintf("ops: internal error: %v", err))
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
