package ops

import (
	"github.com/lumen-ml/lumen/ops/asm"
)

// convJob runs a stride-1 convolution with the indirect 6×16 kernel: no im2col
// matrix, the B rows are read straight from the (padded) input image. Items are
// images; each worker pads its image into private scratch.
type convJob struct {
	s          ConvShape
	x, y, bias []float32
	a          []float32 // the weight packed into 6-row panels
	ind        *asm.Indirect
	// With padding, output rows near the top and bottom read kernel rows that fall
	// entirely in the zero border: rows[oy] is a reduction over the kernel rows
	// [lo, hi) that can be non-zero (its own table and packed weight subset).
	rows    []int     // per output row, the index of its plan in plans (empty without padding)
	tiles   []int     // the wide kernel over a padded image: per tile of 32, its plan
	plans   []rowPlan // the distinct ones (the first nplans); buffers reused across calls
	nplans  int
	tables  []indirectTable // offset tables of the shapes seen, so that layers alternating in one workspace (training) reuse them
	abuf    []float32
	hp, wp  int
	scratch []workerScratch
}

// rowPlan is a reduction restricted to kernel rows [lo, hi).
type rowPlan struct {
	lo, hi int
	ind    *asm.Indirect
	a      []float32 // the weight's panels restricted to those rows
}

// indirectTable is the offset table of one input geometry and range of kernel rows:
// (C, padded H, padded W, KH, KW, first row, end row).
type indirectTable struct {
	key [7]int
	ind *asm.Indirect
}

// maxIndirectTables bounds the tables one workspace keeps: a network's convolutions,
// and per padded one a table for each range of kernel rows its output rows read.
const maxIndirectTables = 64

// conv2DIndirect is Conv2D for stride 1 on levels with the indirect kernel. The caller
// has validated the arguments.
func conv2DIndirect(ws *Workspace, y, x []float32, s ConvShape, weight, bias []float32) {
	j := &ws.conv
	k := s.C * s.KH * s.KW
	j.s, j.x, j.y, j.bias, j.scratch = s, x, y, bias, ws.scratch
	j.hp, j.wp = s.H+2*s.Padding, s.W+2*s.Padding
	j.ind = j.table(0, s.KH)
	mp := (s.OC + 5) / 6 * 6
	j.a = grow(&j.abuf, mp*k)
	packA(asm.Generic, j.a, false, weight, k, s.OC, 0, mp, 0, k, 6)
	j.rows, j.tiles, j.nplans = j.rows[:0], j.tiles[:0], 0
	switch {
	case j.wide() == wideInPlace:
	case j.wide() == widePadded && s.Padding > 0:
		j.planTiles(mp, j.paddedGroups())
	case s.Padding > 0:
		j.planRows(mp)
	}
	for w := range j.scratch {
		// Padded image plus slack for the last tiles' reads past the final row.
		grow(&j.scratch[w].x, s.C*j.hp*j.wp+j.wp+32)
		grow(&j.scratch[w].tile, 6*32)
	}
	ws.run(s.N, j)
	j.x, j.y, j.bias = nil, nil, nil
}

// table returns the offset table of kernel rows [lo, hi) for the current geometry.
func (j *convJob) table(lo, hi int) *asm.Indirect {
	s := j.s
	key := [7]int{s.C, j.hp, j.wp, s.KH, s.KW, lo, hi}
	for _, t := range j.tables {
		if t.key == key {
			return t.ind
		}
	}
	offs := make([]int32, 0, s.C*(hi-lo)*s.KW)
	for c := 0; c < s.C; c++ {
		for ky := lo; ky < hi; ky++ {
			for kx := 0; kx < s.KW; kx++ {
				offs = append(offs, int32(c*j.hp*j.wp+ky*j.wp+kx))
			}
		}
	}
	ind, _ := asm.NewIndirect(offs) // offsets are non-negative by construction
	if len(j.tables) == maxIndirectTables {
		j.tables = j.tables[1:]
	}
	j.tables = append(j.tables, indirectTable{key, ind})
	return ind
}

