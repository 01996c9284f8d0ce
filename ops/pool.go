package ops

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Task is a unit of parallel work: Do runs item i on worker w (0 ≤ w < Threads); no
// two items run on the same worker at once.
// Items are handed out through an atomic counter, so a worker's items are not
// contiguous and Do must not assume an order.
type Task interface {
	Do(w, i int)
}

// Pool is a persistent set of worker threads, and nothing else: the operators'
// scratch memory belongs to the caller's Workspace. Any number of models and
// goroutines may share one Pool.
//
// With Threads > 1 the caller is worker 0 and Threads−1 helper goroutines, each
// locked to its own OS thread and (by default) pinned to its own CPU, are the others;
// with one thread the caller does the work itself. The helpers take the CPUs after
// the first, leaving that one to the caller's thread, which is not pinned (pinning it
// for each job and restoring it cost 5 µs a job; measured on the 2-vCPU VM, whose
// kernel packs a process's threads, a two-thread GEMM ran as fast without). A
// parallel call spawns nothing and allocates nothing.
//
// After a job the helpers spin for a while (helperSpin) before they park, and the
// caller spins briefly for the last helper: a decode step is a hundred short jobs, and
// waking parked threads cost about 50 µs a job on the 2-vCPU VMs (more than the work
// of most decode jobs). Spinning only while GOMAXPROCS leaves a P for every worker,
// a helper never holds the P its caller needs.
//
// The helpers serve one job at a time. A job submitted while they are busy — by
// another goroutine (a concurrent request), or from inside a running task (a nested
// parallel operator) — is not queued behind it: its caller runs every item itself,
// as worker 0 of its own workspace. So concurrent requests compute at the same time
// (each at least on its own goroutine), and a nested parallel call can neither
// deadlock nor oversubscribe the helpers.
//
// A Pool is safe for concurrent use. Close stops the helpers; a closed pool still
// runs jobs, on the caller.
type Pool struct {
	threads int
	pin     bool
	cpus    []int      // the CPUs helper h is pinned to the h-th of, when pinning
	busy    sync.Mutex // held (TryLock) by the job the helpers run
	closed  atomic.Bool
	close   sync.Once

	// The current job: task and n are written before seq is incremented and read by
	// helpers after they see the new seq (the atomics order them).
	task    Task
	n       int64
	next    atomic.Int64
	seq     atomic.Uint64 // job generation
	pending atomic.Int64  // helpers that have not finished the current job
	wake    []chan struct{}
	done    chan struct{} // the last helper's signal to a parked caller
}

// helperSpin is how long a helper looks for the next job before it parks, and
// callerSpin how long the caller waits for the last helper before it parks.
const (
	helperSpin = 200 * time.Microsecond
	callerSpin = 50 * time.Microsecond
)

// PoolOption configures NewPool.
type PoolOption func(*poolConfig)

type poolConfig struct{ pin bool }

// WithPinning pins each helper thread to its own CPU, leaving the first to the
// caller (Linux only; elsewhere a no-op).
// It is on by default: some virtual machines pack the runnable threads of a process
// onto one vCPU, which halves a two-thread GEMM. Turn it off when the process shares
// its CPUs with other pinned work, or runs several pools.
func WithPinning(on bool) PoolOption { return func(c *poolConfig) { c.pin = on } }

// NewPool starts a pool of threads workers — the caller of each job and threads−1
// helper goroutines (threads ≤ 0 means GOMAXPROCS).
func NewPool(threads int, opts ...PoolOption) *Pool {
	cfg := poolConfig{pin: true}
	for _, o := range opts {
		o(&cfg)
	}
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &Pool{threads: threads, done: make(chan struct{}, 1)}
	if cpus := allowedCPUs(); cfg.pin && len(cpus) > 1 {
		p.pin, p.cpus = true, cpus
	}
	for h := 1; h < threads; h++ {
		ch := make(chan struct{}, 1)
		p.wake = append(p.wake, ch)
		cpu := -1
		if p.pin {
			cpu = p.cpus[h%len(p.cpus)]
		}
		go p.helper(h, ch, cpu)
	}
	return p
}

