package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/internal/shared"
)

// The test binary doubles as the Go worker: the runner tests start it with
// HARNESS_TEST_WORKER=1 and the request, as `lumen bench-worker` would be started.
// HARNESS_TEST_PERTURB=gonum makes the gonum worker report a wrong product.
func TestMain(m *testing.M) {
	if os.Getenv("HARNESS_TEST_WORKER") == "1" {
		var req Request
		if err := json.Unmarshal([]byte(os.Args[len(os.Args)-1]), &req); err != nil {
			os.Exit(3)
		}
		out := io.Writer(os.Stdout)
		if req.Impl == os.Getenv("HARNESS_TEST_PERTURB") {
			out = &perturb{w: os.Stdout}
		}
		if err := RunWorker(context.Background(), req, os.Stdin, out); err != nil && !IsSkip(err) {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// perturb rewrites the check message's first value.
type perturb struct{ w io.Writer }

func (p *perturb) Write(b []byte) (int, error) {
	var m Message
	if json.Unmarshal(b, &m) == nil && m.Output != nil {
		m.Output.Data[0] += 1000
		nb, _ := json.Marshal(m)
		_, err := p.w.Write(append(nb, '\n'))
		return len(b), err
	}
	return p.w.Write(b)
}

func TestSuites(t *testing.T) {
	for _, name := range []string{"paper", "quick"} {
		ws, err := Suite(name)
		require.NoError(t, err)
		for _, w := range ws {
			require.NoError(t, w.validate(), w.Name)
			require.True(t, w.Supports(ImplLumen), w.Name)
			require.Positive(t, w.Items())
		}
	}
	_, err := Suite("huge")
	require.ErrorContains(t, err, "unknown suite")

	paper := PaperSuite()
	got, err := Select(paper, "gpt2-*, gemm-1024")
	require.NoError(t, err)
	var names []string
	for _, w := range got {
		names = append(names, w.Name)
	}
	require.Equal(t, []string{"gpt2-prefill128", "gpt2-decode", "gpt2-decode-bf16", "gpt2-decode-int8", "gpt2-prefill128-bf16", "gemm-1024"}, names)
	_, err = Select(paper, "resnet")
	require.ErrorContains(t, err, "matches no workload")
	bert, err := Select(paper, "bert-*")
	require.NoError(t, err)
	for q, want := range map[string][]string{"": {"bert-b1s128", "bert-b8s128", "bert-b1s128-int8", "bert-b8s128-int8", "bert-b1s128-bf16", "bert-b8s128-bf16"},
		"none": {"bert-b1s128", "bert-b8s128", "bert-b1s128-bf16", "bert-b8s128-bf16"}, "int8": {"bert-b1s128-int8", "bert-b8s128-int8"}} {
		got, err := SelectQuantized(bert, q)
		require.NoError(t, err)
		var names []string
		for _, w := range got {
			names = append(names, w.Name)
		}
		require.Equal(t, want, names, q)
	}
	_, err = SelectQuantized(bert, "int4")
	require.ErrorContains(t, err, "want none or int8")
	_, err = SelectQuantized(got[:1], "int8") // gpt2-prefill128 alone
	require.ErrorContains(t, err, "no workload")

	w := Workload{Name: "g", Model: GEMM, M: 2, K: 3, N: 4, DType: "f32", Reps: 3}
	require.NoError(t, w.validate())
	require.Equal(t, 48.0, w.Items())
	require.InDelta(t, 48e-9/0.5, w.Rate(0.5), 1e-18)
	for _, bad := range []Workload{
		{Name: "reps", Model: GEMM, M: 1, K: 1, N: 1, DType: "f32", Reps: 2},
		{Name: "dtype", Model: GEMM, M: 1, K: 1, N: 1, DType: "f8", Reps: 3},
		{Name: "shape", Model: GEMM, M: 0, K: 1, N: 1, DType: "f32", Reps: 3},
		{Name: "gpt", Model: GPT2, Seq: 1000, Decode: 100, DType: "f32", Reps: 3},
		{Name: "bert", Model: BERT, Batch: 1, Seq: 513, DType: "f32", Reps: 3},
		{Name: "lenet", Model: LeNet, Batch: 10001, DType: "f32", Reps: 3},
		{Name: "model", Model: "resnet", DType: "f32", Reps: 3},
		{Name: "int4", Model: BERT, Batch: 1, Seq: 8, DType: "f32", Quantize: "int4", Reps: 3},
		{Name: "int8-bf16", Model: GPT2, Seq: 8, DType: "bf16", Quantize: "int8", Reps: 3},
		{Name: "int8-lenet", Model: LeNet, Batch: 1, DType: "f32", Quantize: "int8", Reps: 3},
	} {
		require.Error(t, bad.validate(), bad.Name)
	}
}

func TestInputsAreTheDocumentedFormulas(t *testing.T) {
	a, b := gemmInputs(3, 4, 5)
	require.Equal(t, float32((31*2+17*3)%101-50)/100, a[2*4+3])
	require.Equal(t, float32((13*3+29*4)%97-48)/100, b[3*5+4])
	require.Equal(t, []int{0, 7919, 2 * 7919}, gptPrompt(3, 50257))
	ids := bertIDs(1, 4, 30522)
	require.Equal(t, []int{101, 1000 + (7919+104729)%29522, 1000 + (7919+2*104729)%29522, 102}, ids)
	require.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 99}, gemmCheckRows(100))
	require.Equal(t, []int{0, 1}, gemmCheckRows(2))
	require.Equal(t, 0, lenetStart(0, 256))
	require.Equal(t, (40*256)%(10000-255), lenetStart(40, 256))
}

// worker runs RunWorker in process and returns its messages; answer is what the
// runner says after the check.
func worker(t *testing.T, req Request, answer string) ([]Message, error) {
	t.Helper()
	var out strings.Builder
	err := RunWorker(context.Background(), req, strings.NewReader(answer+"\n"), &out)
	var msgs []Message
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var m Message
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
		msgs = append(msgs, m)
	}
	return msgs, err
}