// planRows sets rows[oy] for a padded convolution: output row oy reads input rows
// oy+ky − pad, which exist for ky in [pad−oy, pad+H−oy); the other kernel rows only
// ever multiply the zero border. A narrow tile (OW ≤ 8) covers rows oy and oy+1 and
// takes the union. On the wide kernel (planTiles) a tile's plan is the union over the
// output rows it covers instead.
func (j *convJob) planRows(mp int) {
	s := j.s
	for oy := 0; oy < s.OH(); oy++ {
		last := oy
		if s.OW() <= 8 && oy+1 < s.OH() {
			last = oy + 1
		}
		j.rows = append(j.rows, j.planFor(oy, last, mp))
	}
}

// planTiles sets tiles[t] for the wide kernel over a padded image: tile t covers the
// output positions q ∈ [32t, 32t+32) of the padded-width plane (q = oy·wp + ox), and
// so output rows q/wp.
func (j *convJob) planTiles(mp, groups int) {
	s := j.s
	for g0 := 0; g0 < groups; g0 += 4 {
		first, last := 8*g0/j.wp, min(s.OH()-1, (8*min(g0+4, groups)-1)/j.wp)
		j.tiles = append(j.tiles, j.planFor(first, last, mp))
	}
}

// planFor returns the index in plans of the reduction over the kernel rows that
// output rows first…last read (creating it: its table and the packed weight's rows
// for it, mp rows of panels, repacked every call since the weight may change).
func (j *convJob) planFor(first, last, mp int) int {
	s := j.s
	k := s.C * s.KH * s.KW
	lo, hi := max(0, s.Padding-last), min(s.KH, s.Padding+s.H-first)
	if hi <= lo { // every kernel row reads the border: any one row gives the zeros
		lo, hi = 0, 1
	}
	for i := range j.nplans {
		if j.plans[i].lo == lo && j.plans[i].hi == hi {
			return i
		}
	}
	if j.nplans == len(j.plans) {
		j.plans = append(j.plans, rowPlan{})
	}
	p := &j.plans[j.nplans]
	j.nplans++
	p.lo, p.hi, p.ind = lo, hi, j.table(lo, hi)
	// Panel rows keep their order: c, then ky in [lo, hi), then kx.
	kk := s.C * (hi - lo) * s.KW
	p.a = grow(&p.a, mp*kk)
	for oc0 := 0; oc0 < mp; oc0 += 6 {
		src, dst := j.a[oc0*k:(oc0+6)*k], p.a[oc0*kk:(oc0+6)*kk]
		q := 0
		for c := 0; c < s.C; c++ {
			for ky := lo; ky < hi; ky++ {
				r := (c*s.KH + ky) * s.KW
				q += copy(dst[q:], src[r*6:(r+s.KW)*6])
			}
		}
	}
	return j.nplans - 1
}

// plan returns the table and packed weight for a tile whose first output row is oy.
func (j *convJob) plan(oy int) (*asm.Indirect, []float32) {
	if len(j.rows) == 0 {
		return j.ind, j.a
	}
	p := &j.plans[j.rows[oy]]
	return p.ind, p.a
}

func (j *convJob) Do(w, n int) {
	s := j.s
	ws := &j.scratch[w]
	switch j.wide() {
	case wideInPlace:
		j.doWide(ws, n)
		return
	case widePadded:
		j.doWidePadded(ws, n)
		return
	}
	img := j.padInto(ws.x, n)
	oh, ow := s.OH(), s.OW()
	npix := oh * ow
	out := j.y[n*s.OC*npix : (n+1)*s.OC*npix]
	for oc0 := 0; oc0 < s.OC; oc0 += 6 {
		rows := min(6, s.OC-oc0)
		// The reduction of a tile starting at output row oy: its table and panel.
		panel := func(oy int) (*asm.Indirect, []float32) {
			ind, a := j.plan(oy)
			k := ind.K()
			return ind, a[oc0*k : (oc0+6)*k]
		}
		if ow > 8 {
			// Tiles of 16 pixels along each output row; the last one overlaps its
			// neighbour rather than running past the row (C is overwritten, so
			// computing a pixel twice is harmless).
			for oy := 0; oy < oh; oy++ {
				ind, a := panel(oy)
				for ox0 := 0; ox0 < ow; ox0 += 16 {
					if ow >= 16 {
						ox0 = min(ox0, ow-16)
					}
					cols := min(16, ow-ox0)
					j.tile(ws, ind, a, img[oy*j.wp+ox0:], 8, out, oc0, rows, cols, func(q int) int { return oy*ow + ox0 + q })
				}
			}
			continue
		}
		// Narrow outputs: one tile covers two output rows of up to 8 pixels.
		for oy := 0; oy < oh; oy += 2 {
			pix := func(q int) int {
				if q < 8 {
					if q >= ow {
						return -1
					}
					return oy*ow + q
				}
				if q-8 >= ow || oy+1 >= oh {
					return -1
				}
				return (oy+1)*ow + q - 8
			}
			full := 16
			if ow != 8 || oy+1 >= oh {
				full = 0 // not one contiguous run of 16 outputs
			}
			ind, a := panel(oy)
			j.tile(ws, ind, a, img[oy*j.wp:], j.wp, out, oc0, rows, full, pix)
		}
	}
	if j.bias != nil {
		for c := 0; c < s.OC; c++ {
			b := j.bias[c]
			ch := out[c*npix : (c+1)*npix]
			for i := range ch {
				ch[i] += b
			}
		}
	}
}

