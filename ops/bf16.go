package ops

import (
	"errors"
	"fmt"

	"github.com/lumen-ml/lumen/ops/asm"
	"github.com/lumen-ml/lumen/tensor"
)

// ErrNoBF16 is wrapped by PackBBF16's error on a host without BF16 matrix
// instructions: the BF16 compute mode is refused there rather than emulated.
var ErrNoBF16 = errors.New("ops: BF16 compute is not available on this host")

// bf16Tiles is the storage of a PackedB for BF16 compute: ⌈n/32⌉ panels of kb blocks
// in asm.BF16Tiles's layout (zero past k and n).
type bf16Tiles struct {
	kern asm.BF16Kernel
	kb   int
	w    []uint16
}

func (t *bf16Tiles) bytes() int {
	if t == nil {
		return 0
	}
	return 2 * len(t.w)
}

// offset is the index of element (p, j) of op(B) in the tiles.
func (t *bf16Tiles) offset(p, j int) int { return asm.BF16Offset(t.kb, p, j) }

func (t *bf16Tiles) column(j, k int, dst []float32) {
	for p := range k {
		dst[p] = tensor.BF16ToF32(t.w[t.offset(p, j)])
	}
}

// PackBBF16 packs op(B) (k×n; B n×k when transB, PyTorch's Linear weight) for BF16
// compute: the values rounded to BF16 (nearest even) in the tile layout of the
// host's BF16 matrix instructions (AMX-BF16). Products with it (Linear, LinearAct,
// SgemmPacked) round each row of A to BF16 too, multiply the pairs exactly and sum in
// float32: about three significant digits per input, a relative error of ~2⁻⁸ per
// product term instead of 2⁻²⁴. It returns an error wrapping ErrNoBF16 where the host
// has no such instructions (asm.BF16Reason says why).
func PackBBF16(transB bool, k, n int, b []float32, ldb int) (*PackedB, error) {
	if ok, why := BF16Available(); !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoBF16, why)
	}
	return packBF16(asm.BestBF16, transB, k, n, b, ldb)
}

func packBF16(kern asm.BF16Kernel, transB bool, k, n int, b []float32, ldb int) (*PackedB, error) {
	if err := checkMatrix("B", transB, k, n, len(b), ldb); err != nil {
		return nil, err
	}
	t := &bf16Tiles{kern: kern, kb: max(1, (k+asm.BF16KB-1)/asm.BF16KB)}
	panels := (n + asm.BF16NR - 1) / asm.BF16NR
	t.w = weightSlice[uint16](t, panels*t.kb*asm.BF16PanelBlock)
	for j := range n {
		for p := range k {
			var v float32
			if transB {
				v = b[j*ldb+p]
			} else {
				v = b[p*ldb+j]
			}
			t.w[t.offset(p, j)] = tensor.F32ToBF16(v)
		}
	}
	return &PackedB{level: asm.Best, wt: asm.WeightBF16, k: k, n: n, nr: asm.BF16NR, bt: t}, nil
}

// BF16Available reports whether PackBBF16 works on this host, and why (the kernel
// chosen at start-up, or what it lacks).
func BF16Available() (ok bool, why string) {
	return asm.BestBF16 != asm.BF16Generic, asm.BF16Reason
}

// ComputesBF16 reports whether products with pb run in BF16 (PackBBF16).
func (pb *PackedB) ComputesBF16() bool { return pb.bt != nil }

// bf16Job runs a product with a BF16-compute B in two passes: the rows of op(A) are
// rounded to BF16 (one item per row), then blocks of bf16RowBlock rows × a range of
// panels are multiplied, 32 rows × all of K × those panels per kernel call, the
// block's bias and activation applied while it is in cache.
type bf16Job struct {
	convert     bool
	transA      bool
	x           []float32
	ldx         int
	pb          *PackedB
	bias        []float32
	act         Activation
	alpha, beta float32
	c           []float32
	ldc, m, lda int
	a           []uint16 // rows of op(A) in BF16: mPad × lda
	nIC, chunks int
	np          int
	scratch     []workerScratch
}

// bf16RowBlock is the rows one item multiplies (a multiple of asm.BF16MR); a block
// of panels stays in L2 while they pass.
const bf16RowBlock = 4 * asm.BF16MR

// bf16ChunkPanels is the most panels one item multiplies: 8 panels (256 columns) of
// K = 768 are 384 KiB, which stay in L2 across the item's rows.
const bf16ChunkPanels = 8

