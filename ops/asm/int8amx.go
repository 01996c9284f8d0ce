package asm

import (
	"fmt"
	"runtime"

	"github.com/klauspost/cpuid/v2"
)

// The AMX-INT8 products (I8AMXTiles) use the int8 layouts above unchanged — a B
// panel's 16 consecutive groups are one AMX tile of 16 rows × 64 bytes — with K
// padded to whole blocks of I8AMXK4 groups (64 values, zero weights past K).
const (
	I8AMXMR = 32 // rows of A an I8AMXTiles call multiplies
	I8AMXK4 = 16 // groups of four K values per block: k4 is a multiple of it
)

// amxGranted: Linux gave this process the AMX tile state (asked once at start-up,
// and only of a CPU that has the tiles).
var amxGranted = cpuid.CPU.Supports(cpuid.AMXTILE) && amxPermit()

// amxInt8 is whether this CPU and operating system run the AMX-INT8 tiles.
var amxInt8 = runtime.GOARCH == "amd64" && cpuid.CPU.Supports(cpuid.AMXINT8, cpuid.AMXTILE) && amxGranted

// HasAMXInt8 reports whether level l's int8 products of 32 rows or more run on
// Intel's AMX-INT8 tiles here (TDPBUSD; the same exact int32 sums as VNNI, so the
// same bits): the CPU has AMX-INT8, l is AVX512 and Linux granted the tile state.
func HasAMXInt8(l Level) bool { return l == AVX512 && amxInt8 && Available(l) }

// I8AMXTiles computes I8AMXMR rows × 32·pairs columns of int8 products and applies
// ep: A as I8Kernel's (rows 0..31, stride lda), B 2·pairs consecutive 16-column
// panels of k4 groups each (k4 a multiple of I8AMXK4), ep's row arrays 32 entries,
// its column arrays 32·pairs (Bias may be nil), C row stride ldc. The results are
// the bits of I8Kernel's on the same operands. On a level or CPU without AMX-INT8
// the Go twin computes them (for tests). It returns an error for short slices.
func I8AMXTiles(l Level, k4, pairs int, a []uint8, lda int, b []int8, c []float32, ldc int, ep *I8Epilogue) error {
	cols := 32 * pairs
	switch {
	case pairs < 1 || k4 < I8AMXK4 || k4%I8AMXK4 != 0:
		return fmt.Errorf("asm: I8AMXTiles of %d groups (a multiple of %d) × %d panel pairs", k4, I8AMXK4, pairs)
	case lda < 4*k4 || len(a) < (I8AMXMR-1)*lda+4*k4:
		return fmt.Errorf("asm: I8AMXTiles: A of %d bytes with stride %d for %d groups", len(a), lda, k4)
	case len(b) < 2*pairs*k4*64:
		return fmt.Errorf("asm: I8AMXTiles: B of %d bytes for %d panels of %d groups", len(b), 2*pairs, k4)
	case ldc < cols || len(c) < (I8AMXMR-1)*ldc+cols:
		return fmt.Errorf("asm: I8AMXTiles: C of %d values with stride %d for %d columns", len(c), ldc, cols)
	case ep == nil || len(ep.RowScale) < I8AMXMR || len(ep.RowZero) < I8AMXMR || len(ep.ColScale) < cols || len(ep.ColSum) < cols || (ep.Bias != nil && len(ep.Bias) < cols):
		return fmt.Errorf("asm: I8AMXTiles: epilogue missing or too short for %d rows × %d columns", I8AMXMR, cols)
	}
	if HasAMXInt8(l) {
		i8AMXArch(k4, pairs, a, lda, b, c, ldc, ep)
		return nil
	}
	I8AMXTilesGo(k4, pairs, a, lda, b, c, ldc, ep)
	return nil
}

// I8AMXTilesGo is the pure-Go twin of I8AMXTiles: one-row I8Kernel tiles.
func I8AMXTilesGo(k4, pairs int, a []uint8, lda int, b []int8, c []float32, ldc int, ep *I8Epilogue) {
	for i := range I8AMXMR {
		for p := range 2 * pairs {
			sub := ep.panel(p)
			sub.RowScale, sub.RowZero = ep.RowScale[i:i+1], ep.RowZero[i:i+1]
			I8KernelGo(1, k4, a[i*lda:], lda, b[p*k4*64:], c[i*ldc+16*p:], ldc, sub)
		}
	}
}

// I8Kernels names the int8 product kernels level l runs here, for reports.
func I8Kernels(l Level) string {
	switch {
	case !Available(l):
		return "none (level not supported)"
	case HasAMXInt8(l):
		return "amx-int8 tiles for 32 rows or more, avx512-vnni below"
	case HasVNNI(l):
		return "avx512-vnni"
	case l == AVX2 || l == AVX512:
		return "avx2 (vpmaddubsw)"
	case l == NEON:
		return "neon"
	}
	return "generic"
}
