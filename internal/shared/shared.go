// Package shared locates the read-only data folder that sits beside a Lumen
// checkout (../shared: golden fixtures, tokenizers, the LeNet model, MNIST), for
// tests and benchmarks.
package shared

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir returns the shared folder: $LUMEN_SHARED if set, else ../shared relative to
// the module root. It returns "" if neither exists.
func Dir() string {
	if d := os.Getenv("LUMEN_SHARED"); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	root := filepath.Join(filepath.Dir(file), "..", "..") // internal/shared -> module root
	d := filepath.Join(root, "..", "shared")
	if st, err := os.Stat(d); err == nil && st.IsDir() {
		return d
	}
	return ""
}

// Path joins elem onto the shared folder and fails the test if the result does not
// exist: the fixtures are part of the test suite, not optional extras.
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	d := Dir()
	if d == "" {
		tb.Fatalf("the shared data folder was not found: put it beside the checkout as ../shared or set LUMEN_SHARED")
	}
	p := filepath.Join(append([]string{d}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("shared data missing: %v", err)
	}
	return p
}
