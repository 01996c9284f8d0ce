package ops

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on amd64 and arm64 (4 KiB base
// pages), and the smallest weight buffer given its own mapping.
const hugePage = 2 << 20

// weightSlice returns n zero values of T to hold packed weights. A buffer of at least
// hugePage bytes is a fresh anonymous mapping advised for transparent huge pages
// (where THP is set to "madvise", the common default) before anything touches it,
// and unmapped once owner is unreachable: decode streams every weight once per
// token, and with 4 KiB pages each 4 KiB costs a TLB miss (the LM head's GEMV: 24 →
// 28 GB/s on Zen 4, GPT-2 decode +5 %). A heap slice would not do: the heap reuses
// memory already mapped with small pages. owner must hold the only references to
// the slice, and stay reachable while it is used.
func weightSlice[T any, O any](owner *O, n int) []T {
	var zero T
	bytes := n * int(unsafe.Sizeof(zero))
	if bytes < hugePage {
		return make([]T, n)
	}
	// One page more than needed, so that the buffer can start on a huge-page boundary.
	m, err := unix.Mmap(-1, 0, bytes+hugePage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return make([]T, n)
	}
	at := int(-uintptr(unsafe.Pointer(unsafe.SliceData(m))) & (hugePage - 1))
	b := m[at : at+bytes]
	// Only the whole huge pages inside the buffer: a huge page over its tail would
	// make up to 2 MiB past the end resident (GPT-2: 100 MiB of RSS for ~50 matrices).
	// Without THP this does nothing: small pages, as from the heap.
	_ = unix.Madvise(b[:bytes&^(hugePage-1)], unix.MADV_HUGEPAGE)
	runtime.AddCleanup(owner, func(m []byte) { _ = unix.Munmap(m) }, m)
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
}
