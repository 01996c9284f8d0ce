package asm

import (
	"fmt"
	"runtime"

	"github.com/klauspost/cpuid/v2"
	"github.com/lumen-ml/lumen/tensor"
)

// The BF16 compute layouts (BF16Tiles): A is row-major BF16 with K padded to whole
// BF16KB blocks; B is in panels of BF16NR columns, each panel ⌈K/BF16KB⌉ blocks of two
// 16-column tiles of 16 rows, row r of a tile holding, for each of its 16 columns, the
// pair of K rows 2r and 2r+1 of the block (Intel's AMX "VNNI" order). A panel block is
// 2 KiB.
const (
	BF16MR = 32 // rows of A a BF16Tiles call multiplies
	BF16NR = 32 // columns of a B panel
	BF16KB = 32 // K values per block
	// BF16PanelBlock is the uint16 values of one block of a panel.
	BF16PanelBlock = BF16NR * BF16KB
)

// BF16Offset is the index of element (p, j) of op(B) — K row p, column j — in a B of
// kb blocks per panel laid out for BF16Tiles.
func BF16Offset(kb, p, j int) int {
	blk, r, half := p/BF16KB, p%BF16KB/2, p%2
	return (j/BF16NR*kb+blk)*BF16PanelBlock + j%BF16NR/16*512 + r*32 + j%16*2 + half
}

// BF16Kernel is the implementation of the BF16 products (BF16Tiles).
type BF16Kernel int

const (
	// BF16Generic is the pure-Go twin: the same products and layout, for tests and
	// for checking the others; far too slow to compute with.
	BF16Generic BF16Kernel = iota
	// BF16AMX runs on Intel's AMX-BF16 tiles (TDPBF16PS), where the CPU and the
	// operating system allow them.
	BF16AMX
)

func (k BF16Kernel) String() string {
	switch k {
	case BF16Generic:
		return "generic"
	case BF16AMX:
		return "amx-bf16"
	}
	return fmt.Sprintf("BF16Kernel(%d)", int(k))
}

// BestBF16 is the BF16 kernel of this process, fixed at start-up: BF16AMX where the
// CPU has AMX-BF16, the level (Best, after LUMEN_CPU) is AVX512 and Linux grants the
// tile state; BF16Generic otherwise. BF16Reason says why.
var BestBF16, BF16Reason = chooseBF16()

func chooseBF16() (BF16Kernel, string) {
	switch {
	case runtime.GOARCH != "amd64" || !cpuid.CPU.Supports(cpuid.AMXBF16, cpuid.AMXTILE):
		return BF16Generic, fmt.Sprintf("%s has no AMX-BF16", cpuid.CPU.BrandName)
	case Best != AVX512:
		return BF16Generic, fmt.Sprintf("the kernel level is %v, not avx512", Best)
	case !amxGranted:
		return BF16Generic, "the operating system refused the AMX tile state"
	}
	return BF16AMX, fmt.Sprintf("%s has AMX-BF16 and Linux granted its tile state", cpuid.CPU.BrandName)
}

// BF16Tiles computes C = A·B for BF16MR rows of A (row stride lda ≥ 32·kb, in
// elements) and panels B panels of kb blocks each (contiguous, the layout above):
// C is BF16MR × 32·panels float32 with row stride ldc. The products of BF16 pairs are
// exact in float32 and summed in float32 (AMX flushes denormals to zero; the Go twin
// does not). It returns an error for short slices.
func BF16Tiles(k BF16Kernel, a []uint16, lda int, b []uint16, kb, panels int, c []float32, ldc int) error {
	switch {
	case kb < 1 || panels < 1:
		return fmt.Errorf("asm: BF16Tiles of %d blocks × %d panels", kb, panels)
	case lda < kb*BF16KB || len(a) < (BF16MR-1)*lda+kb*BF16KB:
		return fmt.Errorf("asm: BF16Tiles: A of %d values with stride %d for %d blocks", len(a), lda, kb)
	case len(b) < panels*kb*BF16PanelBlock:
		return fmt.Errorf("asm: BF16Tiles: B of %d values for %d panels of %d blocks", len(b), panels, kb)
	case ldc < panels*BF16NR || len(c) < (BF16MR-1)*ldc+panels*BF16NR:
		return fmt.Errorf("asm: BF16Tiles: C of %d values with stride %d for %d panels", len(c), ldc, panels)
	}
	if k == BF16AMX && bf16TilesArch(a, lda, b, kb, panels, c, ldc) {
		return nil
	}
	bf16TilesGo(a, lda, b, kb, panels, c, ldc)
	return nil
}

func bf16TilesGo(a []uint16, lda int, b []uint16, kb, panels int, c []float32, ldc int) {
	for i := range BF16MR {
		row := a[i*lda : i*lda+kb*BF16KB]
		for p := range panels {
			for j := range BF16NR {
				var acc float32
				for blk := range kb {
					tile := b[(p*kb+blk)*BF16PanelBlock+j/16*512:]
					ar := row[blk*BF16KB:]
					for r := range 16 {
						bp := tile[r*32+j%16*2:]
						acc += tensor.BF16ToF32(ar[2*r])*tensor.BF16ToF32(bp[0]) + tensor.BF16ToF32(ar[2*r+1])*tensor.BF16ToF32(bp[1])
					}
				}
				c[i*ldc+p*BF16NR+j] = acc
			}
		}
	}
}

// F32ToBF16 rounds len(dst) values of src to BF16 at level l, bit for bit as
// tensor.F32ToBF16 (nearest even; NaN stays NaN).
func F32ToBF16(l Level, dst []uint16, src []float32) {
	src = src[:len(dst)]
	done := f32ToBF16Arch(l, dst, src)
	tensor.F32ToBF16Slice(dst[done:], src[done:])
}
