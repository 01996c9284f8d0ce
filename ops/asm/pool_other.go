//go:build purego || !amd64

package asm

func maxPoolArch(l Level, y, x []float32, rows, w int) bool { return false }

func maxPoolBackwardArch(l Level, dx, x, y, dy []float32, rows, w int) bool { return false }