// How a convolution uses the 6×32 kernel (SgemmIndirectWide), where the CPU has it.
const (
	wideNone    = iota // the 6×16 kernel
	wideInPlace        // no padding, output rows of whole groups of 8: the image where it lies, the output plane tiled exactly
	widePadded         // otherwise: the padded copy, tiled along its width (doWidePadded)
)

func (j *convJob) wide() int {
	switch {
	case !asm.HasIndirectWide(asm.Best):
		return wideNone
	case j.s.Padding == 0 && j.s.OW()%8 == 0:
		return wideInPlace
	}
	return widePadded
}

// paddedGroups is the number of groups of 8 positions q = oy·wp + ox of the
// padded-width output plane up to its last pixel.
func (j *convJob) paddedGroups() int {
	return ((j.s.OH()-1)*j.wp + j.s.OW() + 7) / 8
}

// doWide runs image n on the wide kernel: the output plane is oh·ow/8 groups of 8
// pixels in output order, four to a tile (the last tile overlaps its neighbour, as
// the 6×16 path's do), the bias added in the kernel.
func (j *convJob) doWide(ws *workerScratch, n int) {
	s := j.s
	oh, ow := s.OH(), s.OW()
	npix, perRow, groups := oh*ow, ow/8, oh*ow/8
	img := j.x[n*s.C*s.H*s.W : (n+1)*s.C*s.H*s.W]
	out := j.y[n*s.OC*npix : (n+1)*s.OC*npix]
	k := j.ind.K()
	for oc0 := 0; oc0 < s.OC; oc0 += 6 {
		rows := min(6, s.OC-oc0)
		a := j.a[oc0*k : (oc0+6)*k]
		bias := panelBias(&ws.bias16, j.bias, oc0, rows)
		for g0 := 0; g0 < groups; g0 += 4 {
			if groups >= 4 {
				g0 = min(g0, groups-4)
			}
			var g [4]int
			for q := range g {
				gi := min(g0+q, groups-1)
				g[q] = gi/perRow*s.W + gi%perRow*8
			}
			if rows == 6 && groups >= 4 {
				mustIndirect(asm.SgemmIndirectWide(asm.Best, j.ind, a, img, g, bias, out[oc0*npix+8*g0:], npix))
				continue
			}
			t := ws.tile[:6*32]
			mustIndirect(asm.SgemmIndirectWide(asm.Best, j.ind, a, img, g, bias, t, 32))
			cols := 8 * min(4, groups-g0)
			for i := range rows {
				copy(out[(oc0+i)*npix+8*g0:][:cols], t[i*32:i*32+cols])
			}
		}
	}
}

