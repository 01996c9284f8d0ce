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
	"maps"
	"math"
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
)

// The servers of the multi-client workload (the paper's concurrent clients).
const (
	ServeLumen        = "lumen"         // lumen serve: continuous batching
	ServeLumenNoBatch = "lumen-nobatch" // lumen serve --batching=false: each request on its own
	ServePyTorch      = "pytorch"       // bench/python/serve_torch.py: a thread per request under the GIL
)

// The workloads of the multi-client suite.
const (
	ServeCompletions = "completions" // streamed greedy GPT-2 completions
	ServeEmbeddings  = "embeddings"  // one sentence's BERT embedding per request
)

// ServeOptions configures RunServe.
type ServeOptions struct {
	Workloads []string      // default: completions, embeddings
	Impls     []string      // servers, the reference first (default: lumen, lumen-nobatch, pytorch)
	Clients   []int         // concurrent clients of each measurement (default 1, 4, 16, 64)
	Duration  time.Duration // of each measurement (default 20 s), after one warm-up request
	MaxTokens int           // per completion (default 32)
	Prompt    string        // default "The quick brown fox"
	Sentence  string        // embedded per request (default "The weather is lovely today.")
	Threads   int           // compute threads of each server (default 1)
	CPUs      string        // taskset CPU list the servers are pinned to ("": not pinned)
	// Quantize "int8" starts every server with dynamic int8 quantisation (lumen serve
	// --quantize int8, serve_torch.py --quantize int8); the check then takes another
	// implementation's embeddings within cosine 0.99 and any non-empty completion (the
	// Lumen servers must still agree exactly: the same sums).
	Quantize string

	ModelsDir string   // the random checkpoints are kept (written when missing) here
	GPT2Size  string   // gpt2.SizeConfig name (default "124M")
	BERTSize  string   // bert.SizeConfig name of the embeddings model (default "minilm-l6")
	Lumen     []string // argv prefix of the lumen binary ("serve ..." follows)
	Python    string
	PythonDir string
	Out       string // server logs go here
	Progress  io.Writer
}

// ServeRow is one server at one client count of one workload.
type ServeRow struct {
	Workload     string  `json:"workload"`
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
	// ErrorKinds breaks Errors down: "network", "broken stream" (ended without [DONE]
	// or with an error event before the deadline) and HTTP statuses ("503", ...).
	ErrorKinds map[string]int `json:"error_kinds,omitempty"`
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
	if len(o.Workloads) == 0 {
		o.Workloads = []string{ServeCompletions, ServeEmbeddings}
	}
	o.Prompt = cmp.Or(o.Prompt, "The quick brown fox")
	o.Sentence = cmp.Or(o.Sentence, "The weather is lovely today.")
	o.Threads = cmp.Or(o.Threads, 1)
	o.GPT2Size = cmp.Or(o.GPT2Size, "124M")
	o.BERTSize = cmp.Or(o.BERTSize, "minilm-l6")
}

// RunServe runs the multi-client workloads: for each workload, each server in turn is
// started alone (pinned to CPUs when set) on the same random checkpoint (GPT-2 for
// completions, a BERT for embeddings), its output is checked against the reference
// server's (the greedy completion, whole; the sentence's embedding, both L2-normalised,
// within 1e-3), then for each client count, clients send requests back to back for
// Duration (completions streamed). A server that cannot start or disagrees gets a row
// saying so; the error is for the benchmark itself failing. lumen-nobatch differs from
// lumen in completions only, so it has no embeddings rows.
func RunServe(ctx context.Context, o ServeOptions) ([]ServeRow, error) {
	o.defaults()
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	var rows []ServeRow
	for _, wl := range o.Workloads {
		dir, err := o.prepareModel(wl)
		if err != nil {
			return rows, err
		}
		var ref *serveOutput // the first server's output
		first := true
		for _, impl := range o.Impls {
			if err := ctx.Err(); err != nil {
				return rows, err
			}
			if wl == ServeEmbeddings && impl == ServeLumenNoBatch {
				continue
			}
			got, err := o.serveOne(ctx, wl, impl, dir, ref, &rows)
			if first && got != nil {
				ref = got
			}
			if err != nil { // one row per client count, saying why
				rows = slices.DeleteFunc(rows, func(r ServeRow) bool { return r.Workload == wl && r.Impl == impl })
				for _, c := range o.Clients {
					rows = append(rows, ServeRow{Workload: wl, Impl: impl, Clients: c, Status: err.Error()})
				}
				o.logf("%s %s: %v", impl, wl, err)
				if first {
					return rows, fmt.Errorf("the reference server %s failed (%s): %w", impl, wl, err)
				}
			}
			first = false
		}
	}
	return rows, nil
}

