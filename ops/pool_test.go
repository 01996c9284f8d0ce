package ops

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/ops/asm"
)

type countTask struct{ hits []atomic.Int32 }

func (c *countTask) Do(_, i int) { c.hits[i].Add(1) }

func TestPoolRunsEveryItemOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 3} {
		p := NewPool(threads, WithPinning(threads != 3))
		for _, n := range []int{0, 1, 2, 5, 100} {
			task := &countTask{hits: make([]atomic.Int32, n)}
			p.Run(n, task)
			for i := range task.hits {
				require.Equal(t, int32(1), task.hits[i].Load(), "threads=%d n=%d item %d", threads, n, i)
			}
		}
		require.Equal(t, threads, p.Threads())
		p.Close()
		task := &countTask{hits: make([]atomic.Int32, 4)}
		p.Run(4, task) // a closed pool still works, on the caller
		require.Equal(t, int32(1), task.hits[3].Load())
	}
	var nilPool *Pool
	require.Equal(t, 1, nilPool.Threads())
	def := NewPool(0)
	defer def.Close()
	require.Equal(t, runtime.GOMAXPROCS(0), def.Threads())
}

// TestConcurrentCallers shares one pool and one packed weight between goroutines, as
// a loaded model does; every result must equal the single-caller result.
func TestConcurrentCallers(t *testing.T) {
	r := rand.New(rand.NewPCG(30, 40))
	p := NewPool(2)
	defer p.Close()
	k, n := 96, 80
	pb, err := PackB(true, k, n, randMat(r, n*k), k, asm.WeightF16)
	require.NoError(t, err)
	inputs := make([][]float32, 8)
	wants := make([][]float32, 8)
	for g := range inputs {
		m := 1 + g*3
		inputs[g] = randMat(r, m*k)
		wants[g] = make([]float32, m*n)
		require.NoError(t, SgemmPacked(nil, false, m, 1, inputs[g], k, pb, 0, wants[g], n))
	}
	var wg sync.WaitGroup
	for g := range inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := len(inputs[g]) / k
			got := make([]float32, m*n)
			for rep := 0; rep < 20; rep++ {
				require.NoError(t, SgemmPacked(p, false, m, 1, inputs[g], k, pb, 0, got, n))
				require.Equal(t, wants[g], got)
			}
		}()
	}
	wg.Wait()
}
