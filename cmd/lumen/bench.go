package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lumen-ml/lumen/bench/harness"
	"github.com/lumen-ml/lumen/models/nn"
)

func newBenchCmd() *cobra.Command {
	var o harness.Options
	var impls, threads, clients, cpus string
	var serveDuration time.Duration
	var maxTokens int
	cmd := &cobra.Command{
		Use:   "bench [--suite paper|quick|serve] [--impl lumen,gonum,pytorch,pytorch-pypi,transformers,onnxruntime,candle] [--threads 1,2] [--out DIR]",
		Short: "Run the paper's benchmark suite across Lumen, gonum, PyTorch, transformers, ONNX Runtime and candle, with statistics, a report and plots",
		Long: `bench runs every workload of the suite in a separate worker process per implementation
and thread count. Each worker's outputs are checked against the reference (Lumen) before
it is timed; disagreeing implementations are reported and not timed. Writes report.md,
report.json (every sample), SVG plots and per-worker logs into --out. The exit status is 1
when a worker fails, and with --check-only also when outputs disagree (without it a
disagreement is a result, reported in the tables). An implementation without a workload's
model or dtype (transformers has no LeNet, ONNX Runtime's CPU provider no BF16 matrix
products) gets a row saying so; that is not a failure.

The Python peers run on --python (default: the venv bench/setup.sh makes,
~/.cache/lumen/venv, when it exists; else /usr/bin/python3, which has PyTorch only);
pytorch-pypi is the PyTorch worker on PyPI's current torch wheel (--python-pypi, made by
bench/setup.sh --pypi-torch: 5.3 GB with the CUDA libraries the wheel pulls).
The candle worker is built from crates.io into ~/.cache/lumen/candle-target on first use
(--build-candle=false: report it not built instead).

Run it from the repository root (bench/python and bench/rust are found from there), with
the shared folder at ../shared or --shared. The random full-size GPT-2 and BERT checkpoints
are written into --models on first use (about 1.2 GB for 124M F32 + BF16 and base).

--suite serve runs the multi-client workloads instead (--workloads completions,embeddings,
the default both): each server (--impl, default lumen,lumen-nobatch,pytorch: lumen serve
with and without continuous batching, and bench/python/serve_torch.py) is started alone
on the random checkpoint (GPT-2 --gpt2-size for completions; BERT minilm-l6, or
--bert-size, for embeddings), with --threads compute threads and pinned to --cpus; its
output is checked against the first server's (the greedy completion; the sentence's
normalised embedding within 1e-3); then --clients concurrent clients (1,4,16,64) send
requests back to back for --serve-duration each (completions of --max-tokens, streamed).
lumen-nobatch has no embeddings rows (--batching is about completions). Writes serve.md
and serve.json.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.Suite == "serve" {
				if !cmd.Flags().Changed("impl") {
					impls = "lumen,lumen-nobatch,pytorch"
				}
				if !cmd.Flags().Changed("bert-size") {
					o.BERTSize = ""
				}
				return runServeSuite(cmd, o, impls, threads, clients, cpus, serveDuration, maxTokens)
			}
			if o.Impls, err = splitList(impls); err != nil {
				return err
			}
			for _, s := range strings.Split(threads, ",") {
				t, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || t < 1 {
					return fmt.Errorf("--threads: %q is not a positive thread count", s)
				}
				o.Threads = append(o.Threads, t)
			}
			if o.Out == "" {
				o.Out = filepath.Join("bench-out", time.Now().Format("20060102-150405"))
			}
			if _, err := os.Stat(filepath.Join(o.Shared, "models", "lenet-mnist")); err != nil {
				return fmt.Errorf("--shared %q: no models/lenet-mnist there (put the shared folder at ../shared or pass --shared)", o.Shared)
			}
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("locating the lumen binary for the Go workers: %w", err)
			}
			o.LumenWorker = []string{exe, "bench-worker"}
			o.Progress = cmd.ErrOrStderr()
			o.Command = "lumen " + strings.Join(os.Args[1:], " ")
			rep, err := harness.Run(cmd.Context(), o)
			if rep != nil {
				if werr := rep.Write(o.Out); werr != nil {
					return fmt.Errorf("writing the report: %w", werr)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "report: %s\n", filepath.Join(o.Out, "report.md"))
			}
			if err != nil {
				return err
			}
			if bad := rep.Failed(o.CheckOnly); len(bad) > 0 {
				var names []string
				for _, r := range bad {
					names = append(names, fmt.Sprintf("%s/%s/t%d (%s)", r.Workload, r.Impl, r.Threads, r.Status))
				}
				return fmt.Errorf("%d run(s) failed: %s", len(bad), strings.Join(names, ", "))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Suite, "suite", "paper", "workload suite: paper, quick, or serve (multi-client completions and embeddings)")
	f.StringVar(&clients, "clients", "1,4,16,64", "serve: concurrent client counts")
	f.DurationVar(&serveDuration, "serve-duration", 20*time.Second, "serve: length of each measurement")
	f.IntVar(&maxTokens, "max-tokens", 32, "serve: tokens per completion")
	f.StringVar(&cpus, "cpus", "", "serve: CPU list the servers are pinned to with taskset (e.g. 1; empty: not pinned)")
	f.StringVar(&o.Workloads, "workloads", "", "only these workloads (comma-separated names or prefixes ending in *)")
	f.StringVar(&impls, "impl", strings.Join(harness.AllImpls(), ","), "implementations, the reference first")
	f.StringVar(&threads, "threads", "1", "comma-separated thread counts")
	f.IntVar(&o.Reps, "reps", 0, "timed repetitions for every workload (0: each workload's default)")
	f.BoolVar(&o.CheckOnly, "check-only", false, "run the output-equivalence checks only (no timing)")
	f.StringVar(&o.Quantize, "quantize", "", "int8: only the workloads with dynamic int8 quantisation (serve suite: the servers quantise); none: only those without; empty: both")
	f.BoolVar(&o.NoLimits, "no-limits", false, "skip measuring the machine's limits (DRAM read bandwidth, micro-kernel peak) at the start")
	f.StringVar(&o.Out, "out", "", "report directory (default bench-out/DATE-TIME)")
	f.StringVar(&o.Shared, "shared", cmp.Or(os.Getenv("LUMEN_SHARED"), filepath.Join("..", "shared")), "the shared folder (LeNet weights, MNIST)")
	cache := harness.CacheDir()
	f.StringVar(&o.ModelsDir, "models", filepath.Join(cache, "bench-models"), "where the random GPT-2/BERT checkpoints are kept")
	f.StringVar(&o.TrainData, "train-data", filepath.Join(cache, "mnist"), "MNIST-format train and t10k idx files for the training workloads (bench/setup.sh links MNIST there; Fashion-MNIST: /usr/share/datasets/fashion-mnist)")
	f.StringVar(&o.GPT2Size, "gpt2-size", "124M", "GPT-2 size of the random checkpoint")
	f.StringVar(&o.BERTSize, "bert-size", "base", "BERT size of the random checkpoint")
	f.StringVar(&o.Python, "python", defaultPython(cache), "Python interpreter with torch (and transformers, onnxruntime)")
	f.StringVar(&o.PythonPyPI, "python-pypi", filepath.Join(cache, "venv-pypi-torch", "bin", "python"), "Python interpreter with PyPI's torch, for pytorch-pypi (bench/setup.sh --pypi-torch makes it)")
	f.StringVar(&o.PythonDir, "python-dir", filepath.Join("bench", "python"), "directory of the Python workers")
	f.StringVar(&o.CandleBin, "candle", harness.CandleBin(), "the candle worker")
	f.BoolVar(&o.BuildCandle, "build-candle", true, "build the candle worker (cargo, crates.io) when --candle is missing")
	f.DurationVar(&o.Timeout, "timeout", 20*time.Minute, "limit per worker process")
	return cmd
}

// runServeSuite runs harness.RunServe and writes serve.md and serve.json.
func runServeSuite(cmd *cobra.Command, o harness.Options, impls, threads, clients, cpus string, d time.Duration, maxTokens int) error {
	so := harness.ServeOptions{Duration: d, MaxTokens: maxTokens, CPUs: cpus, ModelsDir: o.ModelsDir, GPT2Size: o.GPT2Size,
		BERTSize: o.BERTSize, Python: o.Python, PythonDir: o.PythonDir, Out: o.Out, Progress: cmd.ErrOrStderr()}
	q, err := nn.ParseQuantization(o.Quantize)
	if err != nil {
		return fmt.Errorf("--quantize: %w", err)
	}
	if q != nn.NoQuantization {
		so.Quantize = q.String()
	}
	if o.Workloads != "" {
		if so.Workloads, err = splitList(o.Workloads); err != nil {
			return err
		}
		for _, w := range so.Workloads {
			if w != harness.ServeCompletions && w != harness.ServeEmbeddings {
				return fmt.Errorf("--workloads: the serve suite has %s and %s, not %q", harness.ServeCompletions, harness.ServeEmbeddings, w)
			}
		}
	}
	if so.Impls, err = splitList(impls); err != nil {
		return err
	}
	if so.Threads, err = strconv.Atoi(threads); err != nil || so.Threads < 1 {
		return fmt.Errorf("--threads: the serve suite takes one positive thread count, got %q", threads)
	}
	for _, c := range strings.Split(clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 || n > 1024 {
			return fmt.Errorf("--clients: %q is not a client count (1..1024)", c)
		}
		so.Clients = append(so.Clients, n)
	}
	if maxTokens < 1 || d <= 0 {
		return fmt.Errorf("--max-tokens and --serve-duration must be positive")
	}
	if so.Out == "" {
		so.Out = filepath.Join("bench-out", "serve-"+time.Now().Format("20060102-150405"))
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	so.Lumen = []string{exe}
	rows, runErr := harness.RunServe(cmd.Context(), so)
	if len(rows) > 0 {
		md := fmt.Sprintf("Command: `lumen %s`\n\n%s", strings.Join(os.Args[1:], " "), harness.ServeMarkdown(rows, so))
		raw, _ := json.MarshalIndent(rows, "", "  ")
		if err := os.WriteFile(filepath.Join(so.Out, "serve.md"), []byte(md), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(so.Out, "serve.json"), append(raw, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprint(cmd.OutOrStdout(), md)
		fmt.Fprintf(cmd.OutOrStdout(), "\nreport: %s\n", filepath.Join(so.Out, "serve.md"))
	}
	return runErr
}

// defaultPython prefers the venv bench/setup.sh makes (Debian's torch plus pinned
// transformers and onnxruntime), then Debian's interpreter, where python3-torch
// installs torch. cache is harness.CacheDir().
func defaultPython(cache string) string {
	if venv := filepath.Join(cache, "venv", "bin", "python"); exists(venv) {
		return venv
	}
	if exists("/usr/bin/python3") {
		return "/usr/bin/python3"
	}
	return "python3"
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func splitList(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--impl: empty list")
	}
	return out, nil
}

// newBenchWorkerCmd is the Go side of the worker protocol (hidden: the runner starts it).
func newBenchWorkerCmd() *cobra.Command {
	var request string
	cmd := &cobra.Command{
		Use:    "bench-worker --request JSON",
		Short:  "Run one benchmark workload for `lumen bench` (internal)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var req harness.Request
			dec := json.NewDecoder(strings.NewReader(request))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				return fmt.Errorf("--request: %w", err)
			}
			err := harness.RunWorker(cmd.Context(), req, cmd.InOrStdin(), cmd.OutOrStdout())
			if harness.IsSkip(err) {
				return nil
			}
			return err
		},
	}
	cmd.Flags().StringVar(&request, "request", "", "the request (JSON)")
	return cmd
}
