package harness

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/klauspost/cpuid/v2"

	"github.com/lumen-ml/lumen/bench/stats"
	"github.com/lumen-ml/lumen/ops/asm"
)

// Result is one implementation on one workload at one thread count.
type Result struct {
	Workload    string             `json:"workload"`
	Impl        string             `json:"impl"`
	Threads     int                `json:"threads"`
	Status      string             `json:"status"`
	Reason      string             `json:"reason,omitempty"`
	Version     string             `json:"version,omitempty"`
	Reference   string             `json:"reference,omitempty"` // the implementation the outputs were checked against
	Equivalence *stats.Equivalence `json:"equivalence,omitempty"`
	// VsF32 compares an int8 workload's output with the reference's output of the
	// F32 workload it quantises (same name without "-int8"), when that ran too: the
	// accuracy that int8 costs.
	VsF32   *stats.Equivalence `json:"vs_f32,omitempty"`
	Pinned  string             `json:"pinned,omitempty"`
	Samples []float64          `json:"samples_s,omitempty"` // every timed repetition, seconds
	Summary *stats.Summary     `json:"summary_s,omitempty"`
	// Rate is items per second (GFLOP/s for GEMM) at the median repetition;
	// RateLow/RateHigh come from the bootstrap interval of the mean time.
	Rate     float64 `json:"rate"`
	RateLow  float64 `json:"rate_low"`
	RateHigh float64 `json:"rate_high"`
	PeakRSS  int64   `json:"peak_rss_bytes,omitempty"` // the worker's own high-water mark (VmHWM)
	// PeakRSSInherited marks a PeakRSS from the kernel's rusage instead, which
	// includes the runner's own peak (a child's maxrss starts at its parent's).
	PeakRSSInherited bool     `json:"peak_rss_inherited,omitempty"`
	CPUTimed         float64  `json:"cpu_timed_s,omitempty"`   // user+sys over the timed repetitions
	CPUProcess       float64  `json:"cpu_process_s,omitempty"` // user+sys of the whole process
	Wall             float64  `json:"wall_s,omitempty"`        // whole process, load included
	EnergyJ          *float64 `json:"energy_j,omitempty"`      // RAPL package energy of the process; nil: not readable
	Log              string   `json:"log,omitempty"`

	output *Output
}

func (r *Result) summarize(w Workload) {
	s, err := stats.Summarize(r.Samples, 2000, 1)
	if err != nil {
		r.Status, r.Reason = StatusFailed, err.Error()
		return
	}
	r.Summary = &s
	r.Rate, r.RateLow, r.RateHigh = w.Rate(s.Median), w.Rate(s.CIHigh), w.Rate(s.CILow)
}

// Comparison is Lumen (or the reference) against another implementation on one
// workload and thread count.
type Comparison struct {
	Workload string `json:"workload"`
	Threads  int    `json:"threads"`
	A        string `json:"a"` // the reference implementation
	B        string `json:"b"`
	stats.Comparison
	// SpeedupA is B's median time over A's: above 1 means A is faster.
	SpeedupA float64 `json:"speedup_a"`
}

// Report is a whole run: the machine, the environment, every sample and the tests.
type Report struct {
	Date        string            `json:"date"`
	Command     string            `json:"command"`
	Suite       string            `json:"suite"`
	CheckOnly   bool              `json:"check_only"`
	Machine     Machine           `json:"machine"`
	Env         map[string]string `json:"env"` // besides the thread-count variables
	Threads     []int             `json:"threads"`
	Impls       []string          `json:"impls"`
	Workloads   []Workload        `json:"workloads"`
	Runs        []Result          `json:"runs"`
	Comparisons []Comparison      `json:"comparisons"`
	Alpha       float64           `json:"alpha"`
	Limits      *Limits           `json:"limits,omitempty"`       // measured at the start (not with CheckOnly)
	WeightBytes map[string]int64  `json:"weight_bytes,omitempty"` // GPT-2 workloads: the checkpoint's bytes
}

// limitsLine describes the measured limits in one line.
func (rep *Report) limitsLine() string {
	if rep.Limits == nil {
		return "limits: not measured"
	}
	var read, peak []string
	for _, t := range rep.Threads {
		read = append(read, fmt.Sprintf("%.1f GB/s at %d thread(s)", rep.Limits.ReadGBs[t], t))
		peak = append(peak, fmt.Sprintf("%.1f GFLOP/s at %d", rep.Limits.PeakGFLOPs[t], t))
	}
	return "limits: DRAM read " + strings.Join(read, ", ") + "; SGEMM micro-kernel peak " + strings.Join(peak, ", ")
}

