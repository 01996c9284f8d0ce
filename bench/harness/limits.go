package harness

import (
	"encoding/binary"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/lumen-ml/lumen/ops/asm"
)

// Limits are this machine's ceilings, measured by short vectorised probes at the
// start of a run, for each thread count of the run: how fast the cores read memory
// much larger than the caches, and how many single-precision FLOP/s the best
// micro-kernel reaches on data in L1. A row's share of its limit is how "close to
// the machine" it runs, comparable across machines where absolute figures are not.
type Limits struct {
	ReadGBs    map[int]float64 `json:"dram_read_gb_s"` // by threads: GB/s reading a 512 MiB buffer
	PeakGFLOPs map[int]float64 `json:"peak_gflop_s"`   // by threads: the SGEMM micro-kernel on L1-resident data
}

// probeBytes is the buffer the bandwidth probe reads: far past any last-level cache.
const probeBytes = 512 << 20

// MeasureLimits probes the machine for each thread count, spending about budget on
// each probe.
func MeasureLimits(threads []int, budget time.Duration) Limits {
	l := Limits{ReadGBs: map[int]float64{}, PeakGFLOPs: map[int]float64{}}
	buf := make([]byte, probeBytes)
	// Fill every page with distinct pseudo-random words: untouched pages all map the
	// shared zero page, and identical pages may be merged by the kernel (KSM), either
	// of which would be read from cache.
	// Bit 30 of each 32-bit word is cleared so that, read as float32 by the vector
	// pass, no word is NaN or Inf.
	x := uint64(88172645463325252)
	for i := 0; i+8 <= len(buf); i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(buf[i:], x&^(1<<30|1<<62))
	}
	for _, t := range threads {
		l.ReadGBs[t] = readBandwidth(buf, t, budget)
		l.PeakGFLOPs[t] = peakFLOPs(t, budget)
	}
	return l
}

// parallel runs work(i) on t goroutines, each locked to its own OS thread, and
// returns the wall time of the slowest.
func parallel(t int, work func(i int)) time.Duration {
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < t; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			work(i)
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// readBandwidth reads buf (split among t threads) once per pass and returns the
// best pass's GB/s. Passes alternate two access patterns, since the cores differ in
// which draws more: 16 interleaved streams, loading one word of every 64-byte line
// (every line comes from DRAM once, and 16 streams keep enough misses in flight; a
// single scan stops at about a third of that on the Zen 3 VMs), and one sequential
// scan with the best level's vector loads (asm.Max), which the hardware prefetcher
// follows (on Zen 4, 25 GB/s against the 16 streams' 21).
func readBandwidth(buf []byte, t int, budget time.Duration) float64 {
	best := 0.0
	for pass, end := 0, time.Now().Add(budget); pass < 2 || time.Now().Before(end); pass++ {
		vector := pass%2 == 1
		d := parallel(t, func(i int) {
			part := buf[i*len(buf)/t : (i+1)*len(buf)/t]
			if vector {
				f := unsafe.Slice((*float32)(unsafe.Pointer(&part[0])), len(part)/4)
				if m := asm.Max(asm.Best, f); m == 0 || m != m {
					panic("harness: the vector bandwidth probe read only zeros or a NaN")
				}
				return
			}
			if readStreams(part, 16) == 0 {
				panic("harness: the bandwidth probe read only zeros")
			}
		})
		best = max(best, float64(len(buf))/d.Seconds()/1e9)
	}
	return best
}

// readStreams sums one word of every cache line of buf, walking k equal parts at once.
func readStreams(buf []byte, k int) uint64 {
	n := len(buf) / k / 64 * 64
	var s uint64
	for off := 0; off < n; off += 64 {
		for j := 0; j < k; j++ {
			s += binary.LittleEndian.Uint64(buf[j*n+off:])
		}
	}
	return s
}

// peakFLOPs runs the best level's SGEMM micro-kernel over L1-resident panels on t
// threads and returns the GFLOP/s of the best of a few passes.
func peakFLOPs(t int, budget time.Duration) float64 {
	mr, nr := asm.Tile(asm.Best)
	const k, calls = 64, 20000
	best := 0.0
	for end := time.Now().Add(budget); time.Now().Before(end); {
		d := parallel(t, func(int) {
			a, b, c := make([]float32, k*mr), make([]float32, k*nr), make([]float32, mr*nr)
			for i := range a {
				a[i] = 1e-3
			}
			for i := range b {
				b[i] = 1e-3
			}
			for n := 0; n < calls; n++ {
				if err := asm.SgemmKernel(asm.Best, k, a, b, c, nr, 1, 1); err != nil {
					panic("harness: " + err.Error())
				}
			}
		})
		best = max(best, float64(t)*calls*2*k*float64(mr*nr)/d.Seconds()/1e9)
	}
	return best
}

// share returns a run's fraction of its machine limit, or 0 when the workload has
// none: GEMM against the peak FLOP/s; GPT-2 decode, which streams every weight once
// per token, against the read bandwidth (weight bytes × tokens/s).
func (l Limits) share(w Workload, threads int, rate float64, weightBytes int64) float64 {
	switch {
	case w.Model == GEMM && l.PeakGFLOPs[threads] > 0:
		return rate / l.PeakGFLOPs[threads]
	case w.Model == GPT2 && w.Decode > 0 && weightBytes > 0 && l.ReadGBs[threads] > 0:
		return rate * float64(weightBytes) / (l.ReadGBs[threads] * 1e9)
	}
	return 0
}
