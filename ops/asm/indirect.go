package asm

import (
	"fmt"
	"slices"
)

// Indirect is a validated table of B-row offsets for SgemmIndirect: row p of the B
// operand starts at base[Offs[p]]. For a stride-1 convolution, Offs[p] for tap
// p = (c, ky, kx) is c·H·W + ky·W + kx, the same for every output tile.
type Indirect struct {
	offs   []int32
	maxOff int
}

// NewIndirect validates offs (non-negative) and keeps a copy.
func NewIndirect(offs []int32) (*Indirect, error) {
	if len(offs) == 0 {
		return nil, fmt.Errorf("asm: NewIndirect: empty offset table")
	}
	m := int32(0)
	for p, o := range offs {
		if o < 0 {
			return nil, fmt.Errorf("asm: NewIndirect: offset %d is %d", p, o)
		}
		m = max(m, o)
	}
	return &Indirect{offs: slices.Clone(offs), maxOff: int(m)}, nil
}

// K returns the number of B rows (the reduction length).
func (ind *Indirect) K() int { return len(ind.offs) }

// HasIndirect reports whether level l has an assembly SgemmIndirect; elsewhere the Go
// twin runs, and im2col with the ordinary GEMM is faster.
func HasIndirect(l Level) bool { return Available(l) && (l == AVX2 || l == AVX512) }

// SgemmIndirect computes one 6×16 tile without an im2col buffer:
//
//	C[i*ldc+j] = Σ_p a[p*6+i] · B_p[j],   B_p[j] = base[offs[p]+j] (j < 8),
//	                                       base[offs[p]+gap+j−8] (8 ≤ j < 16)
//
// a is a packed 6-row A panel of K columns; C is overwritten. gap is 8 when the 16
// outputs are one contiguous run, or the input row stride when they are two rows of 8.
func SgemmIndirect(l Level, ind *Indirect, a, base []float32, gap int, c []float32, ldc int) error {
	k := len(ind.offs)
	if gap < 0 || len(a) < 6*k || ldc < 16 || len(c) < 5*ldc+16 || len(base) < ind.maxOff+max(gap, 0)+8 || len(base) < ind.maxOff+8 {
		return fmt.Errorf("asm: SgemmIndirect k=%d gap=%d ldc=%d: slices too short (a %d, base %d for offsets up to %d, c %d)", k, gap, ldc, len(a), len(base), ind.maxOff, len(c))
	}
	if !Available(l) {
		return fmt.Errorf("asm: level %v is not supported by this CPU", l)
	}
	if indirectArch(l, k, a, base, ind.offs, gap, c, ldc) {
		return nil
	}
	SgemmIndirectGo(k, a, base, ind.offs, gap, c, ldc)
	return nil
}

// SgemmIndirectGo is the pure-Go twin of the indirect kernel.
func SgemmIndirectGo(k int, a, base []float32, offs []int32, gap int, c []float32, ldc int) {
	var acc [6 * 16]float32
	for p := 0; p < k; p++ {
		o := int(offs[p])
		lo, hi := base[o:o+8], base[o+gap:o+gap+8]
		for i := 0; i < 6; i++ {
			av := a[p*6+i]
			row := acc[i*16 : i*16+16]
			for j, v := range lo {
				row[j] += av * v
			}
			for j, v := range hi {
				row[8+j] += av * v
			}
		}
	}
	for i := 0; i < 6; i++ {
		copy(c[i*ldc:i*ldc+16], acc[i*16:i*16+16])
	}
}

// HasIndirectWide reports whether level l has an assembly SgemmIndirectWide (AVX-512);
// elsewhere its Go twin runs and SgemmIndirect is the faster choice.
func HasIndirectWide(l Level) bool { return Available(l) && l == AVX512 }

