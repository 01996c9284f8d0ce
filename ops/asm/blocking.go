package asm

import "github.com/klauspost/cpuid/v2"

// Blocking holds the cache-blocking sizes of level l's GEMM on this CPU: KC rows of a
// B micro-panel stay in L1 (in L2 at the AVX-512 level), an MC×KC block of A in L2,
// and KC×NC of B in L3.
type Blocking struct {
	MR, NR, KC, MC, NC int
}

// BlockingFor derives the blocking for level l from the detected cache sizes
// (conservative defaults where cpuid reports none).
func BlockingFor(l Level) Blocking {
	mr, nr := Tile(l)
	l1, l2, l3 := CacheSizes()
	// KC: a KC×NR panel of B takes at most half of L1, in steps of 32, 64..512.
	kc := clamp(l1/2/(nr*4)/32*32, 64, 512)
	if l == AVX512 {
		// The 12×32 kernel's 384-row B panel (48 KiB) streams from L2 next to a 12×384 A
		// panel in L1: 1024³ at 1 thread on Zen 4, 86 GFLOP/s with KC 128 (the panel in
		// L1), 92 with 256, 94-98 with 384, no better with 512 or 768; C round trips and
		// call overhead shrink with KC.
		kc = 384
	}
	// MC: the MC×KC block of A takes about half of L2.
	mc := clamp(l2/2/(kc*4)/mr*mr, mr, 1024/mr*mr)
	// NC: the KC×NC block of B takes about a quarter of L3 (shared by the cores).
	nc := clamp(l3/4/(kc*4)/nr*nr, nr, 16384/nr*nr)
	return Blocking{MR: mr, NR: nr, KC: kc, MC: mc, NC: nc}
}

// CacheSizes returns the L1 data, L2 and L3 cache sizes in bytes that the blocking
// is derived from: cpuid's figures, or conservative defaults (32 KiB, 512 KiB, 8 MiB)
// where it reports none.
func CacheSizes() (l1d, l2, l3 int) {
	l1d, l2, l3 = cpuid.CPU.Cache.L1D, cpuid.CPU.Cache.L2, cpuid.CPU.Cache.L3
	if l1d <= 0 {
		l1d = 32 << 10
	}
	if l2 <= 0 {
		l2 = 512 << 10
	}
	if l3 <= 0 {
		l3 = 8 << 20
	}
	return l1d, l2, l3
}

func clamp(v, lo, hi int) int {
	return max(lo, min(v, hi))
}
