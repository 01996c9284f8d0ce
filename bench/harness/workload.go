package harness

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lumen-ml/lumen/models/nn"
)

// Model names a workload's model family.
type Model string

// The model families of the paper's workloads.
const (
	LeNet Model = "lenet"
	// LeNetTrain trains LeNet on the MNIST training set (see Request.Train).
	LeNetTrain Model = "lenet-train"
	GPT2       Model = "gpt2"
	BERT       Model = "bert"
	GEMM       Model = "gemm"
)

// Implementations the runner knows. Lumen is the reference the others are checked
// against; gonum only runs GEMM workloads (it has no models).
const (
	ImplLumen        = "lumen"
	ImplPyTorch      = "pytorch"      // PyTorch eager, the models written on torch's functional API
	ImplPyTorchPyPI  = "pytorch-pypi" // the same worker on PyPI's current torch wheel (bench/setup.sh --pypi-torch)
	ImplTransformers = "transformers" // Hugging Face transformers (GPT2LMHeadModel.generate, BertModel)
	ImplONNXRuntime  = "onnxruntime"  // ONNX Runtime, CPU provider, graphs exported from the same weights
	ImplCandle       = "candle"
	ImplGonum        = "gonum"
)

// AllImpls lists every implementation the runner knows, in the default order.
func AllImpls() []string {
	return []string{ImplLumen, ImplGonum, ImplPyTorch, ImplPyTorchPyPI, ImplTransformers, ImplONNXRuntime, ImplCandle}
}

// Workload is one measured task. Every implementation runs it on the same inputs:
// inputs are derived from the parameters by formulas every language reproduces
// (see Request), and the models are the same safetensors files.
type Workload struct {
	Name  string
	Model Model
	// Latency workloads report per-call latency percentiles; throughput workloads
	// report items per second (both are computed from the same samples).
	Latency bool
	Batch   int // images or sequences per call
	Seq     int // tokens per sequence (BERT) or prompt length (GPT-2)
	// Size is the encoder's bert.SizeConfig (BERT workloads: "mpnet-base",
	// "xlmr-base", …); empty: Options.BERTSize, BERT-base by default.
	Size   string `json:",omitempty"`
	Decode int    // GPT-2: tokens generated per repetition (0: prefill workload)
	DType  string // weights: "f32" or "bf16"
	// Quantize "int8": dynamic int8 quantisation of every Linear weight (activations
	// per row at run time), each implementation's own (Lumen's, PyTorch's
	// quantize_dynamic, ONNX Runtime's quantize_dynamic); the outputs are checked with
	// the int8 criterion (stats.Equivalence.Int8) and against the F32 workload of the
	// same name without "-int8" (Result.VsF32).
	Quantize string `json:",omitempty"`
	// Compute "bf16": the matrix products in BF16 with float32 sums, F32 weights
	// rounded at load (Lumen's nn.WithCompute(nn.BF16) on AMX-BF16; PyTorch's and
	// transformers' torch.autocast("cpu", dtype=torch.bfloat16), oneDNN); outputs are
	// checked with the BF16 criterion against Lumen's BF16 run.
	Compute string `json:",omitempty"`
	M, K, N int    // GEMM shape
	// Training (LeNetTrain): each repetition starts from the same initial weights and
	// trains Epochs epochs, or with Target > 0 evaluates the test accuracy after every
	// epoch and stops once it reaches Target (at most Epochs epochs). The check trains
	// CheckEpochs epochs and reports the first CheckSteps losses and the test accuracy.
	Epochs      int
	CheckEpochs int
	Target      float64 // test accuracy in (0, 1), or 0
	Optimizer   string  // "sgd" (with Momentum) or "adam" (PyTorch's betas and eps)
	LR          float64
	Momentum    float64
	CheckSteps  int
	TrainImages int // the training set's size (MNIST: 60,000)
	Reps        int // timed repetitions
	Warmup      int // untimed repetitions first
	Impls       []string
}

// Items is the number of items one repetition handles: images, sequences, generated
// tokens, or floating-point operations for GEMM.
func (w Workload) Items() float64 {
	switch w.Model {
	case GEMM:
		return 2 * float64(w.M) * float64(w.K) * float64(w.N)
	case GPT2:
		if w.Decode > 0 {
			return float64(w.Decode)
		}
		return float64(w.Seq) // prompt tokens
	case LeNetTrain:
		if w.Target > 0 {
			return 1 // one run to the target accuracy
		}
		return float64(w.Epochs * w.TrainImages)
	default:
		return float64(w.Batch)
	}
}

