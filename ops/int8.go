package ops

import (
	"fmt"
	"math"

	"github.com/lumen-ml/lumen/ops/asm"
)

// quantized is the storage of an int8 PackedB: ⌈n/16⌉ panels of k4 groups of 64
// bytes (asm.I8Kernel's layout; rows past k and columns past n are zero), and per
// column (padded to whole panels) the scale and the scale times the column's sum.
// k4 is ⌈k/4⌉, rounded up to whole AMX blocks where amx (asm.HasAMXInt8, and K at
// least one block of 64): products of 32 rows or more then run on the tiles.
type quantized struct {
	k4       int
	amx      bool
	w        []int8
	colScale []float32
	colSum   []float32
}

func (q *quantized) bytes() int {
	if q == nil {
		return 0
	}
	return len(q.w) + 4*(len(q.colScale)+len(q.colSum))
}

// column writes the dequantised column j (k values).
func (q *quantized) column(j, k int, dst []float32) {
	panel := q.w[j/asm.I8NR*q.k4*64:]
	s := q.colScale[j]
	for p := range k {
		dst[p] = float32(panel[p/4*64+4*(j%asm.I8NR)+p%4]) * s
	}
}

// packI8 quantises op(B) (k×n) per column: scale = max|column|/127, values rounded
// half to even into [-127, 127].
func packI8(l asm.Level, transB bool, k, n int, b []float32, ldb int) (*PackedB, error) {
	if k > asm.I8MaxK {
		return nil, fmt.Errorf("%w: an int8 matrix holds at most K = %d rows (the int32 sums), not %d", ErrArgs, asm.I8MaxK, k)
	}
	at := func(p, j int) float32 {
		if transB {
			return b[j*ldb+p]
		}
		return b[p*ldb+j]
	}
	panels := (n + asm.I8NR - 1) / asm.I8NR
	q := &quantized{k4: (k + 3) / 4, amx: asm.HasAMXInt8(l) && k >= 4*asm.I8AMXK4}
	if q.amx {
		q.k4 = (q.k4 + asm.I8AMXK4 - 1) / asm.I8AMXK4 * asm.I8AMXK4
	}
	q.w = weightSlice[int8](q, panels*q.k4*64)
	q.colScale = make([]float32, panels*asm.I8NR)
	q.colSum = make([]float32, panels*asm.I8NR)
	for j := range n {
		var peak float32
		for p := range k {
			v := at(p, j)
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("%w: int8 quantisation of a matrix holding %v (row %d, column %d)", ErrArgs, v, p, j)
			}
			peak = max(peak, float32(math.Abs(float64(v))))
		}
		scale := peak / 127
		inv := float32(0)
		if scale > 0 {
			inv = 1 / scale
		}
		panel := q.w[j/asm.I8NR*q.k4*64:]
		sum := int32(0)
		for p := range k {
			v := int32(math.RoundToEven(float64(at(p, j) * inv)))
			v = min(max(v, -127), 127)
			panel[p/4*64+4*(j%asm.I8NR)+p%4] = int8(v)
			sum += v
		}
		q.colScale[j] = scale
		q.colSum[j] = scale * float32(sum)
	}
	_, nr := asm.Tile(l)
	return &PackedB{level: l, wt: asm.WeightI8, k: k, n: n, nr: nr, q: q}, nil
}

// i8Job runs a product with an int8 B in two passes: the rows of op(A) are quantised
// (one item per row), then tiles of I8MR rows × 16 columns are multiplied, items
// being a block of rows × a range of panels as in the blocked GEMM. The sums are
// exact, so a row's result is the same bits whatever M is and however the work is
// split: the one-row kernel (M ≤ gemvMaxM), the six-row one and the AMX tiles (32
// rows × pairs of panels, where the weights were packed for them) agree.
type i8Job struct {
	quantize            bool
	l                   asm.Level
	transA              bool
	x                   []float32
	ldx                 int
	pb                  *PackedB
	bias                []float32
	act                 Activation // applied per finished block (ActIdentity: none)
	alpha, beta         float32
	c                   []float32
	ldc, m, lda         int
	a                   []uint8   // quantised rows: mPad × lda
	rowScale, rowZero   []float32 // mPad
	mc, nIC, chunks, np int
	scratch             []workerScratch
}

