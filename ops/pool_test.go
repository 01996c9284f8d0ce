package ops

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/tensor"
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

// TestConcurrentCallers shares one pool and one packed weight between goroutines, each
// with its own workspace, as a loaded model's requests do; every result must equal the
// single-caller result.
func TestConcurrentCallers(t *testing.T) {
	r := rand.New(rand.NewPCG(30, 40))
	p := NewPool(2)
	defer p.Close()
	k, n := 96, 80
	pb, err := PackB(true, k, n, randMat(r, n*k), k, tensor.F16)
	require.NoError(t, err)
	inputs := make([][]float32, 8)
	wants := make([][]float32, 8)
	for g := range inputs {
		m := 1 + g*3
		inputs[g] = randMat(r, m*k)
		wants[g] = make([]float32, m*n)
		SgemmPacked(nil, false, m, 1, inputs[g], k, pb, 0, wants[g], n)
	}
	var wg sync.WaitGroup
	for g := range inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := len(inputs[g]) / k
			got := make([]float32, m*n)
			ws := NewWorkspace(p)
			for rep := 0; rep < 20; rep++ {
				SgemmPacked(ws, false, m, 1, inputs[g], k, pb, 0, got, n)
				require.Equal(t, wants[g], got)
			}
		}()
	}
	wg.Wait()
}

// rendezvous is a task whose every item waits until the other job has started too.
type rendezvous struct {
	started chan struct{}
	other   chan struct{}
	once    sync.Once
	timeout bool
}

func (r *rendezvous) Do(_, _ int) {
	r.once.Do(func() { close(r.started) })
	select {
	case <-r.other:
	case <-time.After(5 * time.Second):
		r.timeout = true
	}
}

// TestConcurrentJobsRunAtOnce: two callers' jobs on one pool run at the same time,
// not one after the other. Each job's items wait for the other job to start, so a
// pool that served jobs in turn (an op-by-op lock) would time out here.
func TestConcurrentJobsRunAtOnce(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	a := &rendezvous{started: make(chan struct{})}
	b := &rendezvous{started: make(chan struct{})}
	a.other, b.other = b.started, a.started
	var wg sync.WaitGroup
	for _, job := range []*rendezvous{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Run(4, job)
		}()
	}
	wg.Wait()
	require.False(t, a.timeout || b.timeout, "the two jobs did not overlap")
}

type nestedTask struct {
	p     *Pool
	inner []*countTask
}

func (n *nestedTask) Do(_, i int) { n.p.Run(len(n.inner[i].hits), n.inner[i]) }

// TestNestedRun: a parallel call from inside a running task completes (on the
// calling worker) instead of deadlocking on the busy helpers.
func TestNestedRun(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	outer := &nestedTask{p: p}
	for range 6 {
		outer.inner = append(outer.inner, &countTask{hits: make([]atomic.Int32, 5)})
	}
	p.Run(len(outer.inner), outer)
	for _, in := range outer.inner {
		for i := range in.hits {
			require.Equal(t, int32(1), in.hits[i].Load())
		}
	}
}

type nopTask struct{ sink []int64 }

func (t *nopTask) Do(w, i int) { t.sink[w*8]++ }

// BenchmarkPoolRun: the cost of one job of tiny items (dispatch and wake-ups).
func BenchmarkPoolRun(b *testing.B) {
	p := NewPool(runtime.GOMAXPROCS(0))
	defer p.Close()
	t := &nopTask{sink: make([]int64, 8*p.Threads())}
	for b.Loop() {
		p.Run(8, t)
	}
}

// panicTask panics in the caller's (worker 0's) first item and makes the helpers' slow.
type panicTask struct {
	countTask
	fired atomic.Bool
}

func (p *panicTask) Do(w, i int) {
	if w == 0 && p.fired.CompareAndSwap(false, true) {
		panic("item failed")
	}
	time.Sleep(50 * time.Microsecond)
	p.countTask.Do(w, i)
}

// A panic in the caller's share of a job reaches the caller after the helpers are done
// with the job, and the pool runs the next job whole.
func TestPoolSurvivesAPanickingItem(t *testing.T) {
	p := NewPool(3, WithPinning(false))
	defer p.Close()
	bad := &panicTask{countTask: countTask{hits: make([]atomic.Int32, 64)}}
	require.PanicsWithValue(t, "item failed", func() { p.Run(64, bad) })
	require.Zero(t, p.pending.Load(), "the helpers finished the job before the panic went on")
	for range 20 {
		task := &countTask{hits: make([]atomic.Int32, 50)}
		p.Run(50, task)
		for i := range task.hits {
			require.Equal(t, int32(1), task.hits[i].Load(), "item %d", i)
		}
	}
}