// Unit names what Items counts, per second.
func (w Workload) Unit() string {
	switch w.Model {
	case GEMM:
		return "GFLOP/s"
	case GPT2:
		return "tokens/s"
	case LeNet:
		return "images/s"
	case LeNetTrain:
		if w.Target > 0 {
			return "runs/s"
		}
		return "images/s"
	default:
		return "sequences/s"
	}
}

// Rate converts one repetition's seconds into the workload's unit.
func (w Workload) Rate(seconds float64) float64 {
	r := w.Items() / seconds
	if w.Model == GEMM {
		r /= 1e9
	}
	return r
}

// Supports reports whether impl runs this workload.
func (w Workload) Supports(impl string) bool { return slices.Contains(w.Impls, impl) }

func (w Workload) validate() error {
	bad := func(what string) error { return fmt.Errorf("workload %q: %s", w.Name, what) }
	switch {
	case w.Reps < 3:
		return bad(fmt.Sprintf("%d repetitions (at least 3 are needed for the statistics)", w.Reps))
	case w.Warmup < 0:
		return bad("negative warm-up")
	case w.DType != "f32" && w.DType != "bf16":
		return bad(fmt.Sprintf("dtype %q (want f32 or bf16)", w.DType))
	case w.Quantize != "" && (w.Quantize != "int8" || w.DType != "f32" || (w.Model != GPT2 && w.Model != BERT)):
		return bad(fmt.Sprintf("quantize %q of %s %s weights (want int8 of F32 GPT-2 or BERT weights)", w.Quantize, w.DType, w.Model))
	case w.Compute != "" && (w.Compute != "bf16" || w.DType != "f32" || w.Quantize != "" || w.Decode > 0 || (w.Model != GPT2 && w.Model != BERT)):
		return bad(fmt.Sprintf("compute %q of a %s %s workload (want bf16 of an F32 GPT-2 prefill or BERT workload, unquantised)", w.Compute, w.DType, w.Model))
	}
	switch w.Model {
	case LeNet:
		if w.Batch < 1 || w.Batch > 10000 {
			return bad(fmt.Sprintf("batch %d (the MNIST test set has 10,000 images)", w.Batch))
		}
	case GPT2:
		if w.Seq < 1 || w.Decode < 0 || w.Seq+w.Decode > 1024 {
			return bad(fmt.Sprintf("prompt %d + decode %d tokens (GPT-2 has 1024 positions)", w.Seq, w.Decode))
		}
	case BERT:
		if w.Batch < 1 || w.Seq < 2 || w.Seq > 512 {
			return bad(fmt.Sprintf("batch %d of %d tokens (BERT has 512 positions)", w.Batch, w.Seq))
		}
	case LeNetTrain:
		switch {
		case w.Batch < 1 || w.TrainImages < w.Batch:
			return bad(fmt.Sprintf("batch %d of a training set of %d", w.Batch, w.TrainImages))
		case w.Epochs < 1 || w.Epochs > 50:
			return bad(fmt.Sprintf("%d epochs (want 1..50)", w.Epochs))
		case w.Optimizer != "sgd" && w.Optimizer != "adam":
			return bad(fmt.Sprintf("optimizer %q (want sgd or adam)", w.Optimizer))
		case !(w.LR > 0) || w.Momentum < 0 || w.Momentum >= 1:
			return bad(fmt.Sprintf("learning rate %v, momentum %v", w.LR, w.Momentum))
		case w.CheckSteps < 1 || w.CheckSteps*w.Batch > w.TrainImages:
			return bad(fmt.Sprintf("%d check steps", w.CheckSteps))
		case w.CheckEpochs < 1 || w.CheckEpochs > 50:
			return bad(fmt.Sprintf("%d check epochs (want 1..50)", w.CheckEpochs))
		case w.Target < 0 || w.Target >= 1:
			return bad(fmt.Sprintf("target accuracy %v (want a fraction below 1, or 0)", w.Target))
		}
	case GEMM:
		if w.M < 1 || w.K < 1 || w.N < 1 || float64(w.M)*float64(w.K)+float64(w.K)*float64(w.N)+float64(w.M)*float64(w.N) > 1<<28 {
			return bad(fmt.Sprintf("shape %d×%d×%d (each dimension ≥ 1, at most 2^28 values in all)", w.M, w.K, w.N))
		}
	default:
		return bad(fmt.Sprintf("unknown model %q", w.Model))
	}
	return nil
}