func TestWorkerProtocol(t *testing.T) {
	w := Workload{Name: "g", Model: GEMM, M: 9, K: 5, N: 7, DType: "f32", Reps: 4, Warmup: 1}
	msgs, err := worker(t, Request{Impl: ImplLumen, Workload: w, Threads: 1}, "time")
	require.NoError(t, err)
	require.Len(t, msgs, 2)
	require.Equal(t, "check", msgs[0].Phase)
	o := msgs[0].Output
	require.Equal(t, 9, o.Rows, "rows 0..7 and 8")
	require.Len(t, o.Data, 9*7)
	// Row 8 of C, computed directly from the formulas.
	a, b := gemmInputs(9, 5, 7)
	for j := 0; j < 7; j++ {
		var s float64
		for p := 0; p < 5; p++ {
			s += float64(a[8*5+p]) * float64(b[p*7+j])
		}
		require.InDelta(t, s, o.Data[8*7+j], 1e-5)
	}
	require.Equal(t, "time", msgs[1].Phase)
	require.Len(t, msgs[1].Samples, 4)

	gon, err := worker(t, Request{Impl: ImplGonum, Workload: w, Threads: 1}, "skip")
	require.True(t, IsSkip(err))
	require.Len(t, gon, 1, "no timing after skip")
	eq, err := equivalent(*o, *gon[0].Output, w)
	require.NoError(t, err)
	require.True(t, eq.Equivalent)

	// Bad requests end with an error message, never a panic.
	for _, req := range []Request{
		{Impl: ImplLumen, Workload: Workload{Name: "x", Model: GEMM, M: 1, K: 1, N: 1, DType: "f32", Reps: 1}, Threads: 1},
		{Impl: ImplLumen, Workload: w, Threads: 0},
		{Impl: "tensorflow", Workload: w, Threads: 1},
		{Impl: ImplGonum, Workload: Workload{Name: "l", Model: LeNet, Batch: 1, DType: "f32", Reps: 3}, Threads: 1},
		{Impl: ImplLumen, Workload: Workload{Name: "b", Model: BERT, Batch: 1, Seq: 8, DType: "f32", Reps: 3}, Threads: 1, Model: t.TempDir()},
	} {
		msgs, err := worker(t, req, "time")
		require.Error(t, err)
		require.Equal(t, "error", msgs[len(msgs)-1].Phase)
		require.NotEmpty(t, msgs[len(msgs)-1].Error)
	}
}

