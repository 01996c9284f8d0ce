//go:build purego || !amd64

package asm

func geluTanhArch(Level, []float32) bool { return false }

func geluErfArch(Level, []float32) bool { return false }

func expSubSumArch(Level, []float32, float32) (float32, bool) { return 0, false }