// Every implementation is offered every model workload; one without such a model (or
// dtype) answers "unsupported" with the reason, a row of the report, not a failure.
// gonum is a matrix library: GEMM only.
var modelImpls = []string{ImplLumen, ImplPyTorch, ImplPyTorchPyPI, ImplTransformers, ImplONNXRuntime, ImplCandle}

// bf16Impls run BF16 compute: ONNX Runtime's CPU provider and candle have no BF16
// matrix path for these models.
var bf16Impls = []string{ImplLumen, ImplPyTorch, ImplPyTorchPyPI, ImplTransformers}
var gemmImpls = []string{ImplLumen, ImplGonum, ImplPyTorch, ImplPyTorchPyPI, ImplTransformers, ImplONNXRuntime, ImplCandle}

// PaperSuite is the seed paper's workload set at the sizes: LeNet b1 latency
// and b256 throughput; LeNet training (one epoch of SGD, batch 64; and the time to
// 98.5 % test accuracy); GPT-2 124M prefill-128 and decode (F32, BF16); BERT-base b1s128
// latency and b8s128 throughput; GPT-2 decode and the BERT workloads again with
// dynamic int8 quantisation; MPNet-base (all-mpnet-base-v2's shape) and XLM-R-base
// b8s128; the GEMM shapes of the GEMM issue.
func PaperSuite() []Workload {
	return []Workload{
		{Name: "lenet-b1", Model: LeNet, Latency: true, Batch: 1, DType: "f32", Reps: 1000, Warmup: 100, Impls: modelImpls},
		{Name: "lenet-b256", Model: LeNet, Batch: 256, DType: "f32", Reps: 30, Warmup: 5, Impls: modelImpls},
		{Name: "lenet-train-epoch", Model: LeNetTrain, Batch: 64, Epochs: 1, Optimizer: "sgd", LR: 0.01, Momentum: 0.9, CheckSteps: 10,
			CheckEpochs: 2, TrainImages: 60000, DType: "f32", Reps: 3, Impls: modelImpls},
		{Name: "lenet-train-to-98.5", Model: LeNetTrain, Latency: true, Batch: 64, Epochs: 6, Target: 0.985, Optimizer: "sgd", LR: 0.01,
			Momentum: 0.9, CheckSteps: 10, CheckEpochs: 2, TrainImages: 60000, DType: "f32", Reps: 3, Impls: modelImpls},
		{Name: "gpt2-prefill128", Model: GPT2, Latency: true, Seq: 128, DType: "f32", Reps: 10, Warmup: 2, Impls: modelImpls},
		{Name: "gpt2-decode", Model: GPT2, Seq: 128, Decode: 32, DType: "f32", Reps: 10, Warmup: 1, Impls: modelImpls},
		{Name: "gpt2-decode-bf16", Model: GPT2, Seq: 128, Decode: 32, DType: "bf16", Reps: 10, Warmup: 1, Impls: modelImpls},
		{Name: "gpt2-decode-int8", Model: GPT2, Seq: 128, Decode: 32, DType: "f32", Quantize: "int8", Reps: 10, Warmup: 1, Impls: modelImpls},
		{Name: "bert-b1s128", Model: BERT, Latency: true, Batch: 1, Seq: 128, DType: "f32", Reps: 30, Warmup: 3, Impls: modelImpls},
		{Name: "bert-b8s128", Model: BERT, Batch: 8, Seq: 128, DType: "f32", Reps: 10, Warmup: 2, Impls: modelImpls},
		{Name: "bert-b1s128-int8", Model: BERT, Latency: true, Batch: 1, Seq: 128, DType: "f32", Quantize: "int8", Reps: 30, Warmup: 3, Impls: modelImpls},
		{Name: "bert-b8s128-int8", Model: BERT, Batch: 8, Seq: 128, DType: "f32", Quantize: "int8", Reps: 10, Warmup: 2, Impls: modelImpls},
		{Name: "bert-b1s128-bf16", Model: BERT, Latency: true, Batch: 1, Seq: 128, DType: "f32", Compute: "bf16", Reps: 30, Warmup: 3, Impls: bf16Impls},
		{Name: "bert-b8s128-bf16", Model: BERT, Batch: 8, Seq: 128, DType: "f32", Compute: "bf16", Reps: 10, Warmup: 2, Impls: bf16Impls},
		{Name: "gpt2-prefill128-bf16", Model: GPT2, Latency: true, Seq: 128, DType: "f32", Compute: "bf16", Reps: 10, Warmup: 2, Impls: bf16Impls},
		{Name: "mpnet-b8s128", Model: BERT, Size: "mpnet-base", Batch: 8, Seq: 128, DType: "f32", Reps: 10, Warmup: 2, Impls: modelImpls},
		{Name: "xlmr-b8s128", Model: BERT, Size: "xlmr-base", Batch: 8, Seq: 128, DType: "f32", Reps: 10, Warmup: 2, Impls: modelImpls},
		{Name: "gemm-1024", Model: GEMM, M: 1024, K: 1024, N: 1024, DType: "f32", Reps: 30, Warmup: 3, Impls: gemmImpls},
		{Name: "gemm-128x768x3072", Model: GEMM, M: 128, K: 768, N: 3072, DType: "f32", Reps: 30, Warmup: 3, Impls: gemmImpls},
		{Name: "gemm-1x768x2304", Model: GEMM, M: 1, K: 768, N: 2304, DType: "f32", Reps: 200, Warmup: 20, Impls: gemmImpls},
	}
}