// DefaultPool returns the process-wide pool of GOMAXPROCS workers (the caller and
// GOMAXPROCS−1 pinned helpers), started on first use and never closed. Models use it
// unless given another.
func DefaultPool() *Pool { return defaultPool() }

var defaultPool = sync.OnceValue(func() *Pool { return NewPool(0) })

// Threads returns the number of worker threads.
func (p *Pool) Threads() int {
	if p == nil {
		return 1
	}
	return p.threads
}

// Close stops the helper goroutines once the job they are running, if any, is done.
// A closed pool still works, on the calling goroutine alone.
func (p *Pool) Close() {
	if p == nil {
		return
	}
	p.close.Do(func() {
		p.closed.Store(true)
		p.busy.Lock() // wait for a running job
		defer p.busy.Unlock()
		for _, ch := range p.wake {
			close(ch)
		}
	})
}

// helper is worker w's loop: run each new job's items, then look for the next job,
// spinning for helperSpin before parking on wake.
func (p *Pool) helper(w int, wake chan struct{}, cpu int) {
	if cpu >= 0 {
		runtime.LockOSThread()
		pinToCPU(cpu)
	}
	var seen uint64 // the pool starts at job 0: a job published before this line still counts
	for {
		s := p.seq.Load()
		if s == seen && runtime.GOMAXPROCS(0) >= p.threads {
			for deadline := time.Now().Add(helperSpin); s == seen; s = p.seq.Load() {
				if p.closed.Load() || time.Now().After(deadline) {
					break
				}
				for range 64 { // a few hundred nanoseconds between clock reads
					if p.seq.Load() != seen {
						break
					}
				}
			}
		}
		if s == seen {
			if _, ok := <-wake; !ok {
				return
			}
			continue // a job, or a stale wake-up: look again
		}
		seen = s
		p.drain(w)
		if p.pending.Add(-1) == 0 {
			select { // a parked caller; a token left over only costs it one more look
			case p.done <- struct{}{}:
			default:
			}
		}
	}
}

func (p *Pool) drain(w int) {
	for {
		i := p.next.Add(1) - 1
		if i >= p.n {
			return
		}
		p.task.Do(w, int(i))
	}
}

// Run executes t.Do(w, i) for i in 0..n-1 and returns when all are done: on the
// caller and the helpers when they are free, else on the caller alone (see Pool). A
// nil Pool runs everything on the caller.
func (p *Pool) Run(n int, t Task) {
	if p == nil || p.threads <= 1 || n <= 1 || p.closed.Load() || !p.busy.TryLock() {
		for i := 0; i < n; i++ {
			t.Do(0, i)
		}
		return
	}
	defer p.busy.Unlock()
	if p.closed.Load() { // closed between the check and the lock
		for i := 0; i < n; i++ {
			t.Do(0, i)
		}
		return
	}
	p.task, p.n = t, int64(n)
	p.next.Store(0)
	p.pending.Store(int64(len(p.wake)))
	p.seq.Add(1)
	for _, ch := range p.wake {
		select { // parked helpers; a spinning one sees seq
		case ch <- struct{}{}:
		default:
		}
	}
	// If one of the caller's items panics, the helpers still finish the job before
	// the panic goes on, so that the next job starts from a quiet pool.
	defer p.waitHelpers()
	p.drain(0)
}

// waitHelpers waits until every helper has finished the current job: spinning for
// callerSpin, then parked on done.
func (p *Pool) waitHelpers() {
	for deadline := time.Now().Add(callerSpin); p.pending.Load() != 0; {
		if time.Now().After(deadline) {
			<-p.done // then look again: the token may be an old one
			continue
		}
		for range 64 {
			if p.pending.Load() == 0 {
				break
			}
		}
	}
	p.task = nil
}
