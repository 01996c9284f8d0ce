package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/bench/harness"
	"github.com/lumen-ml/lumen/internal/shared"
)

func TestBenchFlags(t *testing.T) {
	sh := shared.Path(t)
	for args, want := range map[string]string{
		"bench --threads 0":                            "--threads",
		"bench --threads x":                            "--threads",
		"bench --impl ,":                               "--impl: empty",
		"bench --impl tensorflow --shared " + sh:       "unknown implementation",
		"bench --suite huge --shared " + sh:            "unknown suite",
		"bench --workloads resnet --shared " + sh:      "matches no workload",
		"bench --shared " + t.TempDir():                "no models/lenet-mnist",
		"bench-worker --request {":                     "--request",
		"bench-worker --request {\"unknown_field\":1}": "unknown field",
	} {
		var stdout, stderr strings.Builder
		code := run(append(strings.Fields(args), "--out", t.TempDir()), &stdout, &stderr)
		if strings.HasPrefix(args, "bench-worker") {
			code = run(strings.Fields(args), &stdout, &stderr)
		}
		require.Equal(t, 1, code, args)
		require.Contains(t, stderr.String(), want, args)
	}
}

// TestBenchRunsWorkers runs the real binary: Lumen and gonum workers in their own
// processes, checked, timed, reported.
func TestBenchRunsWorkers(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "lumen")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	dir := t.TempDir()
	cmd := exec.Command(bin, "bench", "--suite", "quick", "--workloads", "lenet-b256,gemm-1x768x2304", "--impl", "lumen,gonum,candle",
		"--reps", "3", "--shared", shared.Path(t), "--out", dir, "--candle", filepath.Join(dir, "none"))
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "3/5")
	js, err := os.ReadFile(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	var rep harness.Report
	require.NoError(t, json.Unmarshal(js, &rep))
	got := map[string]string{}
	for _, r := range rep.Runs {
		got[r.Workload+"/"+r.Impl] = r.Status
		if r.Status == harness.StatusOK {
			require.Len(t, r.Samples, 3)
		}
	}
	require.Equal(t, map[string]string{
		"lenet-b256/lumen": "ok", "lenet-b256/candle": "not built",
		"gemm-1x768x2304/lumen": "ok", "gemm-1x768x2304/gonum": "ok", "gemm-1x768x2304/candle": "not built",
	}, got)
	require.Len(t, rep.Comparisons, 1, "lumen vs gonum on the GEMM")
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	require.Contains(t, string(md), "lumen vs gonum")
}
