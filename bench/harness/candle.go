package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// CacheDir is Lumen's folder in the user's cache (the temporary folder when there is
// none): the benchmark's random checkpoints, bench/setup.sh's venvs and the candle
// build live there, shared by every clone on the machine.
func CacheDir() string {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	return filepath.Join(cache, "lumen")
}

// CandleTargetDir is where the candle worker is built: under CacheDir, so a second
// clone (CI on the same machine) does not rebuild candle from scratch.
func CandleTargetDir() string { return filepath.Join(CacheDir(), "candle-target") }

// CandleBin is the worker binary a build into CandleTargetDir produces.
func CandleBin() string {
	return filepath.Join(CandleTargetDir(), "release", "lumen-candle-bench")
}

// CandleBuildCommand is the one command that builds the candle worker from
// crates.io, as bench/setup.sh runs it (from the repository root).
const CandleBuildCommand = `RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=` + "$HOME/.cache/lumen/candle-target" +
	` cargo build --release --locked --manifest-path bench/rust/Cargo.toml`

// cargo finds cargo on PATH or in rustup's default place.
func cargo() (string, error) {
	if p, err := exec.LookPath("cargo"); err == nil {
		return p, nil
	}
	if home, err := os.UserHomeDir(); err == nil {
		if p := filepath.Join(home, ".cargo", "bin", "cargo"); fileExists(p) {
			return p, nil
		}
	}
	return "", errors.New("no cargo on PATH or in ~/.cargo/bin (install Rust with rustup)")
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// BuildCandle builds the candle worker of the Cargo project in rustDir (bench/rust)
// into CandleTargetDir with the committed Cargo.lock and target-cpu=native, cargo's
// output going to log, and returns the binary. Incremental: a built worker takes
// seconds to check.
func BuildCandle(ctx context.Context, rustDir string, log io.Writer) (string, error) {
	c, err := cargo()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, c, "build", "--release", "--locked", "--manifest-path", filepath.Join(rustDir, "Cargo.toml"))
	cmd.Env = append(os.Environ(), "RUSTFLAGS=-C target-cpu=native", "CARGO_TARGET_DIR="+CandleTargetDir())
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building the candle worker (%s): %w", CandleBuildCommand, err)
	}
	if !fileExists(CandleBin()) {
		return "", fmt.Errorf("cargo built no %s", CandleBin())
	}
	return CandleBin(), nil
}
