package asm

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/klauspost/cpuid/v2"
)

// Level is an instruction-set level with its own kernels.
type Level int

// The levels, in increasing order of capability on their architecture.
const (
	Generic Level = iota // pure Go
	AVX2                 // amd64: AVX2 + FMA3 + F16C
	AVX512               // amd64: AVX-512 F/BW/DQ/VL (+ AVX2, FMA3)
	NEON                 // arm64: Advanced SIMD
)

func (l Level) String() string {
	switch l {
	case Generic:
		return "generic"
	case AVX2:
		return "avx2"
	case AVX512:
		return "avx512"
	case NEON:
		return "neon"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// ParseLevel maps a LUMEN_CPU value to a Level.
func ParseLevel(s string) (Level, error) {
	for _, l := range []Level{Generic, AVX2, AVX512, NEON} {
		if strings.EqualFold(s, l.String()) {
			return l, nil
		}
	}
	return Generic, fmt.Errorf("asm: unknown CPU level %q (want generic, avx2, avx512 or neon)", s)
}

// Supported lists the levels this CPU can run, Generic first and the best last.
func Supported() []Level {
	out := []Level{Generic}
	switch runtime.GOARCH {
	case "amd64":
		if cpuid.CPU.Supports(cpuid.AVX, cpuid.AVX2, cpuid.FMA3, cpuid.F16C) {
			out = append(out, AVX2)
			if cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512DQ, cpuid.AVX512VL) {
				out = append(out, AVX512)
			}
		}
	case "arm64":
		out = append(out, NEON) // Advanced SIMD is mandatory on arm64
	}
	return out
}

// Best is the level every kernel uses by default: the best the CPU supports, lowered
// by LUMEN_CPU when that names a supported level. It is set once at start-up.
var Best = chooseBest()

// BestReason explains how Best was chosen (for logs and benchmark reports).
var BestReason string

// BestWarning is non-empty when LUMEN_CPU was set but not followed: an unknown value,
// or a level this CPU cannot run. Commands print it on standard error.
var BestWarning string

func chooseBest() Level {
	var l Level
	l, BestReason, BestWarning = choose(os.Getenv("LUMEN_CPU"), Supported(), cpuid.CPU.BrandName)
	return l
}

// choose picks the level for a LUMEN_CPU value among the supported levels (best
// last), saying why, and warning when the value was not followed.
func choose(env string, sup []Level, cpu string) (l Level, reason, warning string) {
	best := sup[len(sup)-1]
	if env == "" {
		return best, fmt.Sprintf("%v (best supported by %s)", best, cpu), ""
	}
	want, err := ParseLevel(env)
	if err != nil {
		return best, fmt.Sprintf("%v (LUMEN_CPU ignored: %v)", best, err),
			fmt.Sprintf("LUMEN_CPU=%q is not a level (generic, avx2, avx512, neon); using %v", env, best)
	}
	for _, s := range sup {
		if s == want {
			return want, fmt.Sprintf("%v (forced by LUMEN_CPU)", want), ""
		}
	}
	return best, fmt.Sprintf("%v (LUMEN_CPU=%s is not supported by this CPU)", best, env),
		fmt.Sprintf("LUMEN_CPU=%s is not supported by this CPU; using %v", env, best)
}

// available[l] reports whether level l runs on this CPU; fixed at start-up.
var available = func() (a [NEON + 1]bool) {
	for _, l := range Supported() {
		a[l] = true
	}
	return a
}()

// Available reports whether l runs on this CPU.
func Available(l Level) bool { return l >= 0 && l <= NEON && available[l] }
