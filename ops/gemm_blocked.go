package ops

import (
	"fmt"
	"unsafe"

	"github.com/lumen-ml/lumen/ops/asm"
	"github.com/lumen-ml/lumen/tensor"
)

// gemmJob is the BLIS-style loop nest over a packed B: for each NC column block, the
// items are (MC row block × range of NR panels); an item walks the KC slices itself
// (no barrier between slices). Each worker packs the A rows of its block into
// private scratch, one KC slice at a time as it first needs it, and keeps them for
// every other item of that block it runs; the micro-kernel runs over MR×NR tiles.
type gemmJob struct {
	call                 uint64
	bl                   asm.Blocking
	transA               bool
	m                    int
	alpha, beta          float32
	a                    []float32
	lda                  int
	pb                   *PackedB
	c                    []float32
	ldc                  int
	scratch              []workerScratch
	mc, nIC, chunks, nJR int
	jc, nc               int
	wholeA               bool // workers keep every KC slice of their A block (else one)
	// An unpacked B (raw: pb is &rawPB, which only describes the layout): each worker
	// packs the micro-panel it is about to use into its scratch, where it stays in
	// cache, instead of writing all of B out and reading it back.
	raw       bool
	rawB      []float32
	rawLdb    int
	rawTransB bool
	rawPB     PackedB // the layout of the packed panels (no storage)
	// The epilogue, applied to a block of C once its last K slice is done, while it
	// is still in cache (Linear's): bias (when not nil) added to every row, then act.
	bias []float32
	act  Activation
}

// maxPackedA bounds a worker's packed A scratch (floats): an MC×K block up to 16 MiB
// is kept whole; beyond that only the current KC slice is, and an item repacks it.
const maxPackedA = 4 << 20

func (g *gemmJob) run(ws *Workspace, transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int) {
	g.runReusingA(ws, false, transA, m, alpha, a, lda, pb, beta, c, ldc)
}

// runEpilogue is run that then adds bias (n values, or nil) to every row of C and
// applies act, block by block as each is finished: the values of AddBias and act
// after the product, without passes over C through memory.
func (g *gemmJob) runEpilogue(ws *Workspace, transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, bias []float32, act Activation, beta float32, c []float32, ldc int) {
	g.bias, g.act = bias, act
	g.runReusingA(ws, false, transA, m, alpha, a, lda, pb, beta, c, ldc)
	g.bias, g.act = nil, ActIdentity
}

// runRaw is run over an unpacked op(B) (k×n: B, or Bᵀ when transB), packed micro-panel
// by micro-panel as the workers reach them: for M within one MC block, where each
// micro-panel is used once, this saves writing the packed B to memory and reading it
// back (128×768×3072 at 1 thread on Zen 4: 75 → 85 GFLOP/s).
func (g *gemmJob) runRaw(ws *Workspace, l asm.Level, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	_, nr := asm.Tile(l)
	g.rawB, g.rawLdb, g.rawTransB = b, ldb, transB
	g.rawPB = PackedB{level: l, wt: asm.WeightF32, k: k, n: n, nr: nr}
	g.runReusingA(ws, false, transA, m, alpha, a, lda, &g.rawPB, beta, c, ldc)
	g.rawB = nil
}

// runReusingA is run; with reuseA the workers keep the A blocks they packed in the
// previous call, which the caller guarantees had the same A, shape and blocking.
func (g *gemmJob) runReusingA(ws *Workspace, reuseA, transA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int) {
	if !reuseA {
		g.call++
	}
	g.bl = asm.BlockingFor(pb.level)
	g.transA, g.m, g.alpha, g.beta, g.a, g.lda, g.pb, g.c, g.ldc = transA, m, alpha, beta, a, lda, pb, c, ldc
	g.raw = pb == &g.rawPB
	g.scratch = ws.scratch
	mr, nr := g.bl.MR, g.bl.NR
	// Row blocks of equal size (in whole tiles), no more than MC rows each: with
	// m = 1024 and MC = 336, four blocks of 264 rather than three of 336 and one of 16,
	// which two threads would share 672 to 352.
	g.nIC = (m + g.bl.MC - 1) / g.bl.MC
	g.mc = ((m+g.nIC-1)/g.nIC + mr - 1) / mr * mr
	g.nIC = (m + g.mc - 1) / g.mc
	g.wholeA = g.mc*pb.k <= maxPackedA
	for w := range g.scratch {
		s := &g.scratch[w]
		grow(&s.a, g.mc*min(pb.k, g.bl.KC))
		if g.wholeA {
			grow(&s.a, g.mc*pb.k)
		}
		grow(&s.tile, mr*nr)
		if pb.wt != asm.WeightF32 || g.raw {
			grow(&s.b, g.bl.KC*nr)
		}
	}
	for g.jc = 0; g.jc < pb.n; g.jc += g.bl.NC {
		g.nc = min(g.bl.NC, pb.n-g.jc)
		g.nJR = (g.nc + nr - 1) / nr
		g.chunks = 1
		if want := 2 * ws.threads(); g.nIC < want {
			g.chunks = min(g.nJR, (want+g.nIC-1)/g.nIC)
		}
		// One barrier per column block: each item walks the whole K range itself.
		ws.run(g.nIC*g.chunks, g)
	}
	g.a, g.c, g.pb = nil, nil, nil
}

