package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/lumen-ml/lumen/ops"
	"io"
	"strings"
)

// Request tells a worker process what to run. It travels as JSON in the worker's
// --request argument; the Python and Rust workers read the same fields.
//
// Inputs are formulas every implementation evaluates identically:
//   - LeNet: MNIST test images (normalised with mean 0.1307, std 0.3081); repetition i
//     uses images [s, s+B) with s = (i·B) mod (10000 − B + 1); the check runs images 0..63.
//   - GPT-2: prompt token t is (t·7919) mod vocab; greedy decoding.
//   - BERT: sequence b, position t: 101 at t = 0, 102 at t = T−1, else
//     1000 + (b·7919 + t·104729) mod (vocab − 1000); all mask 1, token types 0.
//   - LeNet training: the MNIST training set normalised with Train.Mean and Train.Std;
//     epoch e visits the examples in the order of the e-th permutation in Train.Order
//     (60,000 little-endian uint32 per epoch), in consecutive batches of Batch (the
//     last one smaller); the loss is the mean cross-entropy; the weights start from
//     Model (a model directory: model.safetensors, PyTorch's names) every repetition,
//     with a fresh optimiser (torch.optim.SGD with Momentum, or Adam with its
//     defaults). The check trains epochs 0…CheckEpochs−1 and reports the first
//     CheckSteps losses and the t10k accuracy after them (Output kind "training").
//     (After one epoch, float32 runs of the same algorithm already differ by ~0.4
//     points: SGD amplifies rounding once the loss drops; two epochs narrow that.)
//   - GEMM: row-major A[i][k] = ((31i + 17k) mod 101 − 50)/100 and
//     B[k][j] = ((13k + 29j) mod 97 − 48)/100; C = A·B.
type Request struct {
	Impl     string   `json:"impl"`
	Workload Workload `json:"workload"`
	Threads  int      `json:"threads"`
	// Model is the checkpoint: a safetensors file (LeNet) or an HF-layout directory
	// with config.json and model.safetensors (GPT-2, BERT); empty for GEMM.
	Model string `json:"model"`
	MNIST string `json:"mnist"` // directory of the idx files (LeNet)
	// Train is set for LeNetTrain workloads.
	Train *TrainData `json:"train,omitempty"`
}

// TrainData is what every implementation trains on, written once by the runner.
type TrainData struct {
	Data   string  `json:"data"`   // directory with train-* and t10k-* idx files (gzip or plain)
	Order  string  `json:"order"`  // the visiting order: Epochs permutations of uint32 LE
	Epochs int     `json:"epochs"` // permutations the order file holds
	Mean   float64 `json:"mean"`   // input = (pixel/255 − Mean)/Std
	Std    float64 `json:"std"`
}

// Output is what a worker computed for the equivalence check.
type Output struct {
	// Kind "logits" compares rows of logits (softmax Pearson, argmax) and IDs;
	// "values" compares raw values (Pearson and a relative max-difference bound).
	Kind string    `json:"kind"`
	Rows int       `json:"rows,omitempty"`
	Cols int       `json:"cols,omitempty"`
	Data []float32 `json:"data"`
	IDs  []int     `json:"ids,omitempty"`
	// Accuracy is a training check's test accuracy after its epochs (kind "training",
	// whose Data are the first steps' losses).
	Accuracy float64 `json:"accuracy,omitempty"`
}

// Message is one line a worker writes on standard output: first a "check" message
// with its Output, then (after the runner answers "time" on standard input) a "time"
// message with the samples; "error" at any point ends the run. A worker whose
// implementation has no such model or dtype answers "unsupported" instead of "check",
// the reason in Error: a row of the report, not a failure.
type Message struct {
	Phase   string    `json:"phase"`
	Impl    string    `json:"impl,omitempty"`
	Version string    `json:"version,omitempty"`
	Threads int       `json:"threads,omitempty"`
	Output  *Output   `json:"output,omitempty"`
	Samples []float64 `json:"samples_s,omitempty"` // seconds per timed repetition
	CPU     float64   `json:"cpu_s,omitempty"`     // user+system CPU seconds over the timed repetitions
	// PeakRSS is the worker's own resident high-water mark so far (Linux VmHWM),
	// sent with "check" and "time". The kernel's rusage cannot serve: a child's
	// maxrss starts at its parent's at fork and survives exec, so every worker would
	// report at least the runner's own peak.
	PeakRSS int64  `json:"peak_rss_bytes,omitempty"`
	Error   string `json:"error,omitempty"`
}

