package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/models/gpt2"
)

// slowModel is a Completer that yields one chunk per delay until max_tokens or its
// context ends: a long generation on demand, without a model.
type slowModel struct {
	delay   time.Duration
	chunk   string
	running atomic.Int32
}

func (m *slowModel) Encode(text string) ([]int, error) { return []int{1, 2, 3}, nil }
func (m *slowModel) ContextLength() int                { return 1 << 20 }
func (m *slowModel) GenerateText(ctx context.Context, prompt []int, opt gpt2.GenerateOptions, stop []string) iter.Seq2[gpt2.Chunk, error] {
	return func(yield func(gpt2.Chunk, error) bool) {
		m.running.Add(1)
		defer m.running.Add(-1)
		for i := 0; i < opt.MaxNewTokens; i++ {
			select {
			case <-ctx.Done():
				yield(gpt2.Chunk{Token: -1}, ctx.Err())
				return
			case <-time.After(m.delay):
			}
			if !yield(gpt2.Chunk{Token: i, Text: m.chunk}, nil) {
				return
			}
		}
	}
}

// serveReal runs the server behind a real http.Server with its timeouts and
// connection limit, on a loopback port.
func serveReal(t testing.TB, cfg Config, models Models) (*Server, string) {
	s, err := New(cfg, models)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := s.HTTPServer()
	go srv.Serve(s.Listener(ln))
	t.Cleanup(func() { srv.Close(); s.Close() })
	return s, "http://" + ln.Addr().String()
}

// waitFor polls cond for up to 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

const streamBody = `{"model":"slow","prompt":"hi","max_tokens":500,"stream":true}`

// TestSlowBodyHoldsNoWorker (H1): clients that send headers and a trickle of their
// body take no worker; a normal request is served meanwhile, and the slow ones get
// 408 when the body timeout runs out.
func TestSlowBodyHoldsNoWorker(t *testing.T) {
	m := &slowModel{delay: time.Millisecond, chunk: "x"}
	_, url := serveReal(t, Config{Workers: 1, QueueSize: 1, BodyTimeout: 500 * time.Millisecond}, Models{"slow": m})
	var conns []net.Conn
	for i := 0; i < 4; i++ {
		c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
		require.NoError(t, err)
		defer c.Close()
		fmt.Fprintf(c, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 47\r\n\r\n{\"mod")
		conns = append(conns, c)
	}
	code, body, _ := post(t, url+"/v1/completions", `{"model":"slow","prompt":"hi","max_tokens":3}`)
	require.Equal(t, 200, code, string(body))
	for _, c := range conns {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
	}
}

// TestStalledReaderIsCutOff (H3, U8): a streaming client that stops reading loses its
// stream after the write timeout; the worker is free again, and the metrics count
// the request as cut off (499) with the tokens it was sent.
func TestStalledReaderIsCutOff(t *testing.T) {
	m := &slowModel{delay: 0, chunk: strings.Repeat("y", 64<<10)}
	s, url := serveReal(t, Config{Workers: 1, QueueSize: 1, WriteTimeout: 300 * time.Millisecond}, Models{"slow": m})
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(c, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(streamBody), streamBody)
	waitFor(t, "the stream to start", func() bool { return m.running.Load() == 1 })
	waitFor(t, "the stalled stream to be cut off", func() bool { return m.running.Load() == 0 }) // never read from c
	code, body, _ := post(t, url+"/v1/completions", `{"model":"slow","prompt":"hi","max_tokens":2}`)
	require.Equal(t, 200, code, string(body))
	code, metrics, _ := get(t, url+"/metrics")
	require.Equal(t, 200, code)
	require.Contains(t, string(metrics), `lumen_requests_total{code="499",endpoint="/v1/completions"} 1`)
	var tokens float64
	for _, line := range strings.Split(string(metrics), "\n") {
		if v, ok := strings.CutPrefix(line, `lumen_generated_tokens_total{model="slow"} `); ok {
			_, err := fmt.Sscan(v, &tokens)
			require.NoError(t, err)
		}
	}
	require.Greater(t, tokens, 2.0, "the cut-off stream's tokens are counted as well as the second request's 2")
	_ = s
}

func get(t testing.TB, url string) (int, []byte, http.Header) {
	resp, err := http.Get(url)
	return readResponse(t, resp, err)
}

// TestQueuedClientThatLeavesFreesItsPlace (L2): with one worker and one queue place,
// a queued client that disconnects gives its place back, so the next is queued, not
// turned away.
func TestQueuedClientThatLeavesFreesItsPlace(t *testing.T) {
	m := &slowModel{delay: 20 * time.Millisecond, chunk: "z"}
	s, url := serveReal(t, Config{Workers: 1, QueueSize: 1}, Models{"slow": m})
	ctx, stopA := context.WithCancel(context.Background())
	a, err := http.NewRequestWithContext(ctx, "POST", url+"/v1/completions", strings.NewReader(streamBody))
	require.NoError(t, err)
	respA, err := http.DefaultClient.Do(a)
	require.NoError(t, err)
	defer respA.Body.Close()
	waitFor(t, "A to hold the worker", func() bool { return s.admit.running() == 1 })

	ctxB, leaveB := context.WithCancel(context.Background())
	b, _ := http.NewRequestWithContext(ctxB, "POST", url+"/v1/completions", strings.NewReader(`{"model":"slow","prompt":"hi","max_tokens":1}`))
	go http.DefaultClient.Do(b)
	waitFor(t, "B to be queued", func() bool { return s.admit.waiting() == 1 })
	leaveB()
	waitFor(t, "B's place to be given back", func() bool { return s.admit.waiting() == 0 })

	done := make(chan int, 1)
	go func() {
		code, _, _ := post(t, url+"/v1/completions", `{"model":"slow","prompt":"hi","max_tokens":1}`)
		done <- code
	}()
	waitFor(t, "C to be queued", func() bool { return s.admit.waiting() == 1 })
	stopA()
	require.Equal(t, 200, <-done)
}

// TestDrain (L1): Drain answers queued and new requests 503 at once while the stream
// in flight goes on; Abort ends that stream with an error event and [DONE].
func TestDrain(t *testing.T) {
	m := &slowModel{delay: 10 * time.Millisecond, chunk: "w"}
	s, url := serveReal(t, Config{Workers: 1, QueueSize: 2}, Models{"slow": m})
	resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(streamBody))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	queued := make(chan int, 1)
	go func() {
		code, _, _ := post(t, url+"/v1/completions", `{"model":"slow","prompt":"hi","max_tokens":1}`)
		queued <- code
	}()
	waitFor(t, "a request to be queued", func() bool { return s.admit.waiting() == 1 })
	s.Drain()
	require.Equal(t, http.StatusServiceUnavailable, <-queued)
	code, body, hdr := post(t, url+"/v1/completions", `{"model":"slow","prompt":"hi","max_tokens":1}`)
	require.Equal(t, http.StatusServiceUnavailable, code, string(body))
	require.Equal(t, "1", hdr.Get("Retry-After"))
	require.Equal(t, int32(1), m.running.Load(), "the stream in flight goes on")
	s.Abort()
	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Contains(t, string(rest), `"error":{"message":"context canceled","type":"cancelled"}`)
	require.True(t, strings.HasSuffix(string(rest), "data: [DONE]\n\n"), string(rest[max(0, len(rest)-200):]))
}