// i8RowBlock is the rows of A (a multiple of I8MR) one item multiplies; with the
// AMX tiles i8AMXRowBlock (a multiple of I8AMXMR) and at most i8AMXChunkPanels
// panels (256 columns: 192 KiB of weights at K = 768, in L2 across the rows).
const (
	i8RowBlock       = 8 * asm.I8MR
	i8AMXRowBlock    = 4 * asm.I8AMXMR
	i8AMXChunkPanels = 16
)

// run computes C = alpha·op(A)·B + beta·C + bias, then act, which is applied per
// block while it is in cache where whole panels allow (n a multiple of 16: the
// activation's vector body then covers the same values as one pass over C would),
// else over C at the end.
func (g *i8Job) run(ws *Workspace, transA bool, m int, alpha float32, x []float32, ldx int, pb *PackedB, bias []float32, act Activation, beta float32, c []float32, ldc int) {
	g.l, g.transA, g.x, g.ldx, g.pb, g.bias = pb.level, transA, x, ldx, pb, bias
	g.act = act
	if pb.n%asm.I8NR != 0 {
		g.act = ActIdentity
	}
	g.alpha, g.beta, g.c, g.ldc, g.m = alpha, beta, c, ldc, m
	g.scratch = ws.scratch
	g.lda = pb.q.k4 * 4
	// Rows padded past whole six-row tiles by one more: the six-row tiles of the rows
	// left after the AMX blocks start at a multiple of 32, not of 6.
	mPad := (m+asm.I8MR-1)/asm.I8MR*asm.I8MR + asm.I8MR
	if cap(g.a) < mPad*g.lda {
		g.a = make([]uint8, mPad*g.lda)
	}
	g.a = g.a[:mPad*g.lda]
	g.rowScale = grow(&g.rowScale, mPad)
	g.rowZero = grow(&g.rowZero, mPad)
	for w := range g.scratch {
		s := &g.scratch[w]
		grow(&s.tile, max(len(s.tile), asm.I8MR*asm.I8NR))
		if transA {
			grow(&s.x, max(len(s.x), pb.k))
		}
	}
	// Pass 1: quantise the rows (pad rows: zero, their results are dropped).
	g.quantize = true
	ws.run(m, g)
	clear(g.a[m*g.lda:])
	clear(g.rowScale[m:])
	clear(g.rowZero[m:])
	// Pass 2: multiply.
	g.quantize = false
	g.np = (pb.n + asm.I8NR - 1) / asm.I8NR
	switch {
	case m <= gemvMaxM:
		g.mc, g.nIC = mPad, 1
	default:
		g.mc = i8RowBlock
		if pb.q.amx {
			g.mc = i8AMXRowBlock
		}
		g.nIC = (m + g.mc - 1) / g.mc
	}
	g.chunks = 1
	if want := 2 * ws.threads(); g.nIC < want {
		g.chunks = min(g.np, (want+g.nIC-1)/g.nIC)
	}
	if pb.q.amx && m > gemvMaxM {
		g.chunks = max(g.chunks, (g.np+i8AMXChunkPanels-1)/i8AMXChunkPanels)
	}
	ws.run(g.nIC*g.chunks, g)
	if g.act != act {
		act.Forward(c[:m*ldc])
	}
	g.x, g.c, g.pb, g.bias = nil, nil, nil, nil
}