func (g *gemmJob) Do(w, item int) {
	s := &g.scratch[w]
	ic, ch := item/g.chunks, item%g.chunks
	jr0, jr1 := ch*g.nJR/g.chunks, (ch+1)*g.nJR/g.chunks
	if jr0 == jr1 {
		return
	}
	k, kcMax := g.pb.k, g.bl.KC
	if key := (packKey{g.call, ic}); s.aKey != key {
		s.aKey, s.aLo, s.aHi = key, 0, 0
	}
	if g.wholeA && g.m <= smallM*g.bl.MR {
		// Few rows (a batch of decode steps): each B panel is read once, top to
		// bottom — one sequential stream through the weights, the next slice
		// prefetched while this one is used — with the C tiles kept in L1 across
		// the slices. The sums are the same: slices in order, added.
		for jr := jr0; jr < jr1; jr++ {
			for pc := 0; pc < k; pc += kcMax {
				g.panelSlice(s, ic, jr, pc, true) // panels are contiguous: the stream goes on
			}
		}
		return
	}
	for pc := 0; pc < k; pc += kcMax {
		for jr := jr0; jr < jr1; jr++ {
			g.panelSlice(s, ic, jr, pc, false)
		}
	}
}

// smallM is the most MR-row tiles for which Do walks B panel by panel.
const smallM = 4

// panelSlice multiplies the worker's A block ic by slice pc of B panel jr into C,
// packing the A slice first if the worker does not hold it. With prefetchNext, the
// tiles prefetch the stream that follows (F32 panels: half-precision ones are
// widened first, and prefetching them measured slower).
func (g *gemmJob) panelSlice(s *workerScratch, ic, jr, pc int, prefetchNext bool) {
	mr, nr, k := g.bl.MR, g.bl.NR, g.pb.k
	kc := min(g.bl.KC, k-pc)
	i0 := ic * g.mc
	mcur := min(g.mc, g.m-i0)
	betaEff := float32(1)
	if pc == 0 {
		betaEff = g.beta
	}
	// The worker's A block for ic, slice by slice, packed once per call however many
	// of ic's items (column chunks, column blocks) this worker runs.
	var aBlk []float32
	if g.wholeA {
		aBlk = s.a[pc*g.mc : pc*g.mc+g.mc*kc]
		if pc >= s.aHi {
			packA(g.pb.level, aBlk, g.transA, g.a, g.lda, g.m, i0, mcur, pc, kc, mr)
			s.aHi = pc + kc
		}
	} else {
		aBlk = s.a[:g.mc*kc]
		if pc != s.aLo || s.aHi != pc+kc {
			packA(g.pb.level, aBlk, g.transA, g.a, g.lda, g.m, i0, mcur, pc, kc, mr)
			s.aLo, s.aHi = pc, pc+kc
		}
	}
	j0 := g.jc + jr*nr
	ncur := min(nr, g.pb.n-j0)
	jp := j0 / nr
	off := jp*k*nr + pc*nr
	var bp []float32
	switch {
	case g.raw:
		bp = s.b[:kc*nr]
		g.packRaw(bp, pc, kc, j0, ncur)
	case g.pb.wt == asm.WeightF32:
		bp = g.pb.f32[off : off+kc*nr]
	case g.pb.wt == asm.WeightBF16:
		bp = s.b[:kc*nr]
		tensor.BF16ToF32Slice(bp, g.pb.u16[off:off+kc*nr])
	case g.pb.wt == asm.WeightF16:
		bp = s.b[:kc*nr]
		tensor.F16ToF32Slice(bp, g.pb.u16[off:off+kc*nr])
	}
	var next unsafe.Pointer
	short := asm.ShortRows(g.pb.level)
	for r0 := 0; r0 < mcur; r0 += mr {
		ap := aBlk[r0*kc : (r0+mr)*kc]
		row := i0 + r0
		mrows := min(mr, g.m-row)
		coff := row*g.ldc + j0
		if prefetchNext && g.pb.f32 != nil {
			// Every tile prefetches, each from a third further on: the requests are
			// spread over the slice's whole time instead of crowding its first tile
			// (measured 54 against 51 GFLOP/s for 16×768×50257 at 1 thread, Zen 3).
			if o := off + kc*nr + (r0/mr)*kc*nr/3; o < len(g.pb.f32) {
				next = unsafe.Pointer(&g.pb.f32[o])
			}
		}
		kernel := mustKernel
		if mrows <= short && short < mr { // an edge tile of few rows: the short kernel
			kernel = mustShortKernel
			if mrows == short && ncur == nr {
				kernel(g.pb.level, kc, ap, bp, g.c[coff:], g.ldc, g.alpha, betaEff, next)
				continue
			}
		} else if mrows == mr && ncur == nr {
			kernel(g.pb.level, kc, ap, bp, g.c[coff:], g.ldc, g.alpha, betaEff, next)
			continue
		}
		kernel(g.pb.level, kc, ap, bp, s.tile, nr, g.alpha, 0, next)
		for i := 0; i < mrows; i++ {
			dst := g.c[coff+i*g.ldc : coff+i*g.ldc+ncur]
			src := s.tile[i*nr : i*nr+ncur]
			if betaEff == 0 {
				copy(dst, src)
				continue
			}
			for j, v := range src {
				dst[j] = v + betaEff*dst[j]
			}
		}
	}
	if (g.bias != nil || g.act != ActIdentity) && pc+kc == k { // the block's sums are complete
		if g.bias != nil {
			asm.AddRows(asm.Best, g.c[i0*g.ldc+j0:], g.ldc, mcur, g.bias[j0:j0+ncur])
		}
		if g.act != ActIdentity {
			for row := i0; row < i0+mcur; row++ {
				g.act.Forward(g.c[row*g.ldc+j0 : row*g.ldc+j0+ncur])
			}
		}
	}
}

