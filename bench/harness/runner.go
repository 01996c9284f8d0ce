package harness

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lumen-ml/lumen/bench/stats"
	"github.com/lumen-ml/lumen/loader/idx"
	"github.com/lumen-ml/lumen/models/bert"
	"github.com/lumen-ml/lumen/models/gpt2"
	"github.com/lumen-ml/lumen/models/lenet"
	"github.com/lumen-ml/lumen/tensor"
)

// Options configures Run.
type Options struct {
	Suite     string   // "paper" or "quick"
	Workloads string   // optional filter for Select
	Impls     []string // default: AllImpls()
	Threads   []int    // default: 1
	Reps      int      // overrides every workload's repetitions when > 0
	CheckOnly bool     // run the equivalence checks, time nothing
	// Quantize keeps the workloads with this dynamic quantisation: "int8" those with
	// it, "none" those without; "" keeps both.
	Quantize string
	Out      string // report directory (created)

	Shared    string // the shared directory (LeNet weights, MNIST)
	TrainData string // MNIST-format training data for LeNetTrain (default: CacheDir()/mnist, which bench/setup.sh links)
	ModelsDir string // where the random full-size GPT-2/BERT checkpoints live (written when missing)
	GPT2Size  string // gpt2.SizeConfig name (default "124M")
	BERTSize  string // bert.SizeConfig name (default "base")

	LumenWorker []string // argv prefix of the Go worker (lumen and gonum); the request follows
	Python      string   // Python interpreter with torch (and transformers, onnxruntime)
	PythonPyPI  string   // Python interpreter with PyPI's torch, for pytorch-pypi
	PythonDir   string   // bench/python
	CandleBin   string   // the built Rust worker (default CandleBin())
	RustDir     string   // bench/rust: with BuildCandle, the worker is built from here when CandleBin is missing
	BuildCandle bool

	Timeout  time.Duration // per worker process (default 20 min)
	Progress io.Writer     // progress lines (nil: none)
	NoLimits bool          // skip measuring the machine's limits at the start
	Command  string        // the command line, recorded in the report
}

