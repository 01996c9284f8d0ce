package asm

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestChoose: LUMEN_CPU lowers the level when it names a supported one and is
// reported, never silently ignored, otherwise.
func TestChoose(t *testing.T) {
	sup := []Level{Generic, AVX2}
	for _, c := range []struct {
		env     string
		want    Level
		reason  string
		warning string
	}{
		{"", AVX2, "avx2 (best supported by cpu)", ""},
		{"generic", Generic, "generic (forced by LUMEN_CPU)", ""},
		{"AVX2", AVX2, "avx2 (forced by LUMEN_CPU)", ""},
		{"avx512", AVX2, "avx2 (LUMEN_CPU=avx512 is not supported by this CPU)", "LUMEN_CPU=avx512 is not supported by this CPU; using avx2"},
		{"fast", AVX2, `avx2 (LUMEN_CPU ignored: asm: unknown CPU level "fast" (want generic, avx2, avx512 or neon))`, `LUMEN_CPU="fast" is not a level (generic, avx2, avx512, neon); using avx2`},
	} {
		l, reason, warning := choose(c.env, sup, "cpu")
		require.Equal(t, c.want, l, c.env)
		require.Equal(t, c.reason, reason, c.env)
		require.Equal(t, c.warning, warning, c.env)
	}
}