// shareOfLimit formats a run's share of its machine limit ("" when it has none).
func (rep *Report) shareOfLimit(r Result, w Workload) string {
	if rep.Limits == nil {
		return ""
	}
	if s := rep.Limits.share(w, r.Threads, r.Rate, rep.WeightBytes[w.Name]); s > 0 {
		return fmt.Sprintf("%.0f %%", 100*s)
	}
	return ""
}

// Machine describes where the report was made.
type Machine struct {
	CPU          string `json:"cpu"`
	Family       int    `json:"family"`
	Model        int    `json:"model"`
	LogicalCores int    `json:"logical_cores"`
	Features     string `json:"features"`
	LumenLevel   string `json:"lumen_kernels"`
	GoVersion    string `json:"go"`
	OS           string `json:"os"`
}

func describeMachine() Machine {
	var feats []string
	for _, f := range []cpuid.FeatureID{cpuid.AVX2, cpuid.FMA3, cpuid.F16C, cpuid.AVX512F, cpuid.AVX512BF16, cpuid.AVX512VNNI, cpuid.ASIMD} {
		if cpuid.CPU.Supports(f) {
			feats = append(feats, f.String())
		}
	}
	return Machine{CPU: strings.TrimSpace(cpuid.CPU.BrandName), Family: cpuid.CPU.Family, Model: cpuid.CPU.Model,
		LogicalCores: runtime.NumCPU(), Features: strings.Join(feats, " "), LumenLevel: asm.Best.String(),
		GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
}

// openBLASCoreType is the best OpenBLAS kernel family this CPU runs ("" off x86).
func openBLASCoreType() string {
	if runtime.GOARCH != "amd64" {
		return ""
	}
	c := cpuid.CPU
	switch {
	case c.Supports(cpuid.AVX512F, cpuid.AVX512BF16):
		return "Cooperlake"
	case c.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL):
		return "SkylakeX"
	case c.Supports(cpuid.AVX2, cpuid.FMA3) && c.VendorID == cpuid.AMD:
		return "Zen"
	case c.Supports(cpuid.AVX2, cpuid.FMA3):
		return "Haswell"
	case c.Supports(cpuid.AVX):
		return "Sandybridge"
	}
	return "Nehalem"
}

// compare runs the paper's tests: for every workload and thread count, the reference
// implementation against each other timed one, Bonferroni-adjusted over all of them.
func (rep *Report) compare() {
	rep.Alpha = 0.05
	type pair struct{ a, b *Result }
	var pairs []pair
	for i := range rep.Runs {
		b := &rep.Runs[i]
		if b.Status != StatusOK || b.Reference == "" {
			continue
		}
		for j := range rep.Runs {
			a := &rep.Runs[j]
			if a.Impl == b.Reference && a.Workload == b.Workload && a.Threads == b.Threads && a.Status == StatusOK {
				pairs = append(pairs, pair{a, b})
			}
		}
	}
	for _, p := range pairs {
		c, err := stats.Compare(p.a.Samples, p.b.Samples, rep.Alpha, len(pairs))
		if err != nil {
			continue
		}
		rep.Comparisons = append(rep.Comparisons, Comparison{Workload: p.a.Workload, Threads: p.a.Threads, A: p.a.Impl, B: p.b.Impl,
			Comparison: c, SpeedupA: p.b.Summary.Median / p.a.Summary.Median})
	}
	// Each int8 reference against its own F32 run of the same workload: what int8 buys.
	for i := range rep.Runs {
		a := &rep.Runs[i]
		if a.Status != StatusOK || a.Reference != "" || !strings.HasSuffix(a.Workload, "-int8") {
			continue
		}
		for j := range rep.Runs {
			b := &rep.Runs[j]
			if b.Impl == a.Impl && b.Workload == strings.TrimSuffix(a.Workload, "-int8") && b.Threads == a.Threads && b.Status == StatusOK {
				c, err := stats.Compare(a.Samples, b.Samples, rep.Alpha, len(pairs))
				if err != nil {
					continue
				}
				rep.Comparisons = append(rep.Comparisons, Comparison{Workload: a.Workload, Threads: a.Threads, A: a.Impl, B: b.Impl + " f32",
					Comparison: c, SpeedupA: b.Summary.Median / a.Summary.Median})
			}
		}
	}
}

