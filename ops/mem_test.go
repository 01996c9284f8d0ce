package ops

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

func TestWeightSlice(t *testing.T) {
	for _, n := range []int{1, 1000, 3 << 20, 5<<20 + 3} {
		owner := new(PackedB)
		s := weightSlice[uint16](owner, n)
		require.Len(t, s, n)
		bad := -1
		for i := range s {
			if s[i] != 0 && bad < 0 {
				bad = i
			}
			s[i] = uint16(i)
		}
		require.Equal(t, -1, bad, "n=%d: not zero at %d", n, bad)
		for i := range s {
			if s[i] != uint16(i) {
				require.Equal(t, uint16(i), s[i], "n=%d at %d", n, i)
			}
		}
		if runtime.GOOS == "linux" && 2*n >= 2<<20 {
			require.Zero(t, uintptr(unsafe.Pointer(&s[0]))%(2<<20), "n=%d: a mapped buffer starts on a huge page", n)
		}
		runtime.KeepAlive(owner)
	}
	for range 3 { // buffers whose owners are gone are unmapped by their cleanups
		_ = weightSlice[float32](new(PackedB), 1<<20)
		runtime.GC()
	}
}
