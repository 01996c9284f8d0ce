// Package cuda runs Lumen's matrix products on an NVIDIA GPU through cuBLAS. It is
// built with `-tags cublas` on linux/amd64 and linux/arm64 and needs neither cgo nor
// CUDA at build time: libcudart and libcublas are opened at run time with dlopen
// (github.com/ebitengine/purego; the unversioned name first, then sonames 13, 12 and
// 11). Without the tag, Open reports that the build has no CUDA support.
//
// A Device implements ops.Device: model weights are uploaded once and stay resident
// (F32, also for BF16/F16 checkpoints); each product moves its activations through
// pinned host buffers on one of the device's streams (one per worker, each with its
// own cuBLAS handle), so concurrent callers do not serialise on one stream. TF32 is off
// unless Config.TF32 (or LUMEN_CUDA_TF32=1) asks for it, so results match the CPU
// within the fixtures' tolerances.
//
// FromEnv reads LUMEN_DEVICE: "cpu" (or unset) keeps everything on the CPU; "cuda"
// (or "cuda:N") requires a GPU and returns a clear error without one; "auto" uses a
// GPU when the libraries and a device are present and silently stays on the CPU
// otherwise.
package cuda

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/lumen-ml/lumen/ops"
)

// ErrUnavailable is wrapped by every error saying that no usable GPU or CUDA library
// was found (or that this build has no CUDA support).
var ErrUnavailable = errors.New("cuda: unavailable")

// Config chooses the GPU and how products run on it.
type Config struct {
	Device  int  // CUDA device ordinal
	Workers int  // streams (each with a cuBLAS handle and pinned buffers); default 2
	TF32    bool // allow TF32 tensor-core math in SGEMM (faster, ~10-bit mantissa)
}

// Mode is a LUMEN_DEVICE choice.
type Mode struct {
	Kind   string // "cpu", "cuda" or "auto"
	Device int
}

// ParseMode parses "cpu", "cuda", "cuda:N" or "auto" ("" is "cpu").
func ParseMode(s string) (Mode, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "", "cpu":
		return Mode{Kind: "cpu"}, nil
	case "cuda", "gpu":
		return Mode{Kind: "cuda"}, nil
	case "auto":
		return Mode{Kind: "auto"}, nil
	}
	if rest, ok := strings.CutPrefix(s, "cuda:"); ok {
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 {
			return Mode{Kind: "cuda", Device: n}, nil
		}
	}
	return Mode{}, fmt.Errorf("LUMEN_DEVICE=%q: want cpu, cuda, cuda:N or auto", s)
}

// FromEnv opens the device LUMEN_DEVICE asks for. It returns a nil Device (and no
// error) for the CPU, including "auto" without a usable GPU; the caller passes the
// result to the models' WithDevice options and closes it after the models.
func FromEnv() (ops.Device, error) {
	mode, err := ParseMode(os.Getenv("LUMEN_DEVICE"))
	if err != nil {
		return nil, err
	}
	return OpenMode(mode, Config{TF32: os.Getenv("LUMEN_CUDA_TF32") == "1"})
}

// OpenMode opens the device for mode with cfg (cfg.Device is taken from the mode).
func OpenMode(mode Mode, cfg Config) (ops.Device, error) {
	if mode.Kind == "cpu" {
		return nil, nil
	}
	cfg.Device = mode.Device
	d, err := Open(cfg)
	if err != nil {
		if mode.Kind == "auto" && errors.Is(err, ErrUnavailable) {
			return nil, nil
		}
		return nil, err
	}
	return d, nil
}

// Open loads the CUDA libraries and prepares cfg.Device for products.
func Open(cfg Config) (ops.Device, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Device < 0 || cfg.Workers > 64 {
		return nil, fmt.Errorf("cuda: device %d with %d workers", cfg.Device, cfg.Workers)
	}
	return open(cfg)
}
