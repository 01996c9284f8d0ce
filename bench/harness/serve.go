package harness

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/models/gpt2"
	"github.com/lumen-ml/lumen/tensor"
)

// The servers of the multi-client workload (the paper's concurrent clients).
const (
	ServeLumen        = "lumen"         // lumen serve: continuous batching
	ServeLumenNoBatch = "lumen-nobatch" // lumen serve --batching=false: each request on its own
	ServePyTorch      = "pytorch"       // bench/python/serve_torch.py: a thread per request under the GIL
)

// ServeOptions configures RunServe.
type ServeOptions struct {
	Impls     []string      // servers, the reference first (default: lumen, lumen-nobatch, pytorch)
	Clients   []int         // concurrent clients of each measurement (default 1, 4, 16, 64)
	Duration  time.Duration // of each measurement (default 20 s), after one warm-up request
	MaxTokens int           // per completion (default 32)
	Prompt    string        // default "The quick brown fox"
	Threads   int           // compute threads of each server (default 1)
	CPUs      string        // taskset CPU list the servers are pinned to ("": not pinned)

	ModelsDir string   // the random GPT-2 checkpoint is kept (written when missing) here
	GPT2Size  string   // gpt2.SizeConfig name (default "124M")
	Lumen     []string // argv prefix of the lumen binary ("serve ..." follows)
	Python    string
	PythonDir string
	Out       string // server logs go here
	Progress  io.Writer
}

// ServeRow is one server at one client count.
type ServeRow struct {
	Impl         string  `json:"impl"`
	Clients      int     `json:"clients"`
	Status       string  `json:"status"` // "ok", or why it was not measured
	Requests     int     `json:"requests"`
	Errors       int     `json:"errors"`
	Tokens       int     `json:"tokens"`
	Seconds      float64 `json:"seconds"`
	TokensPerSec float64 `json:"tokens_per_s"`
	QPS          float64 `json:"requests_per_s"`
	TTFTP50      float64 `json:"ttft_p50_ms"`
	TTFTP99      float64 `json:"ttft_p99_ms"`
	ITLP50       float64 `json:"itl_p50_ms"`
	ITLP99       float64 `json:"itl_p99_ms"`
	LatencyP50   float64 `json:"latency_p50_ms"`
	LatencyP99   float64 `json:"latency_p99_ms"`
}

func (o *ServeOptions) defaults() {
	if len(o.Impls) == 0 {
		o.Impls = []string{ServeLumen, ServeLumenNoBatch, ServePyTorch}
	}
	if len(o.Clients) == 0 {
		o.Clients = []int{1, 4, 16, 64}
	}
	o.Duration = cmp.Or(o.Duration, 20*time.Second)
	o.MaxTokens = cmp.Or(o.MaxTokens, 32)
	o.Prompt = cmp.Or(o.Prompt, "The quick brown fox")
	o.Threads = cmp.Or(o.Threads, 1)
	o.GPT2Size = cmp.Or(o.GPT2Size, "124M")
}

// RunServe runs the multi-client completions workload: each server in turn is
// started alone (pinned to CPUs when set) on the same random GPT-2 checkpoint, its
// greedy completion of the prompt is checked against the reference server's, then
// for each client count, clients stream completions back to back for Duration.
// A server that cannot start or disagrees gets a row saying so; the error is for the
// benchmark itself failing.
func RunServe(ctx context.Context, o ServeOptions) ([]ServeRow, error) {
	o.defaults()
	dir := filepath.Join(o.ModelsDir, "gpt2-"+strings.ToLower(o.GPT2Size)+"-f32")
	err := ensureModel(dir, func(tmp string) error {
		cfg, err := gpt2.SizeConfig(o.GPT2Size)
		if err != nil {
			return err
		}
		return gpt2.WriteRandom(tmp, cfg, tensor.F32, 1)
	})
	if err == nil {
		err = writeTokenizer(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("preparing the GPT-2 checkpoint: %w", err)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	var rows []ServeRow
	ref := ""
	for i, impl := range o.Impls {
		if err := ctx.Err(); err != nil {
			return rows, err
		}
		err := o.serveOne(ctx, impl, dir, func(text string) string {
			if i == 0 {
				ref = text
				return ""
			}
			if text != ref {
				return fmt.Sprintf("outputs differ: %q, reference %q", text, ref)
			}
			return ""
		}, &rows)
		if err != nil { // one row per client count, saying why
			rows = slices.DeleteFunc(rows, func(r ServeRow) bool { return r.Impl == impl })
			for _, c := range o.Clients {
				rows = append(rows, ServeRow{Impl: impl, Clients: c, Status: err.Error()})
			}
			o.logf("%s: %v", impl, err)
			if i == 0 {
				return rows, fmt.Errorf("the reference server %s failed: %w", impl, err)
			}
		}
	}
	return rows, nil
}

func (o *ServeOptions) logf(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "serve: "+format+"\n", args...)
	}
}