// Run executes the suite: for every thread count, workload and implementation, a
// worker process runs the equivalence check, then (if its outputs agree with the
// reference implementation's) the warm-up and timed repetitions. It returns the
// report with the statistics; writing it is up to the caller (Report.Write).
func Run(ctx context.Context, o Options) (*Report, error) {
	o.Suite = cmp.Or(o.Suite, "paper")
	ws, err := Suite(o.Suite)
	if err != nil {
		return nil, err
	}
	if ws, err = Select(ws, o.Workloads); err != nil {
		return nil, err
	}
	if ws, err = SelectQuantized(ws, o.Quantize); err != nil {
		return nil, err
	}
	if len(o.Impls) == 0 {
		o.Impls = AllImpls()
	}
	for _, impl := range o.Impls {
		if !slices.Contains(AllImpls(), impl) {
			return nil, fmt.Errorf("--impl: unknown implementation %q (want %s)", impl, strings.Join(AllImpls(), ", "))
		}
	}
	o.CandleBin = cmp.Or(o.CandleBin, CandleBin())
	if slices.Contains(o.Impls, ImplCandle) && o.BuildCandle && !fileExists(o.CandleBin) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "building the candle worker (first use; minutes): %s\n", CandleBuildCommand)
		}
		log := o.Progress
		if log == nil {
			log = io.Discard
		}
		if bin, err := BuildCandle(ctx, cmp.Or(o.RustDir, filepath.Join("bench", "rust")), log); err != nil {
			if o.Progress != nil {
				fmt.Fprintf(o.Progress, "%v: its rows will say not built\n", err)
			}
		} else {
			o.CandleBin = bin
		}
	}
	if len(o.Threads) == 0 {
		o.Threads = []int{1}
	}
	for _, t := range o.Threads {
		if t < 1 || t > 1024 {
			return nil, fmt.Errorf("--threads: %d (want 1..1024)", t)
		}
	}
	for i := range ws {
		if o.Reps > 0 {
			ws[i].Reps = max(o.Reps, 3)
		}
		if err := ws[i].validate(); err != nil {
			return nil, err
		}
	}
	if o.Timeout <= 0 {
		o.Timeout = 20 * time.Minute
	}
	if o.Out == "" {
		return nil, errors.New("no output directory")
	}
	if err := os.MkdirAll(filepath.Join(o.Out, "logs"), 0o755); err != nil {
		return nil, err
	}
	r := &runner{o: o, env: threadEnv()}
	rep := &Report{Date: time.Now().UTC().Format(time.RFC3339), Command: o.Command, Suite: o.Suite,
		CheckOnly: o.CheckOnly, Machine: describeMachine(), Env: r.env, Threads: o.Threads, Impls: o.Impls}
	rep.Workloads = ws
	models, err := r.prepareModels(ctx, ws)
	if err != nil {
		return nil, err
	}
	train, trainErr := r.prepareTraining(ws)
	for _, w := range ws { // what a decode step streams: every weight, once
		if w.Model == GPT2 {
			if st, err := os.Stat(filepath.Join(models[w.Name], "model.safetensors")); err == nil {
				if rep.WeightBytes == nil {
					rep.WeightBytes = map[string]int64{}
				}
				rep.WeightBytes[w.Name] = st.Size()
				if w.Quantize == "int8" { // one byte per weight instead of four
					rep.WeightBytes[w.Name] = st.Size() / 4
				}
			}
		}
	}
	if !o.CheckOnly && !o.NoLimits {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "measuring this machine's limits (DRAM read bandwidth, micro-kernel peak) at %v threads\n", o.Threads)
		}
		l := MeasureLimits(o.Threads, 500*time.Millisecond)
		rep.Limits = &l
		if o.Progress != nil {
			fmt.Fprintln(o.Progress, rep.limitsLine())
		}
	}
	total := 0
	for _, w := range ws {
		for _, impl := range o.Impls {
			if w.Supports(impl) {
				total += len(o.Threads)
			}
		}
	}
	done := 0
	for _, t := range o.Threads {
		f32Refs := map[string]*Output{} // the reference output of each workload at t threads
		for _, w := range ws {
			var ref *Output
			refImpl := ""
			for _, impl := range o.Impls {
				if !w.Supports(impl) {
					continue
				}
				done++
				req := Request{Impl: impl, Workload: w, Threads: t, Model: models[w.Name], MNIST: filepath.Join(o.Shared, "data", "mnist")}
				var run Result
				if w.Model == LeNetTrain {
					req.Model, req.Train = train.init, train.data[w.Name]
				}
				if w.Model == LeNetTrain && trainErr != nil {
					run = Result{Workload: w.Name, Impl: impl, Threads: t, Status: StatusUnavailable, Reason: trainErr.Error()}
				} else {
					run = r.runOne(ctx, req, ref, refImpl)
				}
				if ref == nil && run.output != nil && run.Status != StatusFailed {
					ref, refImpl = run.output, impl
					f32Refs[w.Name] = ref
				}
				if base, ok := f32Refs[strings.TrimSuffix(w.Name, "-int8")]; ok && w.Quantize != "" && run.output != nil {
					if e, err := equivalent(*base, *run.output, Workload{DType: "f32"}); err == nil {
						run.VsF32 = &e
					}
				}
				rep.Runs = append(rep.Runs, run)
				r.progress(done, total, run)
				if err := ctx.Err(); err != nil {
					return rep, err
				}
			}
		}
	}
	rep.compare()
	return rep, nil
}

// Result statuses (Result.Status).
const (
	StatusOK          = "ok"             // checked and timed
	StatusChecked     = "checked"        // outputs agree; timing not requested
	StatusDisagree    = "outputs differ" // not timed
	StatusNotBuilt    = "not built"
	StatusUnsupported = "unsupported" // the implementation has no such model or dtype (the reason says which)
	StatusUnavailable = "unavailable"
	StatusFailed      = "failed"
)

type runner struct {
	o         Options
	env       map[string]string
	importErr map[string]error // per Python implementation: why its imports fail (checked once)
}

// pythonWorkers are the Python implementations: their worker script in PythonDir and
// the modules its interpreter must import.
var pythonWorkers = map[string]struct{ script, imports, install string }{
	ImplPyTorch:      {"bench_worker.py", "torch, numpy", "apt-get install python3-torch"},
	ImplPyTorchPyPI:  {"bench_worker.py", "torch, numpy", "bash bench/setup.sh --pypi-torch, then --python-pypi ~/.cache/lumen/venv-pypi-torch/bin/python"},
	ImplTransformers: {"hf_worker.py", "torch, numpy, transformers", "bash bench/setup.sh, then --python ~/.cache/lumen/venv/bin/python"},
	ImplONNXRuntime:  {"ort_worker.py", "torch, numpy, onnxruntime", "bash bench/setup.sh, then --python ~/.cache/lumen/venv/bin/python"},
}