// Failed returns the runs whose worker failed and, with disagreements set, those whose
// outputs differ from the reference (implementations that are not built or not
// installed do not count).
func (rep *Report) Failed(disagreements bool) []Result {
	var bad []Result
	for _, r := range rep.Runs {
		if r.Status == StatusFailed || (disagreements && r.Status == StatusDisagree) {
			bad = append(bad, r)
		}
	}
	return bad
}

// Write saves report.json (every sample), report.md and the SVG plots into dir.
func (rep *Report) Write(dir string) error {
	js, err := json.MarshalIndent(rep, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), js, 0o644); err != nil {
		return err
	}
	plots, err := rep.plot(dir, ".svg")
	if err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, "report.md"))
	if err != nil {
		return err
	}
	rep.Markdown(f, plots)
	return f.Close()
}

func fmtSeconds(s float64) string {
	switch {
	case s >= 1:
		return fmt.Sprintf("%.3g s", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.3g ms", s*1e3)
	default:
		return fmt.Sprintf("%.3g µs", s*1e6)
	}
}

func fmtRate(r float64) string {
	if r >= 100 {
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.3g", r)
}

// rssCell formats a run's peak RSS, starred when it is the kernel's inherited figure.
func rssCell(r Result) string {
	if r.PeakRSSInherited {
		return fmtBytes(r.PeakRSS) + "*"
	}
	return fmtBytes(r.PeakRSS)
}

func fmtBytes(b int64) string {
	if b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}

// Markdown writes the report as Markdown, linking the given plot files.
func (rep *Report) Markdown(w io.Writer, plots []string) {
	m := rep.Machine
	fmt.Fprintf(w, "# Lumen benchmark report\n\n")
	fmt.Fprintf(w, "- Date: %s\n- Command: `%s`\n- Suite: %s; threads %v; implementations %s\n", rep.Date, rep.Command, rep.Suite, rep.Threads, strings.Join(rep.Impls, ", "))
	fmt.Fprintf(w, "- Machine: %s (family %d model %d), %d logical CPUs, %s; Lumen kernels: %s; %s, %s\n",
		m.CPU, m.Family, m.Model, m.LogicalCores, m.Features, m.LumenLevel, m.GoVersion, m.OS)
	keys := make([]string, 0, len(rep.Env))
	for k := range rep.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var env []string
	for _, k := range keys {
		env = append(env, k+"="+rep.Env[k])
	}
	fmt.Fprintf(w, "- Environment of every worker: OMP/MKL/OPENBLAS/RAYON_NUM_THREADS and GOMAXPROCS = threads, %s; each worker pinned with taskset to CPUs 0..threads−1 where available\n",
		strings.Join(env, " "))
	fmt.Fprintf(w, "- Machine %s (GPT-2 decode rows: checkpoint bytes × tokens/s ÷ DRAM read bandwidth, a quarter of the F32 checkpoint's bytes for int8 rows; GEMM rows: GFLOP/s ÷ micro-kernel peak, in the column \"of limit\")\n", rep.limitsLine())
	fmt.Fprintf(w, "- Method: each implementation in its own process; output check against the reference first (a disagreeing implementation is not timed; BF16 workloads pass with Pearson > 0.99 and the first token equal, since implementations differ in running BF16 activations — the equivalence table shows whether later ids agree); an implementation without the workload's model or dtype says so (unsupported); then warm-up and the timed repetitions. Times in the tables are per repetition; CI is the 95 %% percentile bootstrap interval of the mean (2000 resamples). Peak RSS is each worker's own resident high-water mark (VmHWM, model load included; * marks the kernel's rusage figure, which includes the runner's own peak); process CPU covers the whole process; energy is RAPL package energy of the whole process where readable.\n\n")

	fmt.Fprintf(w, "## Workloads\n\n| workload | model | what one repetition is | reps | warm-up |\n|---|---|---|---|---|\n")
	for _, wl := range rep.Workloads {
		fmt.Fprintf(w, "| %s | %s | %s | %d | %d |\n", wl.Name, wl.Model, describe(wl), wl.Reps, wl.Warmup)
	}

	fmt.Fprintf(w, "\n## Results\n\n| workload | threads | impl | status | median | mean [95%% CI] | p95 | p99 | rate (median) | of limit | peak RSS | CPU timed / process | energy |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rep.Runs {
		wl := rep.workload(r.Workload)
		if r.Summary == nil {
			status := r.Status + describeEq(r)
			if r.Status == StatusFailed || r.Status == StatusDisagree || r.Status == StatusUnsupported {
				status += sep(strings.ReplaceAll(firstLine(r.Reason), "|", "\\|"))
			}
			fmt.Fprintf(w, "| %s | %d | %s | %s | | | | | | | %s | | n/a |\n", r.Workload, r.Threads, r.Impl, status, rssCell(r))
			continue
		}
		s := r.Summary
		energy := "n/a"
		if r.EnergyJ != nil {
			energy = fmt.Sprintf("%.1f J", *r.EnergyJ)
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s%s | %s | %s [%s, %s] | %s | %s | %s %s | %s | %s | %.2f s / %.2f s | %s |\n",
			r.Workload, r.Threads, r.Impl, r.Status, describeEq(r), fmtSeconds(s.Median), fmtSeconds(s.Mean), fmtSeconds(s.CILow), fmtSeconds(s.CIHigh),
			fmtSeconds(s.P95), fmtSeconds(s.P99), fmtRate(r.Rate), wl.Unit(), rep.shareOfLimit(r, wl), rssCell(r), r.CPUTimed, r.CPUProcess, energy)
	}

	var notRun []string
	for _, r := range rep.Runs {
		if r.Status == StatusNotBuilt || r.Status == StatusUnavailable {
			line := r.Impl + ": " + r.Reason
			if !slices.Contains(notRun, line) {
				notRun = append(notRun, line)
			}
		}
	}
	if len(notRun) > 0 {
		fmt.Fprintf(w, "\nNot run:\n\n- %s\n", strings.Join(notRun, "\n- "))
	}

	fmt.Fprintf(w, "\n## Output equivalence\n\n| workload | threads | impl | against | max abs diff | Pearson | argmax equal | ids equal | equivalent |\n|---|---|---|---|---|---|---|---|---|\n")
	var training []Result
	for _, r := range rep.Runs {
		if e := r.Equivalence; e != nil && rep.workload(r.Workload).Model == LeNetTrain {
			training = append(training, r)
		} else if e != nil {
			fmt.Fprintf(w, "| %s | %d | %s | %s | %.3g | %.7f | %v | %v | %v |\n", r.Workload, r.Threads, r.Impl, r.Reference, e.MaxAbsDiff, e.Pearson, e.ArgmaxEqual, e.TokensEqual, e.Equivalent)
		}
	}
	var int8Rows []Result
	for _, r := range rep.Runs {
		if r.VsF32 != nil {
			int8Rows = append(int8Rows, r)
		}
	}
	if len(int8Rows) > 0 {
		fmt.Fprintf(w, "\nInt8 workloads pass the check against the reference with Pearson > %g (softmax rows for logits, the values for hidden states), the argmax and ids shown but not required. Their accuracy against the reference's F32 output of the same workload without int8:\n\n", stats.Int8PearsonThreshold)
		fmt.Fprintf(w, "| workload | threads | impl | against F32 of | max abs diff | Pearson | argmax equal | ids equal |\n|---|---|---|---|---|---|---|---|\n")
		for _, r := range int8Rows {
			e := r.VsF32
			fmt.Fprintf(w, "| %s | %d | %s | %s | %.3g | %.5f | %v | %v |\n", r.Workload, r.Threads, r.Impl, strings.TrimSuffix(r.Workload, "-int8"), e.MaxAbsDiff, e.Pearson, e.ArgmaxEqual, e.TokensEqual)
		}
	}
	if len(training) > 0 {
		fmt.Fprintf(w, "\nTraining (same initial weights and data order): the losses of the first steps within %g relative, the test accuracy after the check's epochs (CheckEpochs) within %g points.\n\n", stats.LossTolerance, 100*stats.AccuracyTolerance)
		fmt.Fprintf(w, "| workload | threads | impl | against | largest loss rel. diff | accuracy diff (points) | equivalent |\n|---|---|---|---|---|---|---|\n")
		for _, r := range training {
			e := r.Equivalence
			fmt.Fprintf(w, "| %s | %d | %s | %s | %.2g | %.2f | %v |\n", r.Workload, r.Threads, r.Impl, r.Reference, e.LossRelDiff, 100*e.AccuracyDiff, e.Equivalent)
		}
	}

	if len(rep.Comparisons) > 0 {
		fmt.Fprintf(w, "\n## Comparisons\n\nShapiro-Wilk (α = %.2g) on both samples picks Welch's t-test (both normal) or Mann-Whitney U; p is Bonferroni-adjusted over the %d comparisons. Speed-up = other's median / reference's median (> 1: the reference is faster). Cohen's d and Cliff's delta are reference − other (negative: the reference takes less time).\n\n",
			rep.Alpha, len(rep.Comparisons))
		fmt.Fprintf(w, "| workload | threads | reference vs other | speed-up | test | statistic | p (adjusted) | significant | Cohen's d | Cliff's δ |\n|---|---|---|---|---|---|---|---|---|---|\n")
		for _, c := range rep.Comparisons {
			fmt.Fprintf(w, "| %s | %d | %s vs %s | %.2f× | %s | %.4g | %.3g | %v | %.2f | %.2f |\n", c.Workload, c.Threads, c.A, c.B, c.SpeedupA, c.Test, c.Statistic, c.PAdjust, c.PAdjust < rep.Alpha, c.CohenD, c.CliffsDelta)
		}
	}
	if len(plots) > 0 {
		fmt.Fprintf(w, "\n## Plots\n\n")
		for _, p := range plots {
			fmt.Fprintf(w, "![%s](%s)\n\n", strings.TrimSuffix(p, ".svg"), p)
		}
	}
	var versions []string
	for _, r := range rep.Runs {
		if r.Version != "" && !slices.Contains(versions, r.Impl+": "+r.Version) {
			versions = append(versions, r.Impl+": "+r.Version)
		}
	}
	if len(versions) > 0 {
		fmt.Fprintf(w, "\n## Versions\n\n- %s\n", strings.Join(versions, "\n- "))
	}
}

func sep(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

func describeEq(r Result) string {
	if r.Equivalence == nil {
		if r.output != nil && r.Reference == "" {
			return " (reference)"
		}
		return ""
	}
	if r.Equivalence.Equivalent {
		return " (≡ " + r.Reference + ")"
	}
	return ""
}

func (rep *Report) workload(name string) Workload {
	for _, w := range rep.Workloads {
		if w.Name == name {
			return w
		}
	}
	return Workload{Name: name}
}

func describe(w Workload) string {
	switch w.Model {
	case LeNet:
		return fmt.Sprintf("LeNet forward, batch %d MNIST test images", w.Batch)
	case LeNetTrain:
		opt := fmt.Sprintf("SGD lr %g momentum %g", w.LR, w.Momentum)
		if w.Optimizer == "adam" {
			opt = fmt.Sprintf("Adam lr %g", w.LR)
		}
		if w.Target > 0 {
			return fmt.Sprintf("LeNet training to %.1f%% MNIST test accuracy (at most %d epochs, evaluations timed), %s, batch %d", 100*w.Target, w.Epochs, opt, w.Batch)
		}
		return fmt.Sprintf("LeNet training, %d epoch(s) of %d MNIST images, %s, batch %d", w.Epochs, w.TrainImages, opt, w.Batch)
	case GPT2:
		if w.Decode > 0 && w.Quantize != "" {
			return fmt.Sprintf("GPT-2 %s (%s dynamic quantisation): %d greedy tokens after a %d-token prompt (prefill not timed)", strings.ToUpper(w.DType), w.Quantize, w.Decode, w.Seq)
		}
		if w.Decode > 0 {
			return fmt.Sprintf("GPT-2 %s: %d greedy tokens after a %d-token prompt (prefill not timed)", strings.ToUpper(w.DType), w.Decode, w.Seq)
		}
		return fmt.Sprintf("GPT-2 %s: prefill of %d tokens, last-position logits", strings.ToUpper(w.DType), w.Seq)
	case BERT:
		enc := "BERT encoder"
		if w.Size != "" {
			enc = w.Size + " encoder"
		}
		if w.Quantize != "" {
			return fmt.Sprintf("%s, batch %d × %d tokens, %s dynamic quantisation", enc, w.Batch, w.Seq, w.Quantize)
		}
		return fmt.Sprintf("%s, batch %d × %d tokens", enc, w.Batch, w.Seq)
	case GEMM:
		return fmt.Sprintf("SGEMM %d×%d×%d (M×K×N), row-major, B not pre-packed", w.M, w.K, w.N)
	}
	return ""
}
