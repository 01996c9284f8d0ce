//go:build !openblas

package main

const blasAvailable = false

func setBLASThreads(int) {}

func blasName() string { return "not built (use -tags openblas)" }

func blasSgemm(m, n, k int, a, b, c []float32) {}