// packRaw packs rows pc..pc+kc-1, columns j0..j0+ncur-1 of the unpacked op(B) into
// the micro-panel bp (kc×NR, zero past ncur), as PackB would have laid them out.
func (g *gemmJob) packRaw(bp []float32, pc, kc, j0, ncur int) {
	nr, ldb := g.pb.nr, g.rawLdb
	switch {
	case !g.rawTransB && ncur == nr:
		if err := asm.PackB(g.pb.level, bp, g.rawB[pc*ldb+j0:], ldb, kc, 1); err != nil {
			panic(fmt.Sprintf("ops: internal error: %v", err))
		}
	case !g.rawTransB:
		for p := 0; p < kc; p++ {
			row := bp[p*nr : p*nr+nr]
			copy(row, g.rawB[(pc+p)*ldb+j0:(pc+p)*ldb+j0+ncur])
			clear(row[ncur:])
		}
	default: // column j of op(B) is row j0+j of B
		if ncur < nr {
			clear(bp)
		}
		for j := 0; j < ncur; j++ {
			for p, v := range g.rawB[(j0+j)*ldb+pc : (j0+j)*ldb+pc+kc] {
				bp[p*nr+j] = v
			}
		}
	}
}

func mustShortKernel(l asm.Level, k int, a, b, c []float32, ldc int, alpha, beta float32, next unsafe.Pointer) {
	if err := asm.SgemmKernelShort(l, k, a, b, c, ldc, alpha, beta, next); err != nil {
		panic(fmt.Sprintf("ops: internal error: %v", err)) // the loop nest sized these slices
	}
}

func mustKernel(l asm.Level, k int, a, b, c []float32, ldc int, alpha, beta float32, next unsafe.Pointer) {
	if err := asm.SgemmKernelPrefetch(l, k, a, b, c, ldc, alpha, beta, next); err != nil {
		panic(fmt.Sprintf("ops: internal error: %v", err)) // the loop nest sized these slices
	}
}

// packA packs rows i0..i0+mcur-1, columns pc..pc+kc-1 of op(A) into MR-row panels:
// panel r holds, for each p, the MR values of rows i0+r*MR.. (zero past m).
func packA(l asm.Level, dst []float32, transA bool, a []float32, lda, m, i0, mcur, pc, kc, mr int) {
	levelMR, _ := asm.Tile(l)
	for r0 := 0; r0 < mcur; r0 += mr {
		panel := dst[r0*kc : (r0+mr)*kc]
		rows := min(mr, m-(i0+r0))
		if transA { // column p of op(A) is the contiguous row pc+p of A
			for p := 0; p < kc; p++ {
				src := a[(pc+p)*lda+i0+r0:]
				d := panel[p*mr : p*mr+mr]
				copy(d, src[:rows])
				clear(d[rows:])
			}
			continue
		}
		src := a[(i0+r0)*lda+pc:]
		if mr != levelMR {
			asm.PackAGo(mr, panel, src, lda, rows, kc)
			continue
		}
		if err := asm.PackA(l, panel, src, lda, rows, kc); err != nil {
			panic(fmt.Sprintf("ops: internal error: %v", err))
		}
	}
}