// writeTokenizer puts the shipped GPT-2 tokenizer beside the weights (Python reads it
// from there too).
func writeTokenizer(dir string) error {
	for _, name := range []string{"vocab.json", "merges.txt"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			continue
		}
		raw, err := fs.ReadFile(assets.GPT2Tokenizer(), name)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// serveOne starts impl's server, checks its greedy completion with check (which
// returns why it disagrees, or ""), measures every client count into rows and stops
// the server.
func (o *ServeOptions) serveOne(ctx context.Context, impl, modelDir string, check func(string) string, rows *[]ServeRow) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	threads := strconv.Itoa(o.Threads)
	var argv []string
	env := os.Environ()
	switch impl {
	case ServeLumen, ServeLumenNoBatch:
		if len(o.Lumen) == 0 {
			return errors.New("no lumen binary given")
		}
		argv = append(slices.Clone(o.Lumen), "serve", "--model", "g="+modelDir, "--threads", threads, "--addr", "127.0.0.1:"+strconv.Itoa(port),
			"--max-tokens", strconv.Itoa(max(512, o.MaxTokens)))
		if impl == ServeLumenNoBatch {
			argv = append(argv, "--batching=false")
		}
	case ServePyTorch:
		argv = []string{o.Python, filepath.Join(o.PythonDir, "serve_torch.py"), "--model", modelDir, "--port", strconv.Itoa(port), "--threads", threads}
		for k, v := range threadEnv() {
			env = append(env, k+"="+v)
		}
		env = append(env, "OMP_NUM_THREADS="+threads)
	default:
		return fmt.Errorf("unknown server %q (want %s, %s or %s)", impl, ServeLumen, ServeLumenNoBatch, ServePyTorch)
	}
	if o.CPUs != "" {
		argv = append([]string{"taskset", "-c", o.CPUs}, argv...)
	}
	logPath := filepath.Join(o.Out, "serve-"+impl+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, logFile, logFile
	ownGroup(cmd)
	o.logf("%s: starting %s", impl, strings.Join(argv, " "))
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{}) // closed when the server has exited, with waitErr set
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	defer func() {
		stopGroup(cmd, false)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			stopGroup(cmd, true)
			<-exited
		}
	}()
	if err := waitHealthy(ctx, base, exited, 5*time.Minute); err != nil {
		select {
		case <-exited:
			err = fmt.Errorf("%w: %v", err, waitErr)
		default:
		}
		return fmt.Errorf("%w (log: %s)", err, logPath)
	}

	// The equivalence check: one greedy completion, whole.
	body := func(stream bool) []byte {
		raw, _ := json.Marshal(map[string]any{"model": "g", "prompt": o.Prompt, "max_tokens": o.MaxTokens, "temperature": 0, "stream": stream})
		return raw
	}
	text, err := complete(ctx, base, body(false))
	if err != nil {
		return fmt.Errorf("the check request failed: %w", err)
	}
	if why := check(text); why != "" {
		for _, c := range o.Clients {
			*rows = append(*rows, ServeRow{Impl: impl, Clients: c, Status: why})
		}
		o.logf("%s: %s", impl, why)
		return nil
	}
	if _, err := complete(ctx, base, body(false)); err != nil { // warm-up
		return err
	}
	for _, c := range o.Clients {
		if err := ctx.Err(); err != nil {
			return err
		}
		rep := Load(ctx, base+"/v1/completions", body(true), c, 0, o.Duration, true)
		row := serveRow(impl, c, rep)
		*rows = append(*rows, row)
		o.logf("%s, %d clients: %.1f tokens/s, TTFT p50 %.0f ms, ITL p50 %.1f / p99 %.1f ms, %d errors",
			impl, c, row.TokensPerSec, row.TTFTP50, row.ITLP50, row.ITLP99, row.Errors)
	}
	return nil
}

