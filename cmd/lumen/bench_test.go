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
		"--reps", "3", "--shared", shared.Path(t), "--out", dir, "--candle", filepath.Join(dir, "none"), "--build-candle=false")
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

// TestBenchServeSuite runs the multi-client workload on the tiny GPT-2: each server
// started, checked against the first, measured at two client counts. PyTorch's
// server joins when Debian's torch is there (CI installs it).
func TestBenchServeSuite(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "lumen")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	impls := "lumen,lumen-nobatch"
	if exec.Command(defaultPython(harness.CacheDir()), "-c", "import torch").Run() == nil {
		impls += ",pytorch"
	}
	dir := t.TempDir()
	cmd := exec.Command(bin, "bench", "--suite", "serve", "--impl", impls, "--gpt2-size", "tiny", "--bert-size", "tiny", "--clients", "1,3",
		"--serve-duration", "1s", "--max-tokens", "6", "--models", t.TempDir(), "--out", dir, "--python-dir", filepath.Join("..", "..", "bench", "python"))
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	js, err := os.ReadFile(filepath.Join(dir, "serve.json"))
	require.NoError(t, err)
	var rows []harness.ServeRow
	require.NoError(t, json.Unmarshal(js, &rows))
	servers := len(strings.Split(impls, ","))
	require.Len(t, rows, 2*servers+2*(servers-1), "completions on every server, embeddings on all but lumen-nobatch: %s", out)
	for _, r := range rows {
		require.Equal(t, "ok", r.Status, "%s %s with %d clients", r.Workload, r.Impl, r.Clients)
		require.Positive(t, r.Requests)
		require.Zero(t, r.Errors)
		if r.Workload == harness.ServeCompletions {
			require.Positive(t, r.Tokens)
		} else {
			require.Equal(t, harness.ServeEmbeddings, r.Workload)
			require.NotEqual(t, harness.ServeLumenNoBatch, r.Impl)
		}
	}
	require.Contains(t, string(out), "lumen's aggregate tokens/s relative to each other server")
	require.Contains(t, string(out), "### Multi-client embeddings")
}

// A server that cannot start gets rows saying why; the others are still measured.
func TestBenchServeSuiteServerFails(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "lumen")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	dir := t.TempDir()
	out, err = exec.Command(bin, "bench", "--suite", "serve", "--workloads", "completions", "--impl", "lumen,pytorch", "--gpt2-size", "tiny", "--clients", "1",
		"--serve-duration", "500ms", "--max-tokens", "4", "--models", t.TempDir(), "--out", dir, "--python", filepath.Join(dir, "no-python")).CombinedOutput()
	require.NoError(t, err, string(out))
	js, err := os.ReadFile(filepath.Join(dir, "serve.json"))
	require.NoError(t, err)
	var rows []harness.ServeRow
	require.NoError(t, json.Unmarshal(js, &rows))
	require.Len(t, rows, 2)
	require.Equal(t, "ok", rows[0].Status)
	require.Contains(t, rows[1].Status, "no-python")
}
