package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/loader/hub/hubtest"
	"github.com/lumen-ml/lumen/models/bert"
	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/models/gpt2"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/server"
)

// TestServeLoadAndGracefulShutdown runs the real binary: serve on an ephemeral
// loopback port, drive it with load, then SIGTERM during a streamed completion.
// startServe builds and starts lumen serve with the tiny GPT-2 and MiniLM fixtures
// and extra flags; it returns the base URL, the process and a function that returns
// its whole stderr once it has exited.
func startServe(t *testing.T, extra ...string) (string, *exec.Cmd, func() string) {
	args := append([]string{"--workers", "2",
		"--model", "gpt2=" + shared.Path(t, "fixtures", "gpt2-tiny"), "--tokenizer", "gpt2=" + shared.Path(t, "tokenizers", "gpt2"),
		"--model", "minilm=" + shared.Path(t, "fixtures", "minilm-tiny"), "--tokenizer", "minilm=" + shared.Path(t, "tokenizers", "bert-base-uncased")}, extra...)
	base, cmd, log := launchServe(t, args...)
	waitReady(t, base)
	return base, cmd, log
}

// launchServe builds and starts lumen serve on an ephemeral loopback port with args,
// returning once it has bound its address (before its models are ready).
func launchServe(t *testing.T, args ...string) (string, *exec.Cmd, func() string) {
	bin := filepath.Join(t.TempDir(), "lumen")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	stderr, w, err := os.Pipe() // ours, so that Wait does not close it before we have read it all
	require.NoError(t, err)
	cmd.Stderr = w
	require.NoError(t, cmd.Start())
	w.Close()
	t.Cleanup(func() { cmd.Process.Kill() })
	sc := bufio.NewScanner(stderr)
	var base string
	for sc.Scan() {
		if m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	require.NotEmpty(t, base, "serve did not report its address")
	var log strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
		}
	}()
	return base, cmd, func() string {
		<-done // EOF: the process has exited
		return log.String()
	}
}

// waitReady polls /readyz until it answers 200 (at most 60 s).
func waitReady(t *testing.T, base string) {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatal("serve was not ready after a minute")
}

// waitExit waits up to 30 s for the process and returns its error.
func waitExit(t *testing.T, cmd *exec.Cmd) error {
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit after the signal")
	}
	return nil
}

// startStream starts a 250-token streamed completion and reads its first event.
func startStream(t *testing.T, base string) *bufio.Reader {
	resp, err := http.Post(base+"/v1/completions", "application/json", strings.NewReader(`{"model":"gpt2","prompt":"Hello","max_tokens":250,"temperature":0,"stream":true}`))
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	require.Equal(t, 200, resp.StatusCode)
	br := bufio.NewReader(resp.Body)
	_, err = br.ReadString('\n')
	require.NoError(t, err)
	return br
}

// TestServeDrainRunsOut: when the drain timeout runs out, the stream in flight ends
// with an error event and [DONE], and serve exits 1 saying so; a second signal does
// the same at once.
func TestServeDrainRunsOut(t *testing.T) {
	for _, c := range []struct {
		name   string
		flags  []string
		second bool
	}{{"timeout", []string{"--drain-timeout", "1ms"}, false}, {"second signal", []string{"--drain-timeout", "10m"}, true}} {
		base, cmd, log := startServe(t, c.flags...)
		br := startStream(t, base)
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		if c.second {
			time.Sleep(20 * time.Millisecond)
			require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
		}
		rest, err := io.ReadAll(br)
		require.NoError(t, err)
		require.Contains(t, string(rest), `"type":"cancelled"`, c.name)
		require.True(t, strings.HasSuffix(string(rest), "data: [DONE]\n\n"), c.name)
		err = waitExit(t, cmd)
		require.Error(t, err, c.name)
		require.Contains(t, log(), "error: drain incomplete", c.name)
	}
}

func TestServeLoadAndGracefulShutdown(t *testing.T) {
	base, cmd, _ := startServe(t)

	code, report, errOut := runCLI("load", "--url", base, "--endpoint", "/v1/embeddings", "--model", "minilm", "--concurrency", "8", "--requests", "200")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, report, "requests  200 ok")
	require.Contains(t, report, "errors    0 (network 0)")
	require.Regexp(t, `p50 \S+  p95 \S+  p99 \S+`, report)

	// A streamed completion in flight when SIGTERM arrives still completes.
	br := startStream(t, base)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	require.Contains(t, string(rest), "data: [DONE]")
	require.NotContains(t, string(rest), `"error"`)
	require.NoError(t, waitExit(t, cmd), "serve exits 0 after a graceful shutdown")
}

