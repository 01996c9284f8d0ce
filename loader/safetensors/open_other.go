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