// prepareModel writes workload's random checkpoint with its tokenizer (when missing)
// and returns its directory.
func (o *ServeOptions) prepareModel(workload string) (string, error) {
	var dir string
	var err error
	var tok fs.FS
	switch workload {
	case ServeCompletions:
		dir, err = randomGPT2(o.ModelsDir, o.GPT2Size, "f32")
		tok = assets.GPT2Tokenizer()
	case ServeEmbeddings:
		dir, err = randomBERT(o.ModelsDir, o.BERTSize)
		tok = assets.BERTUncasedVocab()
	default:
		return "", fmt.Errorf("unknown serve workload %q (want %s or %s)", workload, ServeCompletions, ServeEmbeddings)
	}
	if err == nil {
		err = writeTokenizer(dir, tok)
	}
	if err != nil {
		return "", fmt.Errorf("preparing the %s checkpoint: %w", workload, err)
	}
	return dir, nil
}

func (o *ServeOptions) logf(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "serve: "+format+"\n", args...)
	}
}

// writeTokenizer puts a shipped tokenizer's files beside the weights (Python reads
// them from there too).
func writeTokenizer(dir string, tok fs.FS) error {
	names, err := fs.Glob(tok, "*")
	if err != nil {
		return err
	}
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			continue
		}
		raw, err := fs.ReadFile(tok, name)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// serveOutput is what a server's check request returned: a completion's text or a
// sentence's embedding.
type serveOutput struct {
	text string
	emb  []float32
}