func TestLeNetWorkerAgreesWithReference(t *testing.T) {
	dir := shared.Path(t, "models", "lenet-mnist")
	w := Workload{Name: "lenet-b3", Model: LeNet, Batch: 3, DType: "f32", Reps: 3}
	msgs, err := worker(t, Request{Impl: ImplLumen, Workload: w, Threads: 1, Model: filepath.Join(dir, "lenet.safetensors"),
		MNIST: shared.Path(t, "data", "mnist")}, "time")
	require.NoError(t, err)
	o := msgs[0].Output
	require.Equal(t, "logits", o.Kind)
	require.Equal(t, 64, o.Rows)
	var ref struct {
		Logits [][]float32 `json:"logits_first_16"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "reference.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &ref))
	require.Len(t, ref.Logits, 16)
	for i, row := range ref.Logits {
		for j, v := range row {
			require.InDelta(t, v, o.Data[i*o.Cols+j], 1e-3*max(1, math.Abs(float64(v))), "image %d class %d", i, j)
		}
	}
}

func TestRunnerEndToEnd(t *testing.T) {
	t.Setenv("HARNESS_TEST_WORKER", "1")
	t.Setenv("HARNESS_TEST_PERTURB", ImplGonum)
	out := t.TempDir()
	opts := Options{Suite: "quick", Workloads: "gemm-1x768x2304", Impls: []string{ImplLumen, ImplGonum, ImplCandle, ImplPyTorch},
		Threads: []int{1, 2}, Reps: 5, Out: out, LumenWorker: []string{os.Args[0], "-test.run=^$"},
		PythonDir: t.TempDir(), CandleBin: filepath.Join(t.TempDir(), "missing"), Command: "test"}
	var progress strings.Builder
	opts.Progress = &progress
	rep, err := Run(context.Background(), opts)
	require.NoError(t, err)
	require.Len(t, rep.Runs, 8)
	status := map[string]string{}
	for _, r := range rep.Runs {
		status[r.Impl] = r.Status
	}
	require.Equal(t, StatusOK, status[ImplLumen])
	require.Equal(t, StatusDisagree, status[ImplGonum], "the perturbed worker must not be timed")
	require.Equal(t, StatusNotBuilt, status[ImplCandle])
	require.Equal(t, StatusUnavailable, status[ImplPyTorch], "no bench_worker.py in PythonDir")
	for _, r := range rep.Runs {
		if r.Impl == ImplLumen {
			require.Len(t, r.Samples, 5)
			require.NotNil(t, r.Summary)
			require.Positive(t, r.Rate)
			require.Positive(t, r.PeakRSS)
		}
		if r.Impl == ImplGonum {
			require.Empty(t, r.Samples)
			require.False(t, r.Equivalence.Equivalent)
			require.Greater(t, r.Equivalence.MaxAbsDiff, 900.0)
		}
	}
	require.Empty(t, rep.Comparisons, "nothing else was timed")
	require.Len(t, rep.Failed(true), 2)
	require.Empty(t, rep.Failed(false))
	require.Contains(t, progress.String(), "8/8")
	require.Contains(t, progress.String(), "limits: DRAM read ")
	require.NotNil(t, rep.Limits)

	require.NoError(t, rep.Write(out))
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	require.NoError(t, err)
	for _, want := range []string{"gemm-1x768x2304", "outputs differ", "Not run:", "candle: no candle worker", "- Machine limits: DRAM read ", "| of limit |"} {
		require.Contains(t, string(md), want)
	}
	for _, f := range []string{"report.json", "latency-gemm-1x768x2304.svg", "throughput-t1.svg", "throughput-t2.svg", "scaling.svg"} {
		st, err := os.Stat(filepath.Join(out, f))
		require.NoError(t, err, f)
		require.Positive(t, st.Size(), f)
	}
	var back Report
	js, err := os.ReadFile(filepath.Join(out, "report.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(js, &back))
	require.Equal(t, rep.Runs[0].Samples, back.Runs[0].Samples, "every sample is in the JSON")
}

func TestCompareAcrossImplementations(t *testing.T) {
	rep := &Report{Runs: []Result{
		{Workload: "w", Impl: "a", Threads: 1, Status: StatusOK, Samples: []float64{1, 1.1, 0.9, 1.05, 0.95, 1.02}},
		{Workload: "w", Impl: "b", Threads: 1, Status: StatusOK, Reference: "a", Samples: []float64{2, 2.1, 1.9, 2.05, 1.95, 2.2}},
		{Workload: "w", Impl: "c", Threads: 1, Status: StatusOK, Reference: "a", Samples: []float64{1, 1.1, 0.9, 1.05, 0.95, 1.01}},
	}}
	w := Workload{Name: "w", Model: GEMM, M: 1, K: 1, N: 1}
	for i := range rep.Runs {
		rep.Runs[i].summarize(w)
	}
	rep.compare()
	require.Len(t, rep.Comparisons, 2)
	b, c := rep.Comparisons[0], rep.Comparisons[1]
	require.InDelta(t, 2.0, b.SpeedupA, 0.1)
	require.Less(t, b.PAdjust, 0.05)
	require.Negative(t, b.CliffsDelta)
	require.Greater(t, c.PAdjust, 0.05)
	require.InDelta(t, min(1, 2*c.P), c.PAdjust, 1e-12, "Bonferroni over both comparisons")
}

func TestPythonWithoutTorchIsUnavailable(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bench_worker.py"), []byte("raise SystemExit(1)\n"), 0o644))
	py := filepath.Join(dir, "python")
	require.NoError(t, os.WriteFile(py, []byte("#!/bin/sh\necho 'ModuleNotFoundError: No module named torch' >&2\nexit 1\n"), 0o755))
	r := &runner{o: Options{Python: py, PythonDir: dir}}
	argv, status, reason := r.command(Request{Impl: ImplPyTorch})
	require.Nil(t, argv)
	require.Equal(t, StatusUnavailable, status)
	require.Contains(t, reason, "cannot import torch")
	require.Contains(t, reason, "No module named torch")
}

// pytorch-pypi is the PyTorch worker on its own interpreter.
func TestPyTorchPyPIUsesItsInterpreter(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bench_worker.py"), nil, 0o644))
	py := filepath.Join(dir, "pypi-python")
	require.NoError(t, os.WriteFile(py, []byte("#!/bin/sh\nexit 0\n"), 0o755))
	r := &runner{o: Options{Python: filepath.Join(dir, "missing"), PythonDir: dir}}
	argv, status, reason := r.command(Request{Impl: ImplPyTorchPyPI})
	require.Nil(t, argv)
	require.Equal(t, StatusUnavailable, status)
	require.Contains(t, reason, "--pypi-torch")
	r.o.PythonPyPI = py
	argv, _, reason = r.command(Request{Impl: ImplPyTorchPyPI})
	require.NotNil(t, argv, reason)
	require.Equal(t, py, argv[0])
	require.Equal(t, filepath.Join(dir, "bench_worker.py"), argv[1])
}

// A worker that answers "unsupported" makes a row with its reason, not a failure.
func TestUnsupportedIsARowNotAFailure(t *testing.T) {
	t.Setenv("HARNESS_TEST_WORKER", "1")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hf_worker.py"), nil, 0o644))
	py := filepath.Join(dir, "python")
	require.NoError(t, os.WriteFile(py, []byte(`#!/bin/sh
[ "$1" = -c ] && exit 0
echo '{"phase":"unsupported","error":"transformers has no bare matrix product"}'
`), 0o755))
	out := t.TempDir()
	opts := Options{Suite: "quick", Workloads: "gemm-1x768x2304", Impls: []string{ImplLumen, ImplTransformers}, Threads: []int{1}, Reps: 3,
		Out: out, LumenWorker: []string{os.Args[0], "-test.run=^$"}, Python: py, PythonDir: dir, NoLimits: true, Command: "test"}
	rep, err := Run(context.Background(), opts)
	require.NoError(t, err)
	require.Len(t, rep.Runs, 2)
	r := rep.Runs[1]
	require.Equal(t, StatusUnsupported, r.Status)
	require.Equal(t, "transformers has no bare matrix product", r.Reason)
	require.Empty(t, rep.Failed(true))
	require.NoError(t, rep.Write(out))
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	require.NoError(t, err)
	require.Contains(t, string(md), "| transformers | unsupported: transformers has no bare matrix product |")
}

// TestLimits: the probes measure something, and a run's share of its limit is its
// rate over the limit that bounds its workload.
func TestLimits(t *testing.T) {
	l := MeasureLimits([]int{1}, 50*time.Millisecond)
	require.Positive(t, l.ReadGBs[1])
	require.Positive(t, l.PeakGFLOPs[1])
	l = Limits{ReadGBs: map[int]float64{1: 20}, PeakGFLOPs: map[int]float64{1: 100}}
	gemm := Workload{Model: GEMM, M: 8, K: 8, N: 8}
	decode := Workload{Model: GPT2, Seq: 128, Decode: 32}
	prefill := Workload{Model: GPT2, Seq: 128}
	require.InDelta(t, 0.5, l.share(gemm, 1, 50, 0), 1e-12)
	require.InDelta(t, 0.75, l.share(decode, 1, 30, 500_000_000), 1e-12) // 30 tokens/s × 0.5 GB = 15 GB/s of 20
	require.Zero(t, l.share(prefill, 1, 400, 500_000_000))
	require.Zero(t, l.share(gemm, 2, 50, 0), "no limit measured at 2 threads")
}

// TestPeakRSSIsTheWorkersOwn: a runner that holds 300 MiB itself still reports a
// small worker's own peak (the kernel's maxrss would start at the runner's).
func TestPeakRSSIsTheWorkersOwn(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("VmHWM is Linux's")
	}
	t.Setenv("HARNESS_TEST_WORKER", "1")
	ballast := make([]byte, 300<<20)
	for i := range ballast {
		ballast[i] = byte(i)
	}
	opts := Options{Suite: "quick", Workloads: "gemm-1x768x2304", Impls: []string{ImplLumen}, Threads: []int{1}, Reps: 3,
		Out: t.TempDir(), LumenWorker: []string{os.Args[0], "-test.run=^$"}, NoLimits: true, Command: "test"}
	rep, err := Run(context.Background(), opts)
	require.NoError(t, err)
	require.Len(t, rep.Runs, 1)
	r := rep.Runs[0]
	require.Equal(t, StatusOK, r.Status, r.Reason)
	require.False(t, r.PeakRSSInherited)
	require.Positive(t, r.PeakRSS)
	require.Less(t, r.PeakRSS, int64(200<<20), "the worker's own peak, not the runner's 300 MiB")
	runtime.KeepAlive(ballast)
}

func TestParseVmHWM(t *testing.T) {
	require.Equal(t, int64(123456)<<10, parseVmHWM("Name:\tx\nVmPeak:\t  999 kB\nVmHWM:\t  123456 kB\nVmRSS:\t 1 kB\n"))
	require.Zero(t, parseVmHWM("Name:\tx\n"))
	require.Zero(t, parseVmHWM("VmHWM:\tlots kB\n"))
}

// The serve suite's check: a completion whole; embeddings normalised, within 1e-3.
func TestServeOutputsDiffer(t *testing.T) {
	require.Empty(t, differ(serveOutput{text: "a b"}, serveOutput{text: "a b"}, false))
	require.Contains(t, differ(serveOutput{text: "a b"}, serveOutput{text: "a c"}, false), "outputs differ")
	e := []float32{3, 4, 0}
	require.Empty(t, differ(serveOutput{emb: e}, serveOutput{emb: []float32{0.6, 0.8, 0}}, false), "one normalises, one does not")
	require.Contains(t, differ(serveOutput{emb: e}, serveOutput{emb: []float32{3, 4, 0.1}}, false), "apart")
	require.Contains(t, differ(serveOutput{emb: e}, serveOutput{emb: []float32{3, 4}}, false), "2 values")
	// Int8 servers of another implementation: any completion, cosine 0.99.
	require.Empty(t, differ(serveOutput{text: " the cat sat"}, serveOutput{text: " a dog ran"}, true))
	require.Contains(t, differ(serveOutput{text: " the cat"}, serveOutput{text: " "}, true), "empty")
	require.Empty(t, differ(serveOutput{emb: e}, serveOutput{emb: []float32{3, 4, 0.1}}, true))
	require.Contains(t, differ(serveOutput{emb: e}, serveOutput{emb: []float32{3, 4, 4}}, true), "cosine")
}

// Each workload gets its table; the relative lines compare with the first server
// that ran the workload (lumen-nobatch has no embeddings rows).
func TestServeMarkdown(t *testing.T) {
	rows := []ServeRow{
		{Workload: ServeCompletions, Impl: ServeLumenNoBatch, Clients: 1, Status: "ok", TokensPerSec: 30, Requests: 1},
		{Workload: ServeCompletions, Impl: ServePyTorch, Clients: 1, Status: "ok", TokensPerSec: 10, Requests: 1},
		{Workload: ServeEmbeddings, Impl: ServeLumen, Clients: 1, Status: "ok", QPS: 100, Requests: 100},
		{Workload: ServeEmbeddings, Impl: ServePyTorch, Clients: 1, Status: "outputs differ: x"},
		{Workload: ServeEmbeddings, Impl: ServePyTorch, Clients: 4, Status: "ok", QPS: 50, Requests: 50},
	}
	md := ServeMarkdown(rows, ServeOptions{Impls: []string{ServeLumenNoBatch, ServeLumen, ServePyTorch}, Clients: []int{1, 4}})
	require.Contains(t, md, "### Multi-client completions")
	require.Contains(t, md, "### Multi-client embeddings")
	require.Contains(t, md, "lumen-nobatch's aggregate tokens/s relative to each other server at the same client count:\n\n- 1 clients: 3.00× pytorch")
	require.Contains(t, md, "| pytorch | 1 | | | | | outputs differ: x |")
	require.NotContains(t, md, "lumen's aggregate requests/s", "no client count where both ran")
}

// TestInt8Workloads: an int8 workload's reference run is compared with the F32 run of
// the same workload (VsF32), and the report sets Lumen int8 against Lumen F32.
func TestInt8Workloads(t *testing.T) {
	t.Setenv("HARNESS_TEST_WORKER", "1")
	out := t.TempDir()
	opts := Options{Suite: "paper", Workloads: "bert-b1s128,bert-b1s128-int8", Impls: []string{ImplLumen}, Threads: []int{1}, Reps: 3,
		Out: out, LumenWorker: []string{os.Args[0], "-test.run=^$"}, ModelsDir: t.TempDir(), BERTSize: "tiny", NoLimits: true, Command: "test"}
	rep, err := Run(context.Background(), opts)
	require.NoError(t, err)
	require.Len(t, rep.Runs, 2)
	f32, i8 := rep.Runs[0], rep.Runs[1]
	require.Equal(t, StatusOK, f32.Status, f32.Reason)
	require.Equal(t, StatusOK, i8.Status, i8.Reason)
	require.Nil(t, f32.VsF32)
	require.NotNil(t, i8.VsF32)
	require.Greater(t, i8.VsF32.Pearson, 0.99)
	require.Less(t, i8.VsF32.Pearson, 1.0, "int8 is not F32")
	require.Len(t, rep.Comparisons, 1)
	require.Equal(t, "lumen f32", rep.Comparisons[0].B)
	require.NoError(t, rep.Write(out))
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	require.NoError(t, err)
	require.Contains(t, string(md), "| bert-b1s128-int8 | 1 | lumen | bert-b1s128 |")
	require.Contains(t, string(md), "int8 dynamic quantisation")
}