// threadEnv is the environment every worker gets besides the thread counts:
// OPENBLAS_CORETYPE names the best OpenBLAS kernel this CPU runs, and
// OMP_WAIT_POLICY=PASSIVE stops idle OpenMP threads from spinning. PyTorch runs its
// intra-op OpenMP pool and OpenBLAS's own pthreads on the same CPUs; with the default
// (active) policy the spinning OpenMP threads starve OpenBLAS's, and PyTorch at two
// threads ran 2.5-4× slower than at one (BERT-base b1s128: 740 ms; with PASSIVE 167 ms).
func threadEnv() map[string]string {
	env := map[string]string{"OMP_WAIT_POLICY": "PASSIVE"}
	if ct := openBLASCoreType(); ct != "" {
		env["OPENBLAS_CORETYPE"] = ct
	}
	return env
}

func (r *runner) progress(done, total int, run Result) {
	if r.o.Progress == nil {
		return
	}
	const width = 24
	fill := done * width / max(total, 1)
	bar := strings.Repeat("#", fill) + strings.Repeat(".", width-fill)
	detail := run.Status
	switch {
	case run.Summary != nil:
		detail += fmt.Sprintf(", %d reps, median %s", run.Summary.N, fmtSeconds(run.Summary.Median))
	case run.Status == StatusNotBuilt || run.Status == StatusUnavailable:
		detail += " (see the report)"
	case run.Reason != "":
		detail += ": " + firstLine(run.Reason)
	}
	fmt.Fprintf(r.o.Progress, "[%s] %*d/%d %s · %s · %d thr: %s\n", bar, len(strconv.Itoa(total)), done, total, run.Workload, run.Impl, run.Threads, detail)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// prepareModels returns each workload's checkpoint path, writing the random
// full-size GPT-2/BERT checkpoints into ModelsDir when they are missing.
func (r *runner) prepareModels(ctx context.Context, ws []Workload) (map[string]string, error) {
	paths := map[string]string{}
	for _, w := range ws {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var dir string
		var err error
		switch w.Model {
		case LeNet:
			paths[w.Name] = filepath.Join(r.o.Shared, "models", "lenet-mnist", "lenet.safetensors")
			continue
		case GEMM, LeNetTrain: // training: see prepareTraining
			continue
		case GPT2:
			dir, err = randomGPT2(r.o.ModelsDir, cmp.Or(r.o.GPT2Size, "124M"), w.DType)
		case BERT:
			dir, err = randomBERT(r.o.ModelsDir, cmp.Or(w.Size, r.o.BERTSize, "base"))
		}
		if err != nil {
			return nil, fmt.Errorf("preparing the model of %s: %w", w.Name, err)
		}
		paths[w.Name] = dir
	}
	return paths, nil
}

// trainSeed seeds the training workloads' initial weights and data order.
const trainSeed = 1

// training is what the training workloads share: the initial weights (a model
// directory) and, per workload, the data, normalisation and order.
type training struct {
	init string
	data map[string]*TrainData
}

// prepareTraining loads the training set once, and writes the initial weights and
// each workload's visiting order into ModelsDir when they are missing. An error means
// the training workloads cannot run here (their rows say why).
func (r *runner) prepareTraining(ws []Workload) (training, error) {
	t := training{data: map[string]*TrainData{}}
	need := slices.ContainsFunc(ws, func(w Workload) bool { return w.Model == LeNetTrain })
	if !need {
		return t, nil
	}
	dir := cmp.Or(r.o.TrainData, filepath.Join(CacheDir(), "mnist"))
	hint := "run bash bench/setup.sh (it links MNIST from the Go module proxy as ~/.cache/lumen/mnist) or pass --train-data DIR"
	ds, err := idx.LoadSplit(dir, "train")
	if err != nil {
		return t, fmt.Errorf("no training set: %w; %s", err, hint)
	}
	if _, err := idx.LoadSplit(dir, "t10k"); err != nil {
		return t, fmt.Errorf("no test set beside the training set: %w; %s", err, hint)
	}
	norm, err := lenet.DataNormalization(ds.Images)
	if err != nil {
		return t, fmt.Errorf("%s: %w", dir, err)
	}
	t.init = filepath.Join(r.o.ModelsDir, fmt.Sprintf("lenet-train-init-seed%d", trainSeed))
	err = ensureModel(t.init, func(tmp string) error {
		w, err := lenet.InitWeights(lenet.DefaultLayout(), trainSeed)
		if err != nil {
			return err
		}
		return w.Save(tmp, norm, map[string]any{"init": fmt.Sprintf("Kaiming-uniform, seed %d (lenet.InitWeights)", trainSeed)})
	})
	if err != nil {
		return t, fmt.Errorf("writing the initial weights: %w", err)
	}
	for _, w := range ws {
		if w.Model != LeNetTrain {
			continue
		}
		if ds.N != w.TrainImages {
			return t, fmt.Errorf("%s: %d training images, the workloads are defined on %d", dir, ds.N, w.TrainImages)
		}
		epochs := max(w.Epochs, w.CheckEpochs)
		order := filepath.Join(r.o.ModelsDir, fmt.Sprintf("lenet-train-order-seed%d-n%d-e%d.u32", trainSeed, ds.N, epochs))
		if err := writeOrder(order, ds.N, epochs); err != nil {
			return t, fmt.Errorf("writing the data order: %w", err)
		}
		t.data[w.Name] = &TrainData{Data: dir, Order: order, Epochs: epochs, Mean: norm.Mean, Std: norm.Std}
	}
	return t, nil
}

// writeOrder writes epochs permutations of n (lenet.Shuffle with trainSeed) as uint32
// little-endian, unless the file exists.
func writeOrder(path string, n, epochs int) error {
	if fileExists(path) {
		return nil
	}
	b := make([]byte, 0, 4*n*epochs)
	for e := 0; e < epochs; e++ {
		for _, i := range lenet.Shuffle(n, trainSeed, e) {
			b = binary.LittleEndian.AppendUint32(b, uint32(i))
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ensureModel writes a checkpoint into dir through a temporary sibling, so an
// interrupted run never leaves a half-written model behind.
// randomGPT2 returns the folder of the random GPT-2 checkpoint of size with dtype
// ("f32" or "bf16") weights under modelsDir, writing it when missing.
func randomGPT2(modelsDir, size, dtype string) (string, error) {
	dt := tensor.F32
	if dtype == "bf16" {
		dt = tensor.BF16
	}
	dir := filepath.Join(modelsDir, "gpt2-"+strings.ToLower(size)+"-"+dtype)
	return dir, ensureModel(dir, func(tmp string) error {
		cfg, err := gpt2.SizeConfig(size)
		if err != nil {
			return err
		}
		return gpt2.WriteRandom(tmp, cfg, dt, 1)
	})
}

// randomBERT returns the folder of the random BERT checkpoint of size under
// modelsDir, writing it when missing.
func randomBERT(modelsDir, size string) (string, error) {
	dir := filepath.Join(modelsDir, "bert-"+strings.ToLower(size))
	return dir, ensureModel(dir, func(tmp string) error {
		cfg, err := bert.SizeConfig(size)
		if err != nil {
			return err
		}
		return bert.WriteRandom(tmp, cfg, 1)
	})
}

func ensureModel(dir string, write func(tmp string) error) error {
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := write(tmp); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// command returns the worker argv for req, or a status and reason when the
// implementation cannot run here.
func (r *runner) command(req Request) ([]string, string, string) {
	js, err := json.Marshal(req)
	if err != nil {
		return nil, StatusFailed, err.Error()
	}
	switch req.Impl {
	case ImplLumen, ImplGonum:
		if len(r.o.LumenWorker) == 0 {
			return nil, StatusUnavailable, "no Go worker command"
		}
		return append(slices.Clone(r.o.LumenWorker), "--request", string(js)), "", ""
	case ImplPyTorch, ImplPyTorchPyPI, ImplTransformers, ImplONNXRuntime:
		pw := pythonWorkers[req.Impl]
		script := filepath.Join(r.o.PythonDir, pw.script)
		if _, err := os.Stat(script); err != nil {
			return nil, StatusUnavailable, fmt.Sprintf("%s not found (set --python-dir)", script)
		}
		py := cmp.Or(r.o.Python, "python3")
		if req.Impl == ImplPyTorchPyPI {
			if r.o.PythonPyPI == "" {
				return nil, StatusUnavailable, "no interpreter with PyPI's torch (" + pw.install + ")"
			}
			py = r.o.PythonPyPI
		}
		if _, err := exec.LookPath(py); err != nil {
			return nil, StatusUnavailable, fmt.Sprintf("no Python interpreter %q", py)
		}
		if r.importErr == nil {
			r.importErr = map[string]error{}
		}
		err, checked := r.importErr[req.Impl]
		if !checked {
			if out, cerr := exec.Command(py, "-c", "import "+pw.imports).CombinedOutput(); cerr != nil {
				err = fmt.Errorf("%s cannot import %s (%s): %s", py, pw.imports, pw.install, lastLine(string(out)))
			}
			r.importErr[req.Impl] = err
		}
		if err != nil {
			return nil, StatusUnavailable, err.Error()
		}
		return []string{py, script, "--request", string(js)}, "", ""
	case ImplCandle:
		if _, err := os.Stat(r.o.CandleBin); r.o.CandleBin == "" || err != nil {
			return nil, StatusNotBuilt, fmt.Sprintf("no candle worker at %q: build it with `%s` (or `bash bench/setup.sh`)", r.o.CandleBin, CandleBuildCommand)
		}
		return []string{r.o.CandleBin, "--request", string(js)}, "", ""
	}
	return nil, StatusFailed, "unknown implementation " + req.Impl
}

// runOne runs one worker process; ref (nil for the reference itself) is the output
// the check must agree with.
func (r *runner) runOne(ctx context.Context, req Request, ref *Output, refImpl string) Result {
	w := req.Workload
	run := Result{Workload: w.Name, Impl: req.Impl, Threads: req.Threads, Reference: refImpl}
	argv, status, reason := r.command(req)
	if argv == nil {
		run.Status, run.Reason = status, reason
		return run
	}
	if ts, err := exec.LookPath("taskset"); err == nil && req.Threads <= runtime.NumCPU() {
		// Pin the process to the first Threads CPUs, the same set for every implementation.
		argv = append([]string{ts, "-c", fmt.Sprintf("0-%d", req.Threads-1)}, argv...)
		run.Pinned = fmt.Sprintf("taskset -c 0-%d", req.Threads-1)
	}
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	n := strconv.Itoa(req.Threads)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS="+n, "MKL_NUM_THREADS="+n, "OPENBLAS_NUM_THREADS="+n,
		"RAYON_NUM_THREADS="+n, "GOMAXPROCS="+n, "PYTHONUNBUFFERED=1")
	for k, v := range r.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logPath := filepath.Join(r.o.Out, "logs", fmt.Sprintf("%s-%s-t%d.log", w.Name, req.Impl, req.Threads))
	logf, err := os.Create(logPath)
	if err != nil {
		run.Status, run.Reason = StatusFailed, err.Error()
		return run
	}
	defer logf.Close()
	run.Log = filepath.Join("logs", filepath.Base(logPath))
	cmd.Stderr = logf
	stdin, err1 := cmd.StdinPipe()
	stdout, err2 := cmd.StdoutPipe()
	if err := errors.Join(err1, err2); err != nil {
		run.Status, run.Reason = StatusFailed, err.Error()
		return run
	}
	e0, energyOK := readRAPL()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		run.Status, run.Reason = StatusFailed, err.Error()
		return run
	}
	fail := func(err error) Result {
		stdin.Close()
		_ = cmd.Wait()
		run.Status, run.Reason = StatusFailed, err.Error()
		if tail := logTail(logPath); tail != "" {
			run.Reason += "\n" + tail
		}
		return run
	}
	br := bufio.NewReaderSize(stdout, 1<<20)
	msg, err := readMessage(br, "check")
	if err != nil {
		return fail(err)
	}
	if msg.Phase == "unsupported" {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			return fail(fmt.Errorf("worker: %w", err))
		}
		run.Status, run.Reason = StatusUnsupported, msg.Error
		return run
	}
	run.Version, run.output, run.PeakRSS = msg.Version, msg.Output, msg.PeakRSS
	timeIt := !r.o.CheckOnly
	if ref != nil {
		eq, err := equivalent(*ref, *msg.Output, w)
		if err != nil {
			return fail(fmt.Errorf("comparing outputs with %s: %w", refImpl, err))
		}
		run.Equivalence = &eq
		if !eq.Equivalent {
			timeIt = false
		}
	}
	answer := "skip"
	if timeIt {
		answer = "time"
	}
	if _, err := fmt.Fprintln(stdin, answer); err != nil {
		return fail(fmt.Errorf("answering the worker: %w", err))
	}
	if timeIt {
		msg, err = readMessage(br, "time")
		if err != nil {
			return fail(err)
		}
		if len(msg.Samples) != w.Reps {
			return fail(fmt.Errorf("worker sent %d samples for %d repetitions", len(msg.Samples), w.Reps))
		}
		run.Samples, run.CPUTimed = msg.Samples, msg.CPU
		run.PeakRSS = max(run.PeakRSS, msg.PeakRSS)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		return fail(fmt.Errorf("worker: %w", err))
	}
	run.Wall = time.Since(start).Seconds()
	if run.PeakRSS == 0 { // a worker that does not report its own (not on Linux)
		run.PeakRSS, run.PeakRSSInherited = peakRSS(cmd.ProcessState), true
	}
	run.CPUProcess = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	if e1, ok := readRAPL(); ok && energyOK && e1 >= e0 {
		j := float64(e1-e0) / 1e6
		run.EnergyJ = &j
	}
	switch {
	case run.Equivalence != nil && !run.Equivalence.Equivalent:
		run.Status, run.Reason = StatusDisagree, "outputs differ from "+refImpl+": not timed"
	case !timeIt:
		run.Status = StatusChecked
	default:
		run.Status = StatusOK
		run.summarize(w)
	}
	return run
}

func readMessage(br *bufio.Reader, phase string) (*Message, error) {
	for {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && err != nil {
			return nil, fmt.Errorf("worker ended before its %s message: %w", phase, err)
		}
		if len(strings.TrimSpace(string(line))) == 0 || line[0] != '{' {
			continue // stray output (a library printing to stdout)
		}
		var m Message
		if err := json.Unmarshal(line, &m); err != nil {
			return nil, fmt.Errorf("worker's %s message: %w", phase, err)
		}
		switch {
		case m.Phase == "error":
			return nil, fmt.Errorf("worker: %s", m.Error)
		case m.Phase == "unsupported" && phase == "check":
			if m.Error == "" {
				return nil, errors.New("worker said unsupported without a reason")
			}
			return &m, nil
		case m.Phase != phase:
			return nil, fmt.Errorf("worker sent %q, want %q", m.Phase, phase)
		case phase == "check" && (m.Output == nil || len(m.Output.Data) == 0):
			return nil, errors.New("worker's check message has no output")
		}
		return &m, nil
	}
}

// equivalent applies the paper's check: logits by softmax Pearson, argmax and ids;
// raw values by Pearson and a relative bound (1e-3 for F32, 2e-2 for BF16 weights).
// Int8 workloads pass with Pearson > stats.Int8PearsonThreshold alone: two
// implementations' quantisation noise differs, and so may near-tied argmaxes.
// BF16 workloads' logits pass with stats' BF16 criterion (Pearson > 0.99 and the first
// token equal; the report still shows whether the later ids agree): implementations
// differ there in whether their activations are BF16 too.
func equivalent(ref, got Output, w Workload) (stats.Equivalence, error) {
	if ref.Kind != got.Kind || ref.Rows != got.Rows || ref.Cols != got.Cols {
		return stats.Equivalence{}, fmt.Errorf("output %s %d×%d, reference %s %d×%d", got.Kind, got.Rows, got.Cols, ref.Kind, ref.Rows, ref.Cols)
	}
	if ref.Kind == "training" {
		return stats.CompareTraining(ref.Data, got.Data, ref.Accuracy, got.Accuracy)
	}
	if ref.Kind == "logits" {
		e, err := stats.CompareOutputs(ref.Data, got.Data, ref.Rows, ref.Cols, ref.IDs, got.IDs)
		switch {
		case w.Quantize != "":
			e = e.Int8()
		case w.DType == "bf16" || w.Compute == "bf16":
			e = e.BF16()
		}
		return e, err
	}
	tol := 1e-3
	if w.DType == "bf16" || w.Compute == "bf16" {
		tol = 2e-2
	}
	e, err := stats.CompareValues(ref.Data, got.Data, tol)
	if w.Quantize != "" {
		e = e.Int8()
	}
	return e, err
}

func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], "\n")
}

// readRAPL reads the package energy counter (µJ) when the kernel exposes it to us.
func readRAPL() (uint64, bool) {
	for _, p := range []string{"/sys/class/powercap/intel-rapl:0/energy_uj", "/sys/class/powercap/intel-rapl/intel-rapl:0/energy_uj"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err == nil {
			return v, true
		}
	}
	return 0, false
}
