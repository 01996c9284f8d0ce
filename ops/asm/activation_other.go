//go:build purego || !amd64

package asm

func geluTanhArch(Level, []float32) bool { return false }

func geluErfArch(Level, []float32) bool { return false }

func expSubSumArch(Level, []float32, float32) (float32, bool) { return 0, false }

func maxArch(l Level, x []float32) (float32, bool) { return 0, false }

func scaleArch(l Level, x []float32, s float32) bool { return false }

func addArch(l Level, dst, a, b []float32) bool { return false }

func addRowsArch(Level, []float32, int, int, []float32) bool { return false }

func sumsF64Arch(l Level, x []float32, mean float64, out *[2]float64) bool { return false }

func normAffineArch(l Level, dst, x, gamma, beta []float32, m, inv float32) bool { return false }

func vecLen(Level, int) int { return 0 }

func siluMulArch(Level, []float32, []float32) bool { return false }
