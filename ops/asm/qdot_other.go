//go:build purego || !amd64

package asm

func qgemvArch(l Level, wt QWeight, w []byte, rowBytes int, a []Q8Block, y []float32) bool {
	return false
}

func qgemv2Arch(l Level, wt QWeight, w []byte, rowBytes int, a0, a1 []Q8Block, y0, y1 []float32) bool {
	return false
}

func quantizeQ8Arch(l Level, dst []Q8Block, x []float32) bool { return false }

func qgemm16Arch(Level, QWeight, []byte, int, int, *Q8Pack16, []float32) bool { return false }

func qgemm16Has(Level, QWeight) bool { return false }
