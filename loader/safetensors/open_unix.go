//go:build unix

package safetensors

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Open memory-maps the file at path (copy-on-write, so tensors may be modified in
// memory without touching the file) and parses its header. When the system refuses
// a mapping that large (ENOMEM: a file bigger than the memory it may commit), the
// file is read through NewReader instead: the header at once, each tensor when asked.
func Open(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			fd.Close()
		}
	}()
	st, err := fd.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	size := st.Size()
	if size < 8 {
		// Too small to map; the parser gives the precise error.
		return FromBytes(make([]byte, size), path)
	}
	if size != int64(int(size)) {
		return nil, fmt.Errorf("safetensors: %s: %d bytes is too large to map on this platform", path, size)
	}
	data, err := unix.Mmap(int(fd.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if errors.Is(err, unix.ENOMEM) {
		f, err := NewReader(fd, size, path)
		if err != nil {
			return nil, err
		}
		keep = true
		f.closer = fd.Close
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: mmap: %w", path, err)
	}
	f, err := FromBytes(data, path)
	if err != nil {
		_ = unix.Munmap(data)
		return nil, err
	}
	f.closer = func() error { return unix.Munmap(data) }
	return f, nil
}

// Evict tells the kernel that the named tensor's pages of a memory-mapped file will
// not be needed soon, so they leave the process's resident memory (a model that packs
// its weights at load can drop each tensor's file pages once packed). The data stays
// readable: untouched pages are read again from the file on access; pages the process
// modified lose those modifications. Evict is a no-op for files not memory-mapped.
func (f *File) Evict(name string) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed || f.closer == nil {
		return nil
	}
	in, ok := f.infos[name]
	if !ok {
		return fmt.Errorf("safetensors: %s: tensor %q: %w", f.name, name, ErrNotFound)
	}
	page := int64(os.Getpagesize())
	lo := (f.dataStart + in.Begin + page - 1) / page * page
	hi := (f.dataStart + in.End) / page * page
	if hi <= lo {
		return nil
	}
	if err := unix.Madvise(f.data[lo:hi], unix.MADV_DONTNEED); err != nil {
		return fmt.Errorf("safetensors: %s: evicting tensor %q: %w", f.name, name, err)
	}
	return nil
}
