//go:build unix

package safetensors

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Open memory-maps the file at path (copy-on-write, so tensors may be modified in
// memory without touching the file) and parses its header.
func Open(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer fd.Close()
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
