// Package harness runs the benchmark suite of the seed paper across implementations:
// Lumen and gonum (Go); PyTorch eager, Hugging Face transformers and ONNX Runtime
// (bench/python); candle (bench/rust, built with BuildCandle).
//
// Every implementation runs each workload in its own worker process with the same
// thread count, the same environment (OMP/MKL/OPENBLAS/RAYON_NUM_THREADS, GOMAXPROCS,
// OPENBLAS_CORETYPE) and the same CPU set. A worker first computes the workload's
// check output; the runner compares it with the reference implementation's (Lumen's
// when it runs) using the paper's criteria — Pearson correlation of the probability
// distributions above 0.999, identical argmax and generated ids (BF16 workloads: above
// 0.99 and the first token), or for raw values a relative bound — and only a worker
// that agrees is told to time: warm-up, then the repetitions, each sample sent back. A
// worker without the workload's model or dtype answers "unsupported", a row with its
// reason. Workers report their own peak RSS (VmHWM); the runner adds the CPU time of
// the process and RAPL energy where readable, summarises every sample
// (median, mean, p95/p99, bootstrap interval) and compares implementations with
// Shapiro-Wilk → Welch or Mann-Whitney U, Bonferroni-adjusted, with Cohen's d and
// Cliff's delta. Report.Write saves report.md, report.json (every sample) and SVG
// plots.
//
// The worker protocol (Request, Message) is line-delimited JSON on the worker's
// standard output, with the runner's "time" or "skip" on its standard input; the
// Python and Rust workers speak it too. `lumen bench` is the command-line front end.
package harness