// serveOne starts impl's server for workload, checks its output against ref (nil: it
// is the reference), measures every client count into rows and stops the server. It
// returns the check's output.
func (o *ServeOptions) serveOne(ctx context.Context, workload, impl, modelDir string, ref *serveOutput, rows *[]ServeRow) (*serveOutput, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	threads := strconv.Itoa(o.Threads)
	var argv []string
	env := os.Environ()
	switch impl {
	case ServeLumen, ServeLumenNoBatch:
		if len(o.Lumen) == 0 {
			return nil, errors.New("no lumen binary given")
		}
		argv = append(slices.Clone(o.Lumen), "serve", "--model", "m="+modelDir, "--threads", threads, "--addr", "127.0.0.1:"+strconv.Itoa(port),
			"--max-tokens", strconv.Itoa(max(512, o.MaxTokens)))
		if impl == ServeLumenNoBatch {
			argv = append(argv, "--batching=false")
		}
		if o.Quantize != "" {
			argv = append(argv, "--quantize", o.Quantize)
		}
	case ServePyTorch:
		argv = []string{o.Python, filepath.Join(o.PythonDir, "serve_torch.py"), "--model", modelDir, "--port", strconv.Itoa(port), "--threads", threads}
		if workload == ServeEmbeddings {
			argv = append(argv, "--vocab", filepath.Join(modelDir, "vocab.txt"))
		}
		if o.Quantize != "" {
			argv = append(argv, "--quantize", o.Quantize)
		}
		for k, v := range threadEnv() {
			env = append(env, k+"="+v)
		}
		env = append(env, "OMP_NUM_THREADS="+threads, "OPENBLAS_NUM_THREADS="+threads)
	default:
		return nil, fmt.Errorf("unknown server %q (want %s, %s or %s)", impl, ServeLumen, ServeLumenNoBatch, ServePyTorch)
	}
	if o.CPUs != "" {
		argv = append([]string{"taskset", "-c", o.CPUs}, argv...)
	}
	logPath := filepath.Join(o.Out, "serve-"+workload+"-"+impl+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, logFile, logFile
	ownGroup(cmd)
	o.logf("%s %s: starting %s", impl, workload, strings.Join(argv, " "))
	if err := cmd.Start(); err != nil {
		return nil, err
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
		return nil, fmt.Errorf("%w (log: %s)", err, logPath)
	}

	// The equivalence check, then one warm-up request.
	var target string
	var body func(stream bool) []byte
	var out serveOutput
	switch workload {
	case ServeCompletions:
		target = base + "/v1/completions"
		body = func(stream bool) []byte {
			raw, _ := json.Marshal(map[string]any{"model": "m", "prompt": o.Prompt, "max_tokens": o.MaxTokens, "temperature": 0, "stream": stream})
			return raw
		}
		out.text, err = complete(ctx, target, body(false))
	case ServeEmbeddings:
		target = base + "/v1/embeddings"
		body = func(bool) []byte {
			raw, _ := json.Marshal(map[string]any{"model": "m", "input": o.Sentence})
			return raw
		}
		out.emb, err = embed(ctx, target, body(false))
	}
	if err != nil {
		return nil, fmt.Errorf("the check request failed: %w", err)
	}
	if ref != nil {
		// Int8 servers of other implementations quantise their own way.
		loose := o.Quantize != "" && impl != ServeLumen && impl != ServeLumenNoBatch
		if why := differ(*ref, out, loose); why != "" {
			for _, c := range o.Clients {
				*rows = append(*rows, ServeRow{Workload: workload, Impl: impl, Clients: c, Status: why})
			}
			o.logf("%s %s: %s", impl, workload, why)
			return &out, nil
		}
	}
	stream := workload == ServeCompletions
	if r := Load(ctx, target, [][]byte{body(false)}, 1, 1, 0, false); len(r.Latencies) != 1 { // warm-up
		return &out, errors.New("the warm-up request failed")
	}
	for _, c := range o.Clients {
		if err := ctx.Err(); err != nil {
			return &out, err
		}
		rep := Load(ctx, target, [][]byte{body(stream)}, c, 0, o.Duration, stream)
		row := serveRow(workload, impl, c, rep)
		*rows = append(*rows, row)
		if stream {
			o.logf("%s, %d clients: %.1f tokens/s, TTFT p50 %.0f ms, ITL p50 %.1f / p99 %.1f ms, %d errors%s",
				impl, c, row.TokensPerSec, row.TTFTP50, row.ITLP50, row.ITLP99, row.Errors, kindsText(row.ErrorKinds))
		} else {
			o.logf("%s %s, %d clients: %.1f requests/s, p50 %.1f / p99 %.1f ms, %d errors%s",
				impl, workload, c, row.QPS, row.LatencyP50, row.LatencyP99, row.Errors, kindsText(row.ErrorKinds))
		}
	}
	return &out, nil
}

// kindsText is " (503: 2, network: 1)" for a row's error kinds, "" for none.
func kindsText(kinds map[string]int) string {
	if len(kinds) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, kinds[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// differ says why got disagrees with the reference's output, or "". Embeddings are
// compared L2-normalised (servers differ in whether they normalise), within 1e-3.
// int8 loosens both for another implementation's int8 server: the embeddings' cosine
// must reach 0.99, and a completion need only be there — the random-weight GPT-2's
// logits are nearly tied, and each implementation's int8 rounding picks its own first
// token (measured: " Conquer…" against PyTorch's " intermediate…"); the paper suite's
// gpt2-decode-int8 compares the distributions instead.
func differ(ref, got serveOutput, int8 bool) string {
	if ref.emb == nil {
		if int8 {
			if strings.TrimSpace(got.text) == "" {
				return "outputs differ: an empty int8 completion"
			}
			return ""
		}
		if got.text != ref.text {
			return fmt.Sprintf("outputs differ: %q, reference %q", got.text, ref.text)
		}
		return ""
	}
	if len(got.emb) != len(ref.emb) {
		return fmt.Sprintf("outputs differ: an embedding of %d values, reference %d", len(got.emb), len(ref.emb))
	}
	a, b := unit(ref.emb), unit(got.emb)
	if int8 {
		cos := 0.0
		for i := range a {
			cos += a[i] * b[i]
		}
		if !(cos >= 0.99) {
			return fmt.Sprintf("outputs differ: int8 embeddings at cosine %.4f, below 0.99", cos)
		}
		return ""
	}
	worst := 0.0
	for i := range a {
		worst = max(worst, math.Abs(a[i]-b[i]))
	}
	if worst > 1e-3 {
		return fmt.Sprintf("outputs differ: normalised embeddings %.3g apart (max abs), more than 1e-3", worst)
	}
	return ""
}

func unit(v []float32) []float64 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	n = math.Sqrt(n)
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x) / n
	}
	return out
}

