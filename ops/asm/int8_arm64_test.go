//go:build !purego

package asm

import (
	"os"
	"testing"
)

// TestDotProdDetected: where the runner says the CPU has the dot-product extension
// (CI sets LUMEN_EXPECT_DOTPROD=1 under qemu-aarch64, whose default CPU has it), the
// SDOT kernel is the one the int8 tests above compare with the twin.
func TestDotProdDetected(t *testing.T) {
	t.Logf("FEAT_DotProd: %v", hasDotProd)
	if os.Getenv("LUMEN_EXPECT_DOTPROD") == "1" && !hasDotProd {
		t.Fatal("LUMEN_EXPECT_DOTPROD=1 but cpuid reports no ASIMDDP: the SDOT kernel would not run")
	}
}