func (g *bf16Job) run(ws *Workspace, transA bool, m int, alpha float32, x []float32, ldx int, pb *PackedB, bias []float32, act Activation, beta float32, c []float32, ldc int) {
	g.transA, g.x, g.ldx, g.pb, g.bias, g.act = transA, x, ldx, pb, bias, act
	g.alpha, g.beta, g.c, g.ldc, g.m = alpha, beta, c, ldc, m
	g.scratch = ws.scratch
	g.lda = pb.bt.kb * asm.BF16KB
	mPad := (m + asm.BF16MR - 1) / asm.BF16MR * asm.BF16MR
	if cap(g.a) < mPad*g.lda {
		g.a = make([]uint16, mPad*g.lda)
	}
	g.a = g.a[:mPad*g.lda]
	for w := range g.scratch {
		s := &g.scratch[w]
		grow(&s.tile, max(len(s.tile), asm.BF16MR*bf16ChunkPanels*asm.BF16NR))
		if transA {
			grow(&s.x, max(len(s.x), pb.k))
		}
	}
	g.convert = true
	ws.run(m, g)
	clear(g.a[m*g.lda:])
	g.convert = false
	g.np = (pb.n + asm.BF16NR - 1) / asm.BF16NR
	g.nIC = (mPad + bf16RowBlock - 1) / bf16RowBlock
	g.chunks = (g.np + bf16ChunkPanels - 1) / bf16ChunkPanels
	ws.run(g.nIC*g.chunks, g)
	g.x, g.c, g.pb, g.bias = nil, nil, nil, nil
}

func (g *bf16Job) Do(w, item int) {
	s := &g.scratch[w]
	if g.convert {
		g.convertRow(s, item)
		return
	}
	ic, ch := item/g.chunks, item%g.chunks
	jp0, jp1 := ch*bf16ChunkPanels, min((ch+1)*bf16ChunkPanels, g.np)
	t, n := g.pb.bt, g.pb.n
	b := t.w[jp0*t.kb*asm.BF16PanelBlock : jp1*t.kb*asm.BF16PanelBlock]
	j0, j1 := jp0*asm.BF16NR, min(jp1*asm.BF16NR, n)
	direct := g.alpha == 1 && g.beta == 0 && jp1*asm.BF16NR <= n
	for i0 := ic * bf16RowBlock; i0 < min((ic+1)*bf16RowBlock, g.m); i0 += asm.BF16MR {
		a := g.a[i0*g.lda : (i0+asm.BF16MR)*g.lda]
		rows := min(asm.BF16MR, g.m-i0)
		if direct && rows == asm.BF16MR {
			mustBF16(t.kern, a, g.lda, b, t.kb, jp1-jp0, g.c[i0*g.ldc+j0:], g.ldc)
		} else {
			ldt := (jp1 - jp0) * asm.BF16NR
			mustBF16(t.kern, a, g.lda, b, t.kb, jp1-jp0, s.tile, ldt)
			for i := range rows {
				dst := g.c[(i0+i)*g.ldc+j0 : (i0+i)*g.ldc+j1]
				src := s.tile[i*ldt : i*ldt+j1-j0]
				for j, v := range src {
					if g.beta == 0 {
						dst[j] = g.alpha * v
					} else {
						dst[j] = g.alpha*v + g.beta*dst[j]
					}
				}
			}
		}
		if g.bias != nil {
			asm.AddRows(asm.Best, g.c[i0*g.ldc+j0:], g.ldc, rows, g.bias[j0:j1])
		}
		if g.act != ActIdentity {
			for row := i0; row < i0+rows; row++ {
				g.act.Forward(g.c[row*g.ldc+j0 : row*g.ldc+j1])
			}
		}
	}
}

// convertRow rounds row i of op(A) to BF16 into g.a, zero past K.
func (g *bf16Job) convertRow(s *workerScratch, i int) {
	k := g.pb.k
	var row []float32
	if g.transA {
		row = s.x[:k]
		for p := range row {
			row[p] = g.x[p*g.ldx+i]
		}
	} else {
		row = g.x[i*g.ldx : i*g.ldx+k]
	}
	dst := g.a[i*g.lda : (i+1)*g.lda]
	asm.F32ToBF16(asm.Best, dst[:k], row)
	clear(dst[k:])
}

func mustBF16(kern asm.BF16Kernel, a []uint16, lda int, b []uint16, kb, panels int, c []float32, ldc int) {
	if err := asm.BF16Tiles(kern, a, lda, b, kb, panels, c, ldc); err != nil {
		panic(fmt.Sprintf("ops: internal error: %v", err)) // the job sized these slices
	}
}
