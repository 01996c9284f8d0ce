//go:build !unix

package safetensors

import (
	"fmt"
	"os"
)

// Open reads the file at path into memory and parses its header.
func Open(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return FromBytes(data, path)
}

// Evict is a no-op where files are read into memory rather than mapped.
func (f *File) Evict(name string) error {
	if _, ok := f.infos[name]; !ok {
		return fmt.Errorf("safetensors: %s: tensor %q: %w", f.name, name, ErrNotFound)
	}
	return nil
}