// errSkip is returned by the worker loop when the runner declines the timing.
var errSkip = errors.New("timing declined by the runner")

// job is one workload bound to one implementation inside a worker process.
type job struct {
	version string
	check   func(ctx context.Context) (Output, error)
	// rep runs repetition i and returns its seconds (setup such as GPT-2's prefill
	// before a decode repetition is excluded).
	rep   func(ctx context.Context, i int) (float64, error)
	close func()
}

// RunWorker is the worker side of the protocol for the Go implementations (Lumen and
// gonum): it runs req's check, writes it to out, waits for "time" or "skip" on in,
// then runs the warm-up and the timed repetitions.
func RunWorker(ctx context.Context, req Request, in io.Reader, out io.Writer) error {
	enc := json.NewEncoder(out)
	fail := func(err error) error {
		_ = enc.Encode(Message{Phase: "error", Impl: req.Impl, Error: err.Error()})
		return err
	}
	if err := req.Workload.validate(); err != nil {
		return fail(err)
	}
	if req.Threads < 1 {
		return fail(fmt.Errorf("threads %d (want ≥ 1)", req.Threads))
	}
	var j *job
	var err error
	switch req.Impl {
	case ImplLumen:
		j, err = lumenJob(req)
	case ImplGonum:
		j, err = gonumJob(req)
	default:
		err = fmt.Errorf("the Go worker runs lumen and gonum, not %q", req.Impl)
	}
	if errors.Is(err, ops.ErrNoBF16) { // a BF16-compute workload on a host without the instructions
		return enc.Encode(Message{Phase: "unsupported", Impl: req.Impl, Error: err.Error()})
	}
	if err != nil {
		return fail(err)
	}
	defer j.close()
	o, err := j.check(ctx)
	if err != nil {
		return fail(fmt.Errorf("check: %w", err))
	}
	if err := enc.Encode(Message{Phase: "check", Impl: req.Impl, Version: j.version, Threads: req.Threads, Output: &o, PeakRSS: ownPeakRSS()}); err != nil {
		return err
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("waiting for the runner: %w", err)
	}
	if strings.TrimSpace(line) != "time" {
		return errSkip
	}
	w := req.Workload
	for i := 0; i < w.Warmup; i++ {
		if _, err := j.rep(ctx, i); err != nil {
			return fail(fmt.Errorf("warm-up: %w", err))
		}
	}
	cpu0 := cpuSeconds()
	samples := make([]float64, 0, w.Reps)
	for i := 0; i < w.Reps; i++ {
		s, err := j.rep(ctx, w.Warmup+i)
		if err != nil {
			return fail(fmt.Errorf("repetition %d: %w", i, err))
		}
		samples = append(samples, s)
	}
	return enc.Encode(Message{Phase: "time", Impl: req.Impl, Samples: samples, CPU: cpuSeconds() - cpu0, PeakRSS: ownPeakRSS()})
}

// IsSkip reports whether err only says the runner declined the timing.
func IsSkip(err error) bool { return errors.Is(err, errSkip) }

// Input formulas (see Request).

func gptPrompt(n, vocab int) []int {
	ids := make([]int, n)
	for t := range ids {
		ids[t] = (t * 7919) % vocab
	}
	return ids
}

func bertIDs(b, T, vocab int) []int {
	ids := make([]int, T)
	for t := range ids {
		switch t {
		case 0:
			ids[t] = 101
		case T - 1:
			ids[t] = 102
		default:
			ids[t] = 1000 + (b*7919+t*104729)%(vocab-1000)
		}
	}
	return ids
}

func gemmInputs(m, k, n int) (a, b []float32) {
	a, b = make([]float32, m*k), make([]float32, k*n)
	for i := 0; i < m; i++ {
		for p := 0; p < k; p++ {
			a[i*k+p] = float32((31*i+17*p)%101-50) / 100
		}
	}
	for p := 0; p < k; p++ {
		for j := 0; j < n; j++ {
			b[p*n+j] = float32((13*p+29*j)%97-48) / 100
		}
	}
	return a, b
}

// gemmCheckRows are the rows of C the check compares: the first 8 and the last.
func gemmCheckRows(m int) []int {
	var rows []int
	for i := 0; i < min(m, 8); i++ {
		rows = append(rows, i)
	}
	if m > 8 {
		rows = append(rows, m-1)
	}
	return rows
}

func lenetStart(i, batch int) int { return (i * batch) % (10000 - batch + 1) }
