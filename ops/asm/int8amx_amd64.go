//go:build !purego

package asm

//go:noescape
func amxI8Tiles(a *uint8, lda int, b *int8, k4, pairs int, c *float32, ldc int)

//go:noescape
func i8EpilogueAVX512(rows, groups int, c *float32, ldc int, args *i8Args)

// i8AMXArch runs the tiles (int32 sums into c) and then the epilogue in place, while
// the block is in cache.
func i8AMXArch(k4, pairs int, a []uint8, lda int, b []int8, c []float32, ldc int, ep *I8Epilogue) {
	amxI8Tiles(&a[0], lda, &b[0], k4, pairs, &c[0], ldc)
	args := i8Args{rowScale: &ep.RowScale[0], rowZero: &ep.RowZero[0], colScale: &ep.ColScale[0], colSum: &ep.ColSum[0]}
	if ep.Bias != nil {
		args.bias = &ep.Bias[0]
	}
	i8EpilogueAVX512(I8AMXMR, 2*pairs, &c[0], ldc, &args)
}
