//go:build !purego

package asm

import "math"

//go:noescape
func qgemvQ4_0AVX2(nb int, w *byte, rowBytes int, rows int, a *Q8Block, y *float32)

//go:noescape
func qgemvQ4_1AVX2(nb int, w *byte, rowBytes int, rows int, a *Q8Block, y *float32)

//go:noescape
func qgemv2Q4_1AVX2(nb int, w *byte, rowBytes int, rows int, a0, a1 *Q8Block, y0, y1 *float32)

//go:noescape
func quantizeQ8AVX2(x *float32, nb int, dst *Q8Block)

//go:noescape
func qgemvQ8_0AVX2(nb int, w *byte, rowBytes int, rows int, a *Q8Block, y *float32)

// qgemvArch runs the AVX2 kernels at the AVX2 and AVX-512 levels.
func qgemvArch(l Level, wt QWeight, w []byte, rowBytes int, a []Q8Block, y []float32) bool {
	if l != AVX2 && l != AVX512 {
		return false
	}
	switch wt {
	case QW4_0:
		qgemvQ4_0AVX2(len(a), &w[0], rowBytes, len(y), &a[0], &y[0])
	case QW4_1:
		qgemvQ4_1AVX2(len(a), &w[0], rowBytes, len(y), &a[0], &y[0])
	case QW8_0:
		qgemvQ8_0AVX2(len(a), &w[0], rowBytes, len(y), &a[0], &y[0])
	default:
		return false
	}
	return true
}

// qgemv2Arch runs the two-row kernel (Q4_1) at the AVX2 and AVX-512 levels.
func qgemv2Arch(l Level, wt QWeight, w []byte, rowBytes int, a0, a1 []Q8Block, y0, y1 []float32) bool {
	if (l != AVX2 && l != AVX512) || wt != QW4_1 {
		return false
	}
	qgemv2Q4_1AVX2(len(a0), &w[0], rowBytes, len(y0), &a0[0], &a1[0], &y0[0], &y1[0])
	return true
}

// quantizeQ8Arch quantises with the AVX2 kernel (at the AVX2 and AVX-512 levels),
// then rounds D and S to float16 as the Go twin does.
func quantizeQ8Arch(l Level, dst []Q8Block, x []float32) bool {
	if (l != AVX2 && l != AVX512) || len(dst) == 0 {
		return false
	}
	quantizeQ8AVX2(&x[0], len(dst), &dst[0])
	for b := range dst {
		blk := &dst[b]
		finishQ8(blk, blk.D, int(int32(math.Float32bits(blk.S))))
	}
	return true
}

//go:noescape
func qgemm16Q4_1AVX512(nb int, w *byte, rowBytes int, rows int, p *byte, y *float32)

//go:noescape
func qgemm16Q8_0AVX512(nb int, w *byte, rowBytes int, rows int, p *byte, y *float32)

func qgemm16Has(l Level, wt QWeight) bool {
	return HasVNNI(l) && (wt == QW4_1 || wt == QW8_0)
}

func qgemm16Arch(l Level, wt QWeight, w []byte, rowBytes, rows int, p *Q8Pack16, y []float32) bool {
	if !qgemm16Has(l, wt) {
		return false
	}
	if wt == QW4_1 {
		qgemm16Q4_1AVX512(p.nb, &w[0], rowBytes, rows, &p.buf[0], &y[0])
	} else {
		qgemm16Q8_0AVX512(p.nb, &w[0], rowBytes, rows, &p.buf[0], &y[0])
	}
	return true
}
