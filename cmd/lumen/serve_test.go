package main

import (
	"bufio"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/internal/shared"
)

// TestServeLoadAndGracefulShutdown runs the real binary: serve on an ephemeral
// loopback port, drive it with load, then SIGTERM during a streamed completion.
func TestServeLoadAndGracefulShutdown(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "lumen")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--workers", "2",
		"--model", "gpt2="+shared.Path(t, "fixtures", "gpt2-tiny"), "--tokenizer", "gpt2="+shared.Path(t, "tokenizers", "gpt2"),
		"--model", "minilm="+shared.Path(t, "fixtures", "minilm-tiny"), "--tokenizer", "minilm="+shared.Path(t, "tokenizers", "bert-base-uncased"))
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stderr)
	var base string
	for sc.Scan() {
		if m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	require.NotEmpty(t, base, "serve did not report its address")
	go io.Copy(io.Discard, stderr)

	code, report, errOut := runCLI("load", "--url", base, "--endpoint", "/v1/embeddings", "--model", "minilm", "--concurrency", "8", "--requests", "200")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, report, "requests  200 ok")
	require.Contains(t, report, "errors    0 (network 0)")
	require.Regexp(t, `p50 \S+  p95 \S+  p99 \S+`, report)

	// A streamed completion in flight when SIGTERM arrives still completes.
	resp, err := http.Post(base+"/v1/completions", "application/json", strings.NewReader(`{"model":"gpt2","prompt":"Hello","max_tokens":200,"temperature":0,"stream":true}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	_, err = br.ReadString('\n')
	require.NoError(t, err)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	require.Contains(t, string(rest), "data: [DONE]")
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		require.NoError(t, err, "serve exits 0 after a graceful shutdown")
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit after SIGTERM")
	}
}

// TestServeSharesOnePool: serve loads all its models onto one pool of threads.
func TestServeSharesOnePool(t *testing.T) {
	dirs := map[string]string{"gpt2": shared.Path(t, "fixtures", "gpt2-tiny"), "minilm": shared.Path(t, "fixtures", "minilm-tiny")}
	toks := map[string]string{"gpt2": shared.Path(t, "tokenizers", "gpt2"), "minilm": shared.Path(t, "tokenizers", "bert-base-uncased")}
	models, closeAll, err := loadModels(io.Discard, dirs, toks, 2, nil)
	require.NoError(t, err)
	defer closeAll()
	require.Len(t, models, 2)
	a, b := models["gpt2"].(servedModel).WorkerPool(), models["minilm"].(servedModel).WorkerPool()
	require.NotNil(t, a)
	require.Same(t, a, b, "both models run on the one pool")
	require.Equal(t, 2, a.Threads())
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