func (g *i8Job) Do(w, item int) {
	s := &g.scratch[w]
	if g.quantize {
		g.quantizeRow(s, item)
		return
	}
	ic, ch := item/g.chunks, item%g.chunks
	jp0, jp1 := ch*g.np/g.chunks, (ch+1)*g.np/g.chunks
	i0 := ic * g.mc
	i1 := min(i0+g.mc, g.m)
	if g.act != ActIdentity {
		defer g.activate(i0, i1, jp0, jp1)
	}
	q := g.pb.q
	switch {
	case g.m <= gemvMaxM:
		jp0 = g.gemv64(jp0, jp1)
	case q.amx && g.beta == 0:
		// Whole blocks of 32 rows × pairs of whole panels on the tiles; the six-row
		// kernel takes the rows and panels left over.
		r1 := i0 + (i1-i0)/asm.I8AMXMR*asm.I8AMXMR
		p1 := jp0 + max(0, min(jp1, g.pb.n/asm.I8NR)-jp0)/2*2
		if r1 > i0 && p1 > jp0 {
			j0, j1 := jp0*asm.I8NR, p1*asm.I8NR
			ep := asm.I8Epilogue{ColScale: q.colScale[j0:j1], ColSum: q.colSum[j0:j1]}
			if g.bias != nil {
				ep.Bias = g.bias[j0:j1]
			}
			b := q.w[jp0*q.k4*64 : p1*q.k4*64]
			for r := i0; r < r1; r += asm.I8AMXMR {
				ep.RowScale, ep.RowZero = g.rowScale[r:r+asm.I8AMXMR], g.rowZero[r:r+asm.I8AMXMR]
				if err := asm.I8AMXTiles(g.l, q.k4, (p1-jp0)/2, g.a[r*g.lda:(r+asm.I8AMXMR)*g.lda], g.lda, b, g.c[r*g.ldc+j0:], g.ldc, &ep); err != nil {
					panic(fmt.Sprintf("ops: internal error: %v", err))
				}
			}
			g.panels(s, i0, r1, p1, jp1)
			i0 = r1
		}
	}
	g.panels(s, i0, i1, jp0, jp1)
}

// activate applies the activation to rows i0..i1-1, panels jp0..jp1-1 of C.
func (g *i8Job) activate(i0, i1, jp0, jp1 int) {
	j0, j1 := jp0*asm.I8NR, min(jp1*asm.I8NR, g.pb.n)
	for r := i0; r < i1; r++ {
		g.act.Forward(g.c[r*g.ldc+j0 : r*g.ldc+j1])
	}
}

// gemv64 runs the one-row kernel over four panels at a time (four weight streams)
// from panel jp0, and returns the first panel it left.
func (g *i8Job) gemv64(jp0, jp1 int) int {
	q := g.pb.q
	if g.beta != 0 {
		return jp0
	}
	for ; jp0+4 <= jp1 && (jp0+4)*asm.I8NR <= g.pb.n; jp0 += 4 {
		j0 := jp0 * asm.I8NR
		ep := asm.I8Epilogue{ColScale: q.colScale[j0 : j0+64], ColSum: q.colSum[j0 : j0+64]}
		if g.bias != nil {
			ep.Bias = g.bias[j0 : j0+64]
		}
		b := q.w[jp0*q.k4*64 : (jp0+4)*q.k4*64]
		for r := range g.m {
			ep.RowScale, ep.RowZero = g.rowScale[r:r+1], g.rowZero[r:r+1]
			if err := asm.I8Gemv64(g.l, q.k4, g.a[r*g.lda:(r+1)*g.lda], b, q.k4*64, g.c[r*g.ldc+j0:r*g.ldc+j0+64], &ep); err != nil {
				panic(fmt.Sprintf("ops: internal error: %v", err))
			}
		}
	}
	return jp0
}

// panels multiplies rows i0..i1-1 by panels jp0..jp1-1 with I8Kernel: the whole
// six-row tiles of two whole panels at once (I8TilesPair), the rest panel by panel.
func (g *i8Job) panels(s *workerScratch, i0, i1, jp0, jp1 int) {
	q := g.pb.q
	for jp := jp0; jp < jp1 && i0 < i1; jp++ {
		tiles := 0
		if g.m > gemvMaxM && g.beta == 0 {
			tiles = (i1 - i0) / asm.I8MR
		}
		if tiles == 0 || jp+1 >= jp1 || (jp+2)*asm.I8NR > g.pb.n {
			g.panel(s, jp, i0, i1)
			continue
		}
		j0 := jp * asm.I8NR
		ep := asm.I8Epilogue{ColScale: q.colScale[j0 : j0+32], ColSum: q.colSum[j0 : j0+32],
			RowScale: g.rowScale[i0 : i0+tiles*asm.I8MR], RowZero: g.rowZero[i0 : i0+tiles*asm.I8MR]}
		if g.bias != nil {
			ep.Bias = g.bias[j0 : j0+32]
		}
		b := q.w[jp*q.k4*64 : (jp+2)*q.k4*64]
		if err := asm.I8TilesPair(g.l, tiles, q.k4, g.a[i0*g.lda:(i0+tiles*asm.I8MR)*g.lda], g.lda, b, g.c[i0*g.ldc+j0:], g.ldc, &ep); err != nil {
			panic(fmt.Sprintf("ops: internal error: %v", err))
		}
		g.panel(s, jp, i0+tiles*asm.I8MR, i1)
		g.panel(s, jp+1, i0+tiles*asm.I8MR, i1)
		jp++
	}
}