// SgemmIndirectWide computes one 6×32 tile whose 32 pixels are four groups of 8 at
// base offsets g[0..3], starting from a bias:
//
//	C[i*ldc+j] = bias[i] + Σ_p a[p*6+i] · base[offs[p] + g[j/8] + j%8]
//
// (bias nil: zero). A convolution's output rows that are multiples of 8 pixels wide
// tile into such groups with nothing computed twice; the twelve accumulators hide
// the FMA latency the 6×16 kernel's six cannot. a is a 6-row panel (6·k values), C is
// overwritten. It returns an error if a slice is short or a group offset negative.
func SgemmIndirectWide(l Level, ind *Indirect, a, base []float32, g [4]int, bias, c []float32, ldc int) error {
	k := len(ind.offs)
	gmax := max(g[0], g[1], g[2], g[3])
	if min(g[0], g[1], g[2], g[3]) < 0 || len(a) < 6*k || ldc < 32 || len(c) < 5*ldc+32 || len(base) < ind.maxOff+gmax+8 || (bias != nil && len(bias) < 6) {
		return fmt.Errorf("asm: SgemmIndirectWide k=%d groups %v ldc=%d: slices too short or offsets negative (a %d, base %d for offsets up to %d, bias %d, c %d)", k, g, ldc, len(a), len(base), ind.maxOff, len(bias), len(c))
	}
	if !Available(l) {
		return fmt.Errorf("asm: level %v is not supported by this CPU", l)
	}
	if indirectWideArch(l, k, a, base, ind.offs, &g, bias, c, ldc) {
		return nil
	}
	SgemmIndirectWideGo(k, a, base, ind.offs, g, bias, c, ldc)
	return nil
}

// SgemmIndirectWideGo is the pure-Go twin of the wide indirect kernel.
func SgemmIndirectWideGo(k int, a, base []float32, offs []int32, g [4]int, bias, c []float32, ldc int) {
	var acc [6 * 32]float32
	if bias != nil {
		for i := range 6 {
			for j := range 32 {
				acc[i*32+j] = bias[i]
			}
		}
	}
	for p := 0; p < k; p++ {
		for q, gq := range g {
			b := base[int(offs[p])+gq:][:8]
			for i := 0; i < 6; i++ {
				av := a[p*6+i]
				row := acc[i*32+8*q : i*32+8*q+8]
				for j, v := range b {
					row[j] += av * v
				}
			}
		}
	}
	for i := 0; i < 6; i++ {
		copy(c[i*ldc:i*ldc+32], acc[i*32:i*32+32])
	}
}

// Outer-product indirect tile geometry: OuterRows image rows of OuterCols columns,
// OuterLanes rows of A.
const (
	OuterRows  = 4
	OuterCols  = 6
	OuterLanes = 16
)

// HasIndirectOuter reports whether level l has an assembly SgemmIndirectOuter
// (AVX-512); elsewhere its Go twin runs.
func HasIndirectOuter(l Level) bool { return Available(l) && l == AVX512 }

// SgemmIndirectOuter computes the tile with the roles of SgemmIndirect's operands
// turned around — 16 rows of A side by side in a vector, B broadcast:
//
//	C[(r·6+x)·16 + i] = Σ_p a[p·16+i] · base[offs[p] + rows[r] + x],   r < 4, x < 6, i < 16
//
// A convolution's weight gradient is this with A = 16 channels of the output gradient
// at pixel p and B the image around p: one call gives 4 kernel rows × up to 6 kernel
// columns for 16 output channels, every lane used (SgemmIndirect's 6×16 tile of the
// same gradient keeps KW of each 8 columns). C (384 values) is overwritten. It returns
// an error if a slice is short or a row offset negative.
func SgemmIndirectOuter(l Level, ind *Indirect, a, base []float32, rows [OuterRows]int, c []float32) error {
	k := len(ind.offs)
	if min(rows[0], rows[1], rows[2], rows[3]) < 0 || len(a) < OuterLanes*k || len(c) < OuterRows*OuterCols*OuterLanes ||
		len(base) < ind.maxOff+max(rows[0], rows[1], rows[2], rows[3])+OuterCols {
		return fmt.Errorf("asm: SgemmIndirectOuter k=%d rows %v: slices too short or offsets negative (a %d, base %d for offsets up to %d, c %d)", k, rows, len(a), len(base), ind.maxOff, len(c))
	}
	if !Available(l) {
		return fmt.Errorf("asm: level %v is not supported by this CPU", l)
	}
	if indirectOuterArch(l, k, a, base, ind.offs, &rows, c) {
		return nil
	}
	SgemmIndirectOuterGo(k, a, base, ind.offs, rows, c)
	return nil
}

// SgemmIndirectOuterGo is the pure-Go twin of the outer-product indirect kernel.
func SgemmIndirectOuterGo(k int, a, base []float32, offs []int32, rows [OuterRows]int, c []float32) {
	var acc [OuterRows * OuterCols * OuterLanes]float32
	for p := 0; p < k; p++ {
		av := a[p*OuterLanes : (p+1)*OuterLanes]
		for r, ro := range rows {
			b := base[int(offs[p])+ro:][:OuterCols]
			for x, bv := range b {
				t := acc[(r*OuterCols+x)*OuterLanes:][:OuterLanes]
				for i, v := range av {
					t[i] += v * bv
				}
			}
		}
	}
	copy(c, acc[:])
}