// TestServeSharesOnePool: serve loads all its models onto one pool of threads.
func TestServeSharesOnePool(t *testing.T) {
	dirs := map[string]string{"gpt2": shared.Path(t, "fixtures", "gpt2-tiny"), "minilm": shared.Path(t, "fixtures", "minilm-tiny")}
	toks := map[string]string{"gpt2": shared.Path(t, "tokenizers", "gpt2"), "minilm": shared.Path(t, "tokenizers", "bert-base-uncased")}
	models, closeAll, err := loadModels(io.Discard, dirs, toks, 2, nil, &decode.BatchOptions{})
	require.NoError(t, err)
	defer closeAll()
	require.Len(t, models, 2)
	a, b := models["gpt2"].(servedModel).WorkerPool(), models["minilm"].(servedModel).WorkerPool()
	require.NotNil(t, a)
	require.Same(t, a, b, "both models run on the one pool")
	require.Equal(t, 2, a.Threads())
	_, batched := models["gpt2"].(server.BatchingCompleter)
	require.True(t, batched, "GPT-2 serves completions with continuous batching")

	// serve --quantize int8 loads every model with int8 weights.
	q, closeQ, err := loadModels(io.Discard, dirs, toks, 1, nil, nil, nn.WithQuantization(nn.Int8))
	require.NoError(t, err)
	defer closeQ()
	f32, i8 := models["minilm"].(*bert.Model), q["minilm"].(*bert.Model)
	encs, err := f32.Encode([]string{"The weather is lovely today."}, false)
	require.NoError(t, err)
	want, err := f32.Embed(context.Background(), encs)
	require.NoError(t, err)
	got, err := i8.Embed(context.Background(), encs)
	require.NoError(t, err)
	require.Greater(t, cosine(want[0], got[0]), 0.99)
	require.NotEqual(t, want[0], got[0], "the int8 model is not the F32 one")
	require.Equal(t, nn.Int8, q["gpt2"].(*gpt2.Model).Quantization())
	require.Equal(t, nn.NoQuantization, models["gpt2"].(batchedGPT2).m.Quantization())
}

// TestServeBindsBeforeLoading: a taken address fails before any model is loaded.
func TestServeBindsBeforeLoading(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	code, _, errOut := runCLI("serve", "--addr", taken.Addr().String(), "--model", "a="+shared.Path(t, "fixtures", "gpt2-tiny"))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "address already in use")
	require.NotContains(t, errOut, "loaded")
}

func TestServeAndLoadErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "--model NAME=DIR"},
		{[]string{"serve", "--model", "x"}, "want NAME=DIR"},
		{[]string{"serve", "--model", "a=" + t.TempDir()}, "config.json"},
		{[]string{"serve", "--model", "a=" + shared.Path(t, "fixtures", "gpt2-tiny")}, "without a tokenizer"},
		{[]string{"serve", "--model", "a=" + shared.Path(t, "fixtures", "gpt2-tiny"), "--tokenizer", "b=" + t.TempDir()}, `no --model named "b"`},
		{[]string{"load", "--url", "http://10.0.0.1:8080", "--requests", "1"}, "loopback"},
		{[]string{"load", "--url", "http://example.com", "--requests", "1"}, "loopback"},
		{[]string{"load", "--url", "http://127.0.0.1:1"}, "exactly one of"},
		{[]string{"load", "--url", "http://127.0.0.1:1", "--requests", "1", "--concurrency", "0"}, "--concurrency"},
	} {
		code, _, errOut := runCLI(c.args...)
		require.Equal(t, 1, code, c.args)
		require.Contains(t, errOut, c.want, c.args)
	}
}

// TestServeReadiness: while a model downloads, /healthz answers 200 and /readyz and
// the API 503; once it is loaded /readyz answers 200; at SIGTERM /readyz turns 503
// while the address stays open (--drain-delay), and serve then exits 0.
func TestServeReadiness(t *testing.T) {
	dir := t.TempDir()
	code, _, errOut := runCLI("gen-random", "--arch", "bert", "--size", "tiny", "--out", dir)
	require.Equal(t, 0, code, errOut)
	fake := hubtest.New(repoFromDir(t, "org/tiny-bert", dir))
	defer fake.Close()
	// The Hub answers only once release is closed: the model stays loading till then.
	release := make(chan struct{})
	target, err := url.Parse(fake.API.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		proxy.ServeHTTP(w, r)
	}))
	defer slow.Close()
	t.Setenv("HF_ENDPOINT", slow.URL)
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HUB_OFFLINE", "")

	base, cmd, log := launchServe(t, "--model", "tiny=org/tiny-bert", "--drain-delay", "1s")
	status := func(method, path string) int {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(`{"model":"tiny","input":"hi"}`))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, 200, status("GET", "/healthz"), "alive while loading")
	require.Equal(t, 503, status("GET", "/readyz"), "not ready while loading")
	require.Equal(t, 503, status("POST", "/v1/embeddings"))
	close(release)
	waitReady(t, base)
	require.Equal(t, 200, status("POST", "/v1/embeddings"))

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	deadline := time.Now().Add(900 * time.Millisecond)
	for status("GET", "/readyz") != 503 {
		require.True(t, time.Now().Before(deadline), "/readyz still 200 after SIGTERM")
		time.Sleep(10 * time.Millisecond)
	}
	require.Equal(t, 200, status("GET", "/healthz"), "alive while draining")
	require.Equal(t, 503, status("POST", "/v1/embeddings"), "no new work while draining")
	require.NoError(t, waitExit(t, cmd))
	require.Contains(t, log(), "drained: every request finished")
}
