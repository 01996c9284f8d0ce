//go:build !linux

package ops

func allowedCPUs() []int { return nil }

func pinToCPU(int) {}