func serveRow(workload, impl string, clients int, rep LoadReport) ServeRow {
	ms := func(ds []time.Duration, q float64) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(NearestRank(s, q)) / 1e6
	}
	var kinds map[string]int // Errors, by kind
	add := func(kind string, n int) {
		if n > 0 {
			if kinds == nil {
				kinds = map[string]int{}
			}
			kinds[kind] += n
		}
	}
	add("network", rep.NetErrors)
	for code, n := range rep.Status {
		switch code {
		case http.StatusOK:
		case -1:
			add("broken stream", n)
		default:
			add(strconv.Itoa(code), n)
		}
	}
	errs := 0
	for _, n := range kinds {
		errs += n
	}
	sec := rep.Elapsed.Seconds()
	status := "ok"
	switch {
	case rep.Stream && rep.Tokens == 0:
		status = "no token generated in the time"
	case !rep.Stream && len(rep.Latencies) == 0:
		status = "no request answered in the time"
	}
	return ServeRow{Workload: workload, Impl: impl, Clients: clients, Status: status, Requests: len(rep.Latencies), Errors: errs, Tokens: rep.Tokens, Seconds: sec,
		TokensPerSec: float64(rep.Tokens) / sec, QPS: float64(len(rep.Latencies)) / sec,
		TTFTP50: ms(rep.TTFT, 0.5), TTFTP99: ms(rep.TTFT, 0.99), ITLP50: ms(rep.ITL, 0.5), ITLP99: ms(rep.ITL, 0.99),
		LatencyP50: ms(rep.Latencies, 0.5), LatencyP99: ms(rep.Latencies, 0.99), ErrorKinds: kinds}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitHealthy polls GET /readyz (Lumen answers 503 while its models load) until it
