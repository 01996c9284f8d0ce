//go:build !linux

package ops

// weightSlice returns n zero values of T to hold packed weights (see mem_linux.go).
func weightSlice[T any, O any](_ *O, n int) []T { return make([]T, n) }