func serveRow(impl string, clients int, rep LoadReport) ServeRow {
	ms := func(ds []time.Duration, q float64) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(NearestRank(s, q)) / 1e6
	}
	errs := rep.NetErrors
	for code, n := range rep.Status {
		if code != http.StatusOK {
			errs += n
		}
	}
	sec := rep.Elapsed.Seconds()
	status := "ok"
	if rep.Tokens == 0 {
		status = "no token generated in the time"
	}
	return ServeRow{Impl: impl, Clients: clients, Status: status, Requests: len(rep.Latencies), Errors: errs, Tokens: rep.Tokens, Seconds: sec,
		TokensPerSec: float64(rep.Tokens) / sec, QPS: float64(len(rep.Latencies)) / sec,
		TTFTP50: ms(rep.TTFT, 0.5), TTFTP99: ms(rep.TTFT, 0.99), ITLP50: ms(rep.ITL, 0.5), ITLP99: ms(rep.ITL, 0.99),
		LatencyP50: ms(rep.Latencies, 0.5), LatencyP99: ms(rep.Latencies, 0.99)}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitHealthy polls GET /healthz until it answers 200, the process exits or limit
// passes.
func waitHealthy(ctx context.Context, base string, exited <-chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("the server exited before it was ready")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server was not ready after %s", limit)
		}
	}
}

// complete runs one non-streamed completion and returns its text.
func complete(ctx context.Context, base string, body []byte) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/completions", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	var r struct {
		Choices []struct {
			Text string `json:"text"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(raw, &r); err != nil || len(r.Choices) != 1 {
		return "", fmt.Errorf("not a completion: %.200s", raw)
	}
	return r.Choices[0].Text, nil
}

// ServeMarkdown renders the rows as a table, with each server's aggregate tokens/s
// relative to its own 1-client figure and the reference's relative to every other
// server at the same client count.
func ServeMarkdown(rows []ServeRow, o ServeOptions) string {
	o.defaults()
	var b strings.Builder
	fmt.Fprintf(&b, "### Multi-client completions: GPT-2 %s F32, %d-token greedy completions of %q, %d thread(s) per server, %s per client count\n\n",
		o.GPT2Size, o.MaxTokens, o.Prompt, o.Threads, o.Duration)
	b.WriteString("| server | clients | tokens/s | × its 1 client | requests/s | TTFT p50 / p99 ms | ITL p50 / p99 ms | errors | status |\n|---|---|---|---|---|---|---|---|---|\n")
	one := map[string]float64{}
	for _, r := range rows {
		if r.Clients == 1 && r.Status == "ok" {
			one[r.Impl] = r.TokensPerSec
		}
	}
	for _, r := range rows {
		if r.Status != "ok" {
			fmt.Fprintf(&b, "| %s | %d | | | | | | | %s |\n", r.Impl, r.Clients, r.Status)
			continue
		}
		scale := ""
		if one[r.Impl] > 0 {
			scale = fmt.Sprintf("%.2f×", r.TokensPerSec/one[r.Impl])
		}
		fmt.Fprintf(&b, "| %s | %d | %.1f | %s | %.2f | %.0f / %.0f | %.1f / %.1f | %d | ok |\n",
			r.Impl, r.Clients, r.TokensPerSec, scale, r.QPS, r.TTFTP50, r.TTFTP99, r.ITLP50, r.ITLP99, r.Errors)
	}
	if len(o.Impls) > 1 {
		fmt.Fprintf(&b, "\n%s's aggregate tokens/s relative to each other server at the same client count:\n\n", o.Impls[0])
		for _, c := range o.Clients {
			var ref *ServeRow
			for i := range rows {
				if rows[i].Impl == o.Impls[0] && rows[i].Clients == c && rows[i].Status == "ok" {
					ref = &rows[i]
				}
			}
			if ref == nil {
				continue
			}
			var parts []string
			for _, r := range rows {
				if r.Impl != ref.Impl && r.Clients == c && r.Status == "ok" && r.TokensPerSec > 0 {
					parts = append(parts, fmt.Sprintf("%.2f× %s", ref.TokensPerSec/r.TokensPerSec, r.Impl))
				}
			}
			if len(parts) > 0 {
				fmt.Fprintf(&b, "- %d clients: %s\n", c, strings.Join(parts, ", "))
			}
		}
	}
	return b.String()
}
