package safetensors

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/internal/shared"
)

// TestConcurrentReads shares one mapped file between goroutines that read every
// tensor while another closes it: reads either succeed with the right bytes or
// report ErrClosed. Run under -race in CI.
func TestConcurrentReads(t *testing.T) {
	f, err := Open(shared.Path(t, "fixtures", "bert-tiny", "model.safetensors"))
	require.NoError(t, err)
	names := f.Names()
	var wg sync.WaitGroup
	var reads atomic.Int64
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rep := 0; rep < 20; rep++ {
				for _, n := range names {
					x, err := f.Tensor(n)
					if err != nil {
						require.ErrorIs(t, err, ErrClosed)
						return
					}
					in, _ := f.Info(n)
					require.Equal(t, in.Shape, x.Shape())
					reads.Add(1)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = f.Metadata()
		_ = f.Names()
		for reads.Load() < int64(4*len(names)) {
			runtime.Gosched()
		}
		require.NoError(t, f.Close())
	}()
	wg.Wait()
	require.NoError(t, f.Close())
	_, err = f.Tensor(names[0])
	require.ErrorIs(t, err, ErrClosed)
}
