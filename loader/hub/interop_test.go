package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/loader/hub/hubtest"
)

// interopScript runs huggingface_hub against the cache (and, for "download", the fake
// Hub): it prints a JSON object of what it found.
const interopScript = `
import hashlib, json, os, sys
import huggingface_hub as hh
mode, repo = sys.argv[1], sys.argv[2]
if mode == "read":   # offline: what Lumen downloaded
    snap = hh.snapshot_download(repo, local_files_only=True)
    f = hh.hf_hub_download(repo, "model.safetensors", local_files_only=True)
    pool = hh.hf_hub_download(repo, "1_Pooling/config.json", local_files_only=True)
    print(json.dumps({"snapshot": snap, "weights_sha256": hashlib.sha256(open(f, "rb").read()).hexdigest(),
                      "pooling": open(pool).read(), "version": hh.__version__}))
else:                # online: download into the cache for Lumen to find
    snap = hh.snapshot_download(repo, allow_patterns=["config.json", "model.safetensors", "vocab.txt", "1_Pooling/*"])
    print(json.dumps({"snapshot": snap, "version": hh.__version__}))
`

// TestPythonInterop: a repository Lumen downloaded is found by Python's
// huggingface_hub offline, and one huggingface_hub downloaded from the same fake Hub
// is found by Lumen offline, without a request. It needs LUMEN_HF_PYTHON, a Python
// with huggingface_hub (.ci/run makes one, pinned).
func TestPythonInterop(t *testing.T) {
	python := os.Getenv("LUMEN_HF_PYTHON")
	if python == "" {
		t.Skip("needs LUMEN_HF_PYTHON: a Python with huggingface_hub (bench/python/requirements.txt); .ci/run sets it")
	}
	a, b := bertRepo("org/from-lumen"), bertRepo("org/from-python")
	b.Files["model.safetensors"] = randomBytes(200_000, 9)
	fake := hubtest.New(a, b)
	defer fake.Close()
	cache := t.TempDir()
	script := filepath.Join(t.TempDir(), "interop.py")
	require.NoError(t, os.WriteFile(script, []byte(interopScript), 0o644))
	py := func(env []string, args ...string) map[string]string {
		cmd := exec.Command(python, append([]string{script}, args...)...)
		cmd.Env = append(os.Environ(), append([]string{"HF_HUB_CACHE=" + cache, "HF_HUB_DISABLE_TELEMETRY=1", "HF_HUB_DISABLE_PROGRESS_BARS=1"}, env...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		require.NoError(t, err, stderr.String())
		var res map[string]string
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &res), string(out))
		return res
	}

	// Lumen → Python.
	c := &Client{Endpoint: fake.API.URL, CacheDir: cache, Retries: 1}
	dir, err := c.Snapshot(context.Background(), "org/from-lumen", "main")
	require.NoError(t, err)
	n := len(fake.Requests)
	res := py([]string{"HF_HUB_OFFLINE=1", "HF_ENDPOINT=http://127.0.0.1:9"}, "read", "org/from-lumen")
	t.Logf("huggingface_hub %s", res["version"])
	require.Equal(t, dir, res["snapshot"])
	require.Equal(t, sha256Hex(a.Files["model.safetensors"]), res["weights_sha256"])
	require.Equal(t, string(a.Files["1_Pooling/config.json"]), res["pooling"])
	require.Len(t, fake.Requests, n)

	// Python → Lumen.
	res = py([]string{"HF_ENDPOINT=" + fake.API.URL}, "download", "org/from-python")
	n = len(fake.Requests)
	off := &Client{Endpoint: fake.API.URL, CacheDir: cache, Offline: true}
	dir, err = off.Snapshot(context.Background(), "org/from-python", "main")
	require.NoError(t, err)
	require.Equal(t, res["snapshot"], dir)
	for _, f := range []string{"config.json", "model.safetensors", "vocab.txt", "1_Pooling/config.json"} {
		got, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err, f)
		require.Equal(t, b.Files[f], got, f)
	}
	require.Len(t, fake.Requests, n, "Lumen found Python's download without a request")
	// And online, Lumen reuses Python's blobs: only the repository description and the
	// files Python did not fetch are requested.
	_, err = (&Client{Endpoint: fake.API.URL, CacheDir: cache, Retries: 1}).Snapshot(context.Background(), "org/from-python", "main")
	require.NoError(t, err)
	require.Zero(t, fake.Count("GET", "/store/"+sha256Hex(b.Files["model.safetensors"]))-1, "the weights were fetched once, by Python")
}
