package tensor

import (
	"fmt"
	"unsafe"
)

// arenaAlign is the alignment of every arena allocation: one cache line, which is also
// the width of an AVX-512 register.
const arenaAlign = 64

// Arena hands out scratch and activation buffers from reusable memory, so that a
// forward pass does not allocate per op. Allocations are bump-pointer and 64-byte
// aligned; Reset makes all memory available again. After a warm-up pass, an Arena
// that is Reset between passes serves the same sequence of requests from one block
// without allocating.
//
// Memory handed out before a Reset must not be used after it. An Arena is not safe
// for concurrent use: give each request or goroutine its own.
type Arena struct {
	block []byte // current block
	used  int    // bytes of block handed out
	spill int    // bytes handed out from overflow blocks since the last Reset
	peak  int    // largest total in use at any time
}

// NewArena returns an arena with capacity bytes preallocated (0 is fine: it grows).
func NewArena(capacity int) *Arena {
	a := &Arena{}
	if capacity > 0 {
		a.block = alignedBytes(capacity + arenaAlign)
	}
	return a
}

// bytes returns n zeroed bytes aligned to arenaAlign.
func (a *Arena) bytes(n int) []byte {
	if n == 0 {
		return []byte{}
	}
	start := a.used
	if len(a.block) > 0 {
		base := uintptr(unsafe.Pointer(&a.block[0]))
		start = int((base+uintptr(a.used)+arenaAlign-1)&^(arenaAlign-1) - base)
	}
	if start+n > len(a.block) {
		// Serve from a one-off block; Reset then grows the main block to cover the
		// whole demand, so the next pass fits.
		a.spill += n + arenaAlign
		a.notePeak()
		b := alignedBytes(n + arenaAlign)
		off := int(-uintptr(unsafe.Pointer(&b[0])) & (arenaAlign - 1))
		return b[off : off+n : off+n]
	}
	a.used = start + n
	a.notePeak()
	b := a.block[start : start+n : start+n]
	clear(b)
	return b
}

func (a *Arena) notePeak() {
	if t := a.used + a.spill; t > a.peak {
		a.peak = t
	}
}

// Float32s returns n zeroed float32s from the arena.
func (a *Arena) Float32s(n int) []float32 {
	if n <= 0 {
		return []float32{}
	}
	b := a.bytes(4 * n)
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
}

// Alloc returns a zeroed contiguous tensor whose data lives in the arena.
func (a *Arena) Alloc(dt DType, shape ...int) (*Tensor, error) {
	if !dt.Valid() {
		return nil, fmt.Errorf("%w: %v", ErrDType, dt)
	}
	n, err := numElements(shape)
	if err != nil {
		return nil, err
	}
	return &Tensor{dtype: dt, shape: clone(shape), strides: contiguousStrides(shape), data: a.bytes(n * dt.Size())}, nil
}

// Reset makes all arena memory available again. If the last pass overflowed the
// current block, the block is replaced by one large enough for the peak demand.
func (a *Arena) Reset() {
	if a.spill > 0 {
		a.block = alignedBytes(a.peak + arenaAlign)
	}
	a.used, a.spill = 0, 0
}

// InUse returns the bytes handed out since the last Reset (alignment padding included).
func (a *Arena) InUse() int { return a.used + a.spill }

// Peak returns the largest number of bytes that were in use at once.
func (a *Arena) Peak() int { return a.peak }

// Cap returns the size of the arena's main block.
func (a *Arena) Cap() int { return len(a.block) }
