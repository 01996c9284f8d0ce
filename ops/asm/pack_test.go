package asm

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPackAMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, l := range Supported() {
		mr, _ := Tile(l)
		for _, k := range []int{0, 1, 5, 15, 16, 17, 31, 32, 48, 100, 384, 385} {
			for _, rows := range []int{1, mr - 1, mr} {
				if rows < 1 {
					continue
				}
				lda := k + r.IntN(5)
				a := randSlice(r, (rows-1)*lda+k+1)
				want := randSlice(r, k*mr+1)
				got := append([]float32(nil), want...)
				PackAGo(mr, want, a, lda, rows, k)
				require.NoError(t, PackA(l, got, a, lda, rows, k))
				require.Equal(t, want, got, "%v k=%d rows=%d lda=%d", l, k, rows, lda)
				for p := 0; p < k; p++ { // the layout itself, not only agreement
					for i := 0; i < mr; i++ {
						v := float32(0)
						if i < rows {
							v = a[i*lda+p]
						}
						require.Equal(t, v, got[p*mr+i])
					}
				}
			}
		}
	}
	require.Error(t, PackA(Best, make([]float32, 10), make([]float32, 10), 1, 0, 1))
	require.Error(t, PackA(Best, make([]float32, 10), make([]float32, 10), 4, 1, 5))
	require.Error(t, PackA(Best, make([]float32, 1), make([]float32, 100), 4, 1, 4))
}

func TestPackBMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, l := range Supported() {
		_, nr := Tile(l)
		for _, k := range []int{0, 1, 2, 7, 128, 385} {
			for _, n := range []int{0, 1, 3} {
				ldb := n*nr + r.IntN(40)
				b := randSlice(r, max(k-1, 0)*ldb+n*nr)
				want := randSlice(r, n*k*nr+1)
				got := append([]float32(nil), want...)
				PackBGo(nr, want, b, ldb, k, n)
				require.NoError(t, PackB(l, got, b, ldb, k, n))
				require.Equal(t, want, got, "%v k=%d n=%d ldb=%d", l, k, n, ldb)
				for q := 0; q < n; q++ {
					for p := 0; p < k; p++ {
						require.Equal(t, b[p*ldb+q*nr:p*ldb+q*nr+nr], got[(q*k+p)*nr:(q*k+p+1)*nr])
					}
				}
			}
		}
	}
	require.Error(t, PackB(Best, make([]float32, 10), make([]float32, 100), 1, 2, 1))
	require.Error(t, PackB(Best, make([]float32, 1), make([]float32, 1000), 64, 2, 1))
	_, nr := Tile(Best)
	require.Error(t, PackB(Best, make([]float32, 1000), make([]float32, 1000), 2*nr-1, 2, 2), "ldb below two panels")
}
