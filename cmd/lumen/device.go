package main

import (
	"fmt"

	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/ops/cuda"
)

// envDevice opens the device LUMEN_DEVICE names (cpu, cuda, cuda:N, auto); nil means
// the CPU. An opened device lives as long as the process.
func envDevice() (ops.Device, error) {
	d, err := cuda.FromEnv()
	if err != nil {
		return nil, fmt.Errorf("LUMEN_DEVICE: %w", err)
	}
	return d, nil
}
