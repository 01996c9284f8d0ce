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
	rows    []int           // per output row, the index of its plan in plans (empty without padding)
	plans   []rowPlan       // the distinct ones; buffers reused across calls
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
	j.rows = j.rows[:0]
	if s.Padding > 0 {
		j.planRows(mp)
	}
	for w := range j.scratch {
		// Padded image plus slack for the last tiles' reads past the final row.
		grow(&j.scratch[w].x, s.C*j.hp*j.wp+j.wp+24)
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
// takes the union. Each distinct range gets its table and the packed weight's rows
// for it (mp rows of panels), repacked every call since the weight may change.
func (j *convJob) planRows(mp int) {
	s := j.s
	k := s.C * s.KH * s.KW
	rng := func(oy int) (int, int) {
		lo, hi := max(0, s.Padding-oy), min(s.KH, s.Padding+s.H-oy)
		if s.OW() <= 8 && oy+1 < s.OH() {
			lo = max(0, s.Padding-oy-1)
		}
		if hi <= lo { // every kernel row reads the border: any one row gives the zeros
			return 0, 1
		}
		return lo, hi
	}
	n := 0
	for oy := 0; oy < s.OH(); oy++ {
		lo, hi := rng(oy)
		i := 0
		for i < n && (j.plans[i].lo != lo || j.plans[i].hi != hi) {
			i++
		}
		if i == n {
			if n == len(j.plans) {
				j.plans = append(j.plans, rowPlan{})
			}
			p := &j.plans[n]
			n++
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
		}
		j.rows = append(j.rows, i)
	}
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
	if j.wide() {
		j.doWide(ws, n)
		return
	}
	img := ws.x
	// Pad the image (zero border) into scratch; the slack after it stays zero.
	clear(img)
	for c := 0; c < s.C; c++ {
		for iy := 0; iy < s.H; iy++ {
			src := j.x[((n*s.C+c)*s.H+iy)*s.W : ((n*s.C+c)*s.H+iy+1)*s.W]
			copy(img[(c*j.hp+iy+s.Padding)*j.wp+s.Padding:], src)
		}
	}
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

// wide reports whether the convolution runs on the 6×32 kernel (SgemmIndirectWide):
// output rows in whole groups of 8 pixels and no padding, so that the kernel reads
// the image where it lies (every read is inside the image) and tiles the output
// plane with nothing computed twice.
func (j *convJob) wide() bool {
	return asm.HasIndirectWide(asm.Best) && j.s.Padding == 0 && j.s.OW()%8 == 0
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
		var bias []float32
		if j.bias != nil {
			bias = ws.bias16[:6]
			copy(bias, j.bias[oc0:oc0+rows]) // the panel's padding rows are dropped
		}
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