// QuickSuite is a subset with fewer repetitions that finishes in a few minutes on
// two cores: every model family once, at the paper's sizes.
func QuickSuite() []Workload {
	keep := map[string]int{"lenet-b1": 300, "lenet-b256": 10, "gpt2-prefill128": 5, "gpt2-decode": 5,
		"bert-b1s128": 10, "gemm-1024": 10, "gemm-1x768x2304": 100}
	var out []Workload
	for _, w := range PaperSuite() {
		if reps, ok := keep[w.Name]; ok {
			w.Reps, w.Warmup = reps, min(w.Warmup, max(1, reps/10))
			if w.Decode > 0 {
				w.Decode = 16
			}
			out = append(out, w)
		}
	}
	return out
}

// Suite returns a named suite: "paper" or "quick".
func Suite(name string) ([]Workload, error) {
	switch name {
	case "paper":
		return PaperSuite(), nil
	case "quick":
		return QuickSuite(), nil
	}
	return nil, fmt.Errorf("unknown suite %q (want paper or quick)", name)
}

// Select keeps the workloads whose names match any comma-separated pattern: an exact
// name or a prefix ending in '*' ("gpt2-*"). An empty filter keeps everything; a
// pattern that matches nothing is an error.
func Select(ws []Workload, filter string) ([]Workload, error) {
	if strings.TrimSpace(filter) == "" {
		return ws, nil
	}
	var out []Workload
	for _, pat := range strings.Split(filter, ",") {
		pat = strings.TrimSpace(pat)
		n := 0
		for _, w := range ws {
			prefix, star := strings.CutSuffix(pat, "*")
			if (star && strings.HasPrefix(w.Name, prefix)) || w.Name == pat {
				if !slices.ContainsFunc(out, func(o Workload) bool { return o.Name == w.Name }) {
					out = append(out, w)
				}
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("--workloads: %q matches no workload of the suite", pat)
		}
	}
	return out, nil
}

// SelectQuantized keeps the workloads with quantisation q ("int8"), or those without
// any ("none"); "" keeps every workload. None left is an error.
func SelectQuantized(ws []Workload, q string) ([]Workload, error) {
	if q == "" {
		return ws, nil
	}
	parsed, err := nn.ParseQuantization(q)
	if err != nil {
		return nil, fmt.Errorf("--quantize: %w", err)
	}
	want := "" // a Workload's Quantize: "" or the scheme's name
	if parsed != nn.NoQuantization {
		want = parsed.String()
	}
	var out []Workload
	for _, w := range ws {
		if w.Quantize == want {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--quantize %s: no workload of the selection has it", q)
	}
	return out, nil
}