// doWidePadded runs image n on the wide kernel over its padded copy: output pixel
// (oy, ox) is position q = oy·wp + ox of a plane as wide as the padded image, so that
// a group of 8 consecutive positions reads 8 consecutive values of every kernel
// position; tiles of 4 groups go through the tile buffer and keep the positions with
// ox < OW (wp − OW = KW − 1 of every wp are discarded). The bias is added in the
// kernel; with padding, each tile reduces over the kernel rows its output rows can
// read (planTiles).
func (j *convJob) doWidePadded(ws *workerScratch, n int) {
	s := j.s
	img := j.padInto(ws.x, n)
	oh, ow := s.OH(), s.OW()
	npix := oh * ow
	out := j.y[n*s.OC*npix : (n+1)*s.OC*npix]
	groups := j.paddedGroups()
	for oc0 := 0; oc0 < s.OC; oc0 += 6 {
		rows := min(6, s.OC-oc0)
		bias := panelBias(&ws.bias16, j.bias, oc0, rows)
		for t, g0 := 0, 0; g0 < groups; t, g0 = t+1, g0+4 {
			ind, a := j.ind, j.a
			if len(j.tiles) > 0 {
				p := &j.plans[j.tiles[t]]
				ind, a = p.ind, p.a
			}
			k := ind.K()
			var g [4]int
			for q := range g {
				g[q] = 8 * min(g0+q, groups-1)
			}
			tile := ws.tile[:6*32]
			mustIndirect(asm.SgemmIndirectWide(asm.Best, ind, a[oc0*k:(oc0+6)*k], img, g, bias, tile, 32))
			// Positions 8·g0 … 8·g0+31, cut at the ends of the output rows.
			q0, q1 := 8*g0, min(8*g0+32, (oh-1)*j.wp+ow)
			for q := q0; q < q1; {
				oy, ox := q/j.wp, q%j.wp
				end := min(q1, oy*j.wp+j.wp)
				if ox < ow {
					m := min(end, oy*j.wp+ow) - q
					for i := range rows {
						copy(out[(oc0+i)*npix+oy*ow+ox:][:m], tile[i*32+q-q0:])
					}
				}
				q = end
			}
		}
	}
}

// padInto copies image n into dst with its zero border (dst's slack past the image
// stays zero) and returns dst.
func (j *convJob) padInto(dst []float32, n int) []float32 {
	s := j.s
	clear(dst)
	padImage(dst, j.x[n*s.C*s.H*s.W:], s, j.hp, j.wp)
	return dst
}

// padImage copies one C×H×W image of shape s into dst as C planes of hp×wp with s's
// padding as the border, which it leaves as dst has it (the callers clear dst).
func padImage(dst, img []float32, s ConvShape, hp, wp int) {
	for c := 0; c < s.C; c++ {
		for iy := 0; iy < s.H; iy++ {
			copy(dst[(c*hp+iy+s.Padding)*wp+s.Padding:], img[(c*s.H+iy)*s.W:(c*s.H+iy+1)*s.W])
		}
	}
}

// panelBias returns the bias of output channels oc0…oc0+rows−1 as the 6 values a
// panel's kernel starts from (in buf; the rows past rows are never stored), or nil
// without a bias.
func panelBias(buf *[16]float32, bias []float32, oc0, rows int) []float32 {
	if bias == nil {
		return nil
	}
	copy(buf[:rows], bias[oc0:oc0+rows])
	return buf[:6]
}

// tile computes output channels oc0..oc0+rows-1 for 16 pixels whose B rows start at
// base (second half at base+gap), reducing over ind's kernel positions with the
// matching weight panel a. When rows is 6 and cols is 16 the pixels are one
// contiguous run starting at pix(0) and the kernel stores straight into out;
// otherwise it goes through the worker's tile buffer and pix maps each of the 16
// positions to an output pixel (or -1 to drop it).
func (j *convJob) tile(ws *workerScratch, ind *asm.Indirect, a, base []float32, gap int, out []float32, oc0, rows, cols int, pix func(int) int) {
	npix := j.s.OH() * j.s.OW()
	if rows == 6 && cols == 16 {
		mustIndirect(asm.SgemmIndirect(asm.Best, ind, a, base, gap, out[oc0*npix+pix(0):], npix))
		return
	}
	t := ws.tile[:6*16]
	mustIndirect(asm.SgemmIndirect(asm.Best, ind, a, base, gap, t, 16))
	for q := 0; q < 16; q++ {
		o := pix(q)
		if o < 0 || (cols > 0 && q >= cols) {
			continue
		}
		for i := 0; i < rows; i++ {
			out[(oc0+i)*npix+o] = t[i*16+q]
		}
	}
}

func mustIndirect(err error) {
	if err != nil {
		panic("ops: internal error: " + err.Error())
	}
}
