package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/loader/hub/hubtest"
)

// repoFromDir makes a fake Hub repository of a directory's files (safetensors as LFS).
func repoFromDir(t *testing.T, id, dir string) *hubtest.Repo {
	r := &hubtest.Repo{ID: id, Commit: hubtest.Commit(id), Files: map[string][]byte{}, LFS: map[string]bool{}}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		r.Files[e.Name()] = data
		r.LFS[e.Name()] = strings.HasSuffix(e.Name(), ".safetensors")
	}
	r.Files["README.md"] = []byte("# not fetched")
	return r
}

// lumen pull fills the shared cache from HF_ENDPOINT; afterwards HF_HUB_OFFLINE=1
// embed and generate run from it without a request; a download cut halfway resumes.
func TestPullAndOfflineUse(t *testing.T) {
	bertDir, gptDir := t.TempDir(), t.TempDir()
	for _, args := range [][]string{{"gen-random", "--arch", "bert", "--size", "tiny", "--out", bertDir}, {"gen-random", "--arch", "gpt2", "--size", "tiny", "--out", gptDir}} {
		code, _, errOut := runCLI(args...)
		require.Equal(t, 0, code, errOut)
	}
	bertRepo, gptRepo := repoFromDir(t, "org/tiny-bert", bertDir), repoFromDir(t, "tiny-gpt2", gptDir)
	pickle := &hubtest.Repo{ID: "org/pickled", Commit: hubtest.Commit("p"), Files: map[string][]byte{"config.json": []byte(`{}`), "pytorch_model.bin": []byte("x")}}
	fake := hubtest.New(bertRepo, gptRepo, pickle)
	defer fake.Close()
	cache := t.TempDir()
	t.Setenv("HF_ENDPOINT", fake.API.URL)
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HUB_OFFLINE", "")

	// The weights break off halfway through once: pull resumes them with Range.
	sum := sha256Of(bertRepo.Files["model.safetensors"])
	fake.CutAfter["/store/"+sum] = len(bertRepo.Files["model.safetensors"]) / 2
	code, out, errOut := runCLI("pull", "org/tiny-bert")
	require.Equal(t, 0, code, errOut)
	snap := filepath.Join(cache, "models--org--tiny-bert", "snapshots", bertRepo.Commit)
	require.Equal(t, snap, strings.TrimSpace(out))
	require.Contains(t, errOut, "downloading model.safetensors")
	require.Len(t, fake.RangeHeaders, 1, "the second attempt asks for the rest")
	for name, data := range bertRepo.Files {
		got, err := os.ReadFile(filepath.Join(snap, name))
		if name == "README.md" {
			require.Error(t, err)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, data, got, name)
	}
	code, _, errOut = runCLI("pull", "tiny-gpt2@main")
	require.Equal(t, 0, code, errOut)

	t.Setenv("HF_HUB_OFFLINE", "1")
	n := len(fake.Requests)
	code, out, errOut = runCLI("embed", "--model", "org/tiny-bert", "hello world")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "[")
	code, _, errOut = runCLI("generate", "--model", "tiny-gpt2", "--prompt", "Hi", "--max-tokens", "3", "--temperature", "0")
	require.Equal(t, 0, code, errOut)
	require.Len(t, fake.Requests, n, "offline: no request")

	code, _, errOut = runCLI("embed", "--model", "org/never-pulled", "hello")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "not in the cache")
	t.Setenv("HF_HUB_OFFLINE", "")
	code, _, errOut = runCLI("pull", "org/pickled")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "pickle")
	code, _, errOut = runCLI("pull", "org/missing")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "not found")
	code, _, errOut = runCLI("embed", "--model", "./no/such/dir", "x")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "no such directory")
}

func sha256Of(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// --gguf-file runs one GGUF file of a Hub repository through the cache (generate),
// and serve takes ORG/NAME:FILE.gguf; offline, the cached file serves without a
// request.
func TestGGUFFromHub(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "models", "llama", "testdata", "tiny.gguf"))
	require.NoError(t, err)
	repo := &hubtest.Repo{ID: "org/tiny-llama-gguf", Commit: hubtest.Commit("g"),
		Files: map[string][]byte{"tiny.gguf": data, "other.gguf": []byte("not fetched")}, LFS: map[string]bool{"tiny.gguf": true}}
	fake := hubtest.New(repo)
	defer fake.Close()
	t.Setenv("HF_ENDPOINT", fake.API.URL)
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HUB_OFFLINE", "")
	code, direct, errOut := runCLI("generate", "--model", filepath.Join("..", "..", "models", "llama", "testdata", "tiny.gguf"), "--prompt", "the", "--max-tokens", "4", "--temperature", "0")
	require.Equal(t, 0, code, errOut)
	code, out, errOut := runCLI("generate", "--model", "org/tiny-llama-gguf", "--gguf-file", "tiny.gguf", "--prompt", "the", "--max-tokens", "4", "--temperature", "0")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, direct, out, "the same file, through the cache")
	code, _, errOut = runCLI("generate", "--model", "org/tiny-llama-gguf", "--gguf-file", "missing.gguf", "--prompt", "the")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "missing.gguf")

	t.Setenv("HF_HUB_OFFLINE", "1")
	n := len(fake.Requests)
	var log strings.Builder
	models, closeAll, err := loadModels(&log, map[string]string{"t": "org/tiny-llama-gguf:tiny.gguf"}, nil, 1, nil, nil)
	defer closeAll()
	require.NoError(t, err)
	require.IsType(t, servedLlama{}, models["t"])
	require.Len(t, fake.Requests, n, "offline: no request")
}