// TestIdleConnectionsAndConnectionCap (H4): idle keep-alive connections are closed
// after the idle timeout, and connections past the cap wait instead of failing, so
// /healthz keeps answering.
func TestIdleConnectionsAndConnectionCap(t *testing.T) {
	_, url := serveReal(t, Config{MaxConns: 4, IdleTimeout: 300 * time.Millisecond, HeaderTimeout: 300 * time.Millisecond}, Models{"slow": &slowModel{chunk: "v"}})
	addr := strings.TrimPrefix(url, "http://")
	for i := 0; i < 8; i++ { // twice the cap of idle connections
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
	}
	code, _, _ := get(t, url+"/healthz") // waits for idle ones to be closed
	require.Equal(t, 200, code)
	idle, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer idle.Close()
	fmt.Fprintf(idle, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(idle)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	io.Copy(io.Discard, resp.Body)
	_, err = br.ReadByte() // the server closes the idle keep-alive connection
	require.ErrorIs(t, err, io.EOF)
}

// TestHostileBodies (U2, U3, U9, U11): what is not a valid request is a clear 400
// (or 413, 404), never a 200 or a Go type name.
func TestHostileBodies(t *testing.T) {
	m := &slowModel{chunk: "u"}
	_, url := serveReal(t, Config{MaxInputBytes: 1000}, Models{"slow": m})
	long := strings.Repeat("n", 500_000)
	for _, c := range []struct {
		path, body string
		code       int
		msg        string
	}{
		{"/v1/completions", `null`, 400, "the body must be a JSON object, not null"},
		{"/v1/completions", `[1,2,3]`, 400, "the body must be a JSON object, not an array"},
		{"/v1/completions", ``, 400, "the body is empty"},
		{"/v1/completions", `{"model":"slow","prompt":"` + strings.Repeat("p", 1001) + `"}`, 400, `is 1001 bytes; the limit is 1000`},
		{"/v1/completions", `{"model":"` + long + `","prompt":"hi"}`, 404, `no completion model \"nnnnnnnn`},
		{"/v1/completions", `{"model":"slow","prompt":"hi","max_tokens":"x"}`, 400, `max_tokens\": want number, got string`},
	} {
		code, body, _ := post(t, url+c.path, c.body)
		require.Equal(t, c.code, code, "%s: %.80s", c.body[:min(len(c.body), 40)], body)
		require.Contains(t, string(body), c.msg)
		require.Less(t, len(body), 1000, "the reply does not echo what it was sent")
	}
	// A declared 10 GB body is refused before a byte of it is read.
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	defer c.Close()
	fmt.Fprintf(c, "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
}
