// Package asm holds Lumen's hand-written SIMD kernels — AVX-512 and AVX2+FMA on amd64,
// NEON on arm64 — each behind one Go function with a pure-Go twin that serves every
// other platform and is the oracle in tests.
//
// The instruction-set level is chosen once, at program start, from the CPU's features
// (github.com/klauspost/cpuid/v2). The environment variable LUMEN_CPU=generic|avx2|
// avx512|neon lowers it (it never raises it past what the CPU supports), so every
// path can be exercised on one machine. Functions also take an explicit Level, so
// tests can run each level in turn within one process.
//
// The int8 kernels (I8Kernel, I8Gemv64, I8QuantizeRow) multiply 7-bit activations by
// int8 weights with exact int32 sums: VPDPBUSD at the AVX-512 level where the CPU has
// AVX512-VNNI (HasVNNI), vpmaddubsw/vpmaddwd on AVX2 (and on AVX-512 without VNNI),
// SDOT where arm64 has the dot-product extension; their twins are bit-exact oracles.
// Where the CPU has AMX-INT8 (HasAMXInt8), blocks of 32 rows run on its tiles
// (I8AMXTiles, TDPBUSD): the same exact sums, so the same bits. The AMX kernels
// (BF16Tiles too) load and release their tile configuration within each call.
//
// A level may keep another level's kernel where that measured faster: the AVX-512
// level's GEMV is the AVX2 one (Gemv16, Gemv64, GemvT8).
//
// Kernels work on raw slices in the packed layouts documented on each function;
// loop nests, blocking and threading live in package ops.
package asm