// panel multiplies rows i0..i1-1 by panel jp: six-row tiles (one-row ones for
// M ≤ gemvMaxM), straight into C where whole, through the worker's tile otherwise
// (a partial panel, the last rows, beta ≠ 0).
func (g *i8Job) panel(s *workerScratch, jp, i0, i1 int) {
	q := g.pb.q
	j0 := jp * asm.I8NR
	ncur := min(asm.I8NR, g.pb.n-j0)
	ep := asm.I8Epilogue{ColScale: q.colScale[j0 : j0+asm.I8NR], ColSum: q.colSum[j0 : j0+asm.I8NR]}
	if g.bias != nil {
		if ncur == asm.I8NR {
			ep.Bias = g.bias[j0 : j0+asm.I8NR]
		} else {
			ep.Bias = s.bias16[:]
			clear(ep.Bias)
			copy(ep.Bias, g.bias[j0:j0+ncur])
		}
	}
	b := q.w[jp*q.k4*64 : (jp+1)*q.k4*64]
	mr := asm.I8MR
	if g.m <= gemvMaxM {
		mr = 1
	}
	r0 := i0
	if full := i1 - i0; mr == asm.I8MR && ncur == asm.I8NR && g.beta == 0 && full >= asm.I8MR {
		// The whole tiles of the block in one call.
		tiles := full / asm.I8MR
		ep.RowScale, ep.RowZero = g.rowScale[i0:i0+tiles*mr], g.rowZero[i0:i0+tiles*mr]
		if err := asm.I8Tiles(g.l, tiles, q.k4, g.a[i0*g.lda:(i0+tiles*mr)*g.lda], g.lda, b, g.c[i0*g.ldc+j0:], g.ldc, &ep); err != nil {
			panic(fmt.Sprintf("ops: internal error: %v", err))
		}
		r0 += tiles * mr
	}
	for ; r0 < i1; r0 += mr {
		mrows := min(mr, i1-r0)
		ep.RowScale, ep.RowZero = g.rowScale[r0:r0+mr], g.rowZero[r0:r0+mr]
		a := g.a[r0*g.lda : (r0+mr-1)*g.lda+g.lda]
		if mrows == mr && ncur == asm.I8NR && g.beta == 0 {
			mustI8(g.l, mr, q.k4, a, g.lda, b, g.c[r0*g.ldc+j0:], g.ldc, &ep)
			continue
		}
		mustI8(g.l, mr, q.k4, a, g.lda, b, s.tile, asm.I8NR, &ep)
		for i := range mrows {
			dst := g.c[(r0+i)*g.ldc+j0 : (r0+i)*g.ldc+j0+ncur]
			src := s.tile[i*asm.I8NR : i*asm.I8NR+ncur]
			if g.beta == 0 {
				copy(dst, src)
				continue
			}
			for j, v := range src {
				dst[j] = v + g.beta*dst[j]
			}
		}
	}
}

// quantizeRow quantises row i of op(A) into g.a, folding alpha into its scale.
func (g *i8Job) quantizeRow(s *workerScratch, i int) {
	k := g.pb.k
	var row []float32
	if g.transA { // row i of op(A) is column i of A
		row = s.x[:k]
		for p := range row {
			row[p] = g.x[p*g.ldx+i]
		}
	} else {
		row = g.x[i*g.ldx : i*g.ldx+k]
	}
	dst := g.a[i*g.lda : (i+1)*g.lda]
	scale, zero := asm.I8QuantizeRow(g.l, dst, row)
	clear(dst[k:]) // the padding of K: its weights are zero
	scale *= g.alpha
	g.rowScale[i] = scale
	g.rowZero[i] = scale * float32(zero)
}

func mustI8(l asm.Level, mr, k4 int, a []uint8, lda int, b []int8, c []float32, ldc int, ep *asm.I8Epilogue) {
	if err := asm.I8Kernel(l, mr, k4, a, lda, b, c, ldc, ep); err != nil {
		panic(fmt.Sprintf("ops: internal error: %v", err)) // the job sized these slices
	}
}