// answers 200 — or, for a server without readiness (404), GET /healthz — the
// process exits or limit passes.
func waitHealthy(ctx context.Context, base string, exited <-chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	status := func(path string) int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for {
		switch status("/readyz") {
		case http.StatusOK:
			return nil
		case http.StatusNotFound:
			if status("/healthz") == http.StatusOK {
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

// post sends one JSON request and returns the 200 response's body.
func post(ctx context.Context, target string, body []byte) ([]byte, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	return raw, nil
}

// embed runs one embeddings request of one text and returns its vector.
func embed(ctx context.Context, target string, body []byte) ([]float32, error) {
	raw, err := post(ctx, target, body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Data []struct {
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &r); err != nil || len(r.Data) != 1 || len(r.Data[0].Embedding) == 0 {
		return nil, fmt.Errorf("not one embedding: %.200s", raw)
	}
	return r.Data[0].Embedding, nil
}

// complete runs one non-streamed completion and returns its text.
func complete(ctx context.Context, target string, body []byte) (string, error) {
	raw, err := post(ctx, target, body)
	if err != nil {
		return "", err
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

// ServeMarkdown renders the rows as one table per workload, with each server's
// aggregate throughput (tokens/s for completions, requests/s for embeddings) relative to
// its own 1-client figure and the reference's relative to every other server at the
// same client count.
func ServeMarkdown(rows []ServeRow, o ServeOptions) string {
	o.defaults()
	var b strings.Builder
	for _, wl := range o.Workloads {
		var rs []ServeRow
		for _, r := range rows {
			if r.Workload == wl {
				rs = append(rs, r)
			}
		}
		if len(rs) == 0 {
			continue
		}
		rate := func(r ServeRow) float64 { return r.QPS }
		if wl == ServeCompletions {
			rate = func(r ServeRow) float64 { return r.TokensPerSec }
			fmt.Fprintf(&b, "### Multi-client completions: GPT-2 %s F32, %d-token greedy completions of %q, %d thread(s) per server, %s per client count\n\n",
				o.GPT2Size, o.MaxTokens, o.Prompt, o.Threads, o.Duration)
			b.WriteString("| server | clients | tokens/s | × its 1 client | requests/s | TTFT p50 / p99 ms | ITL p50 / p99 ms | errors | status |\n|---|---|---|---|---|---|---|---|---|\n")
		} else {
			fmt.Fprintf(&b, "### Multi-client embeddings: BERT %s F32 (random weights, bert-base-uncased vocabulary), one sentence (%q) per request, %d thread(s) per server, %s per client count\n\n",
				o.BERTSize, o.Sentence, o.Threads, o.Duration)
			b.WriteString("| server | clients | requests/s | × its 1 client | latency p50 / p99 ms | errors | status |\n|---|---|---|---|---|---|---|\n")
		}
		one := map[string]float64{}
		for _, r := range rs {
			if r.Clients == 1 && r.Status == "ok" {
				one[r.Impl] = rate(r)
			}
		}
		for _, r := range rs {
			if r.Status != "ok" {
				if wl == ServeCompletions {
					fmt.Fprintf(&b, "| %s | %d | | | | | | | %s |\n", r.Impl, r.Clients, r.Status)
				} else {
					fmt.Fprintf(&b, "| %s | %d | | | | | %s |\n", r.Impl, r.Clients, r.Status)
				}
				continue
			}
			scale := ""
			if one[r.Impl] > 0 {
				scale = fmt.Sprintf("%.2f×", rate(r)/one[r.Impl])
			}
			if wl == ServeCompletions {
				fmt.Fprintf(&b, "| %s | %d | %.1f | %s | %.2f | %.0f / %.0f | %.1f / %.1f | %d | ok |\n",
					r.Impl, r.Clients, r.TokensPerSec, scale, r.QPS, r.TTFTP50, r.TTFTP99, r.ITLP50, r.ITLP99, r.Errors)
			} else {
				fmt.Fprintf(&b, "| %s | %d | %.1f | %s | %.1f / %.1f | %d | ok |\n", r.Impl, r.Clients, r.QPS, scale, r.LatencyP50, r.LatencyP99, r.Errors)
			}
		}
		unit := "requests/s"
		if wl == ServeCompletions {
			unit = "tokens/s"
		}
		refImpl := rs[0].Impl // the first server that ran this workload
		var lines []string
		for _, c := range o.Clients {
			var ref *ServeRow
			for i := range rs {
				if rs[i].Impl == refImpl && rs[i].Clients == c && rs[i].Status == "ok" {
					ref = &rs[i]
				}
			}
			if ref == nil {
				continue
			}
			var parts []string
			for _, r := range rs {
				if r.Impl != ref.Impl && r.Clients == c && r.Status == "ok" && rate(r) > 0 {
					parts = append(parts, fmt.Sprintf("%.2f× %s", rate(*ref)/rate(r), r.Impl))
				}
			}
			if len(parts) > 0 {
				lines = append(lines, fmt.Sprintf("- %d clients: %s", c, strings.Join(parts, ", ")))
			}
		}
		if len(lines) > 0 {
			fmt.Fprintf(&b, "\n%s's aggregate %s relative to each other server at the same client count:\n\n%s\n", refImpl, unit, strings.Join(lines, "\n"))
		}
		b.WriteString("\n")
	}
	return b.String()
}
