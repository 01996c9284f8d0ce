package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/loader/hub/hubtest"
)

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// bertRepo is a sentence-transformers-style repository with files Lumen does not use.
func bertRepo(id string) *hubtest.Repo {
	return &hubtest.Repo{ID: id, Commit: hubtest.Commit(id), Files: map[string][]byte{
		"config.json":               []byte(`{"model_type":"bert"}`),
		"model.safetensors":         randomBytes(300_000, 1),
		"pytorch_model.bin":         randomBytes(1000, 2),
		"onnx/model.onnx":           randomBytes(1000, 3),
		"README.md":                 []byte("# model"),
		"vocab.txt":                 []byte("[PAD]\n[UNK]\n"),
		"tokenizer.json":            []byte(`{}`),
		"modules.json":              []byte(`[]`),
		"1_Pooling/config.json":     []byte(`{"pooling_mode_mean_tokens":true}`),
		"sentence_bert_config.json": []byte(`{}`),
	}, LFS: map[string]bool{"model.safetensors": true, "pytorch_model.bin": true, "onnx/model.onnx": true}}
}

func client(h *hubtest.Hub, cache string) *Client {
	return &Client{Endpoint: h.API.URL, CacheDir: cache, Retries: 2, retryWait: time.Millisecond}
}

func TestSnapshotLayoutAndCache(t *testing.T) {
	repo := bertRepo("org/mini")
	h := hubtest.New(repo)
	defer h.Close()
	cache := t.TempDir()
	c := client(h, cache)
	dir, err := c.Snapshot(context.Background(), "org/mini", "main")
	require.NoError(t, err)
	folder := filepath.Join(cache, "models--org--mini")
	require.Equal(t, filepath.Join(folder, "snapshots", repo.Commit), dir)

	for name, data := range repo.Files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		got, err := os.ReadFile(p)
		wanted := name != "pytorch_model.bin" && name != "onnx/model.onnx" && name != "README.md"
		if !wanted {
			require.Error(t, err, "%s is not fetched", name)
			continue
		}
		require.NoError(t, err, name)
		require.Equal(t, data, got, name)
		target, err := os.Readlink(p) // a relative symlink into blobs/, as huggingface_hub makes
		require.NoError(t, err)
		require.False(t, filepath.IsAbs(target))
		require.True(t, strings.HasPrefix(filepath.Clean(filepath.Join(filepath.Dir(p), target)), filepath.Join(folder, "blobs")+string(os.PathSeparator)))
	}
	ref, err := os.ReadFile(filepath.Join(folder, "refs", "main"))
	require.NoError(t, err)
	require.Equal(t, repo.Commit, string(ref))
	lfsBlob := filepath.Join(folder, "blobs", sha256Hex(repo.Files["model.safetensors"]))
	require.FileExists(t, lfsBlob, "an LFS blob is named by its SHA-256")
	require.Empty(t, h.StoreAuth)

	// Again: the repository description is asked for, no file is.
	before := h.Count("GET", "/store/") + h.Count("HEAD", "/org/mini/resolve/")
	dir2, err := c.Snapshot(context.Background(), "org/mini", "main")
	require.NoError(t, err)
	require.Equal(t, dir, dir2)
	require.Equal(t, before, h.Count("GET", "/store/")+h.Count("HEAD", "/org/mini/resolve/"))

	// Offline: no request at all, by branch or by commit.
	n := len(h.Requests)
	off := client(h, cache)
	off.Offline = true
	for _, rev := range []string{"main", repo.Commit} {
		d, err := off.Snapshot(context.Background(), "org/mini", rev)
		require.NoError(t, err)
		require.Equal(t, dir, d)
	}
	p, err := off.Download(context.Background(), "org/mini", "main", "1_Pooling/config.json")
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "1_Pooling", "config.json"), p)
	require.Len(t, h.Requests, n)

	_, err = off.Snapshot(context.Background(), "org/other", "main")
	require.ErrorIs(t, err, ErrNotCached)
	_, err = off.Download(context.Background(), "org/mini", "main", "README.md")
	require.ErrorIs(t, err, ErrNotCached)
}

func TestShardedAndPickleOnly(t *testing.T) {
	sharded := &hubtest.Repo{ID: "org/big", Commit: hubtest.Commit("big"), Files: map[string][]byte{
		"config.json":                      []byte(`{}`),
		"model.safetensors.index.json":     []byte(`{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors","c":"model-00001-of-00002.safetensors"}}`),
		"model-00001-of-00002.safetensors": randomBytes(1000, 4),
		"model-00002-of-00002.safetensors": randomBytes(1000, 5),
	}, LFS: map[string]bool{"model-00001-of-00002.safetensors": true, "model-00002-of-00002.safetensors": true}}
	pickle := &hubtest.Repo{ID: "old", Commit: hubtest.Commit("old"), Files: map[string][]byte{
		"config.json": []byte(`{}`), "pytorch_model.bin": randomBytes(100, 6),
	}}
	evil := &hubtest.Repo{ID: "org/evil", Commit: hubtest.Commit("evil"), Files: map[string][]byte{
		"config.json": []byte(`{}`), "model.safetensors.index.json": []byte(`{"weight_map":{"a":"../../../etc/passwd"}}`),
	}}
	h := hubtest.New(sharded, pickle, evil)
	defer h.Close()
	c := client(h, t.TempDir())
	dir, err := c.Snapshot(context.Background(), "org/big", "main")
	require.NoError(t, err)
	for _, f := range []string{"model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"} {
		require.FileExists(t, filepath.Join(dir, f))
	}
	_, err = c.Snapshot(context.Background(), "old", "main")
	require.ErrorIs(t, err, ErrPickleOnly)
	require.Contains(t, err.Error(), "safe_serialization=True")
	_, err = c.Snapshot(context.Background(), "org/evil", "main")
	require.ErrorContains(t, err, "is not a .safetensors file of the repository")
}

func TestAuthAndErrors(t *testing.T) {
	private := bertRepo("org/private")
	private.Private = true
	gated := bertRepo("org/gated")
	gated.Gated = true
	h := hubtest.New(private, gated, bertRepo("org/open"))
	defer h.Close()
	c := client(h, t.TempDir())
	ctx := context.Background()

	_, err := c.Snapshot(ctx, "org/private", "main")
	require.ErrorIs(t, err, ErrUnauthorized)
	require.Contains(t, err.Error(), "HF_TOKEN")
	c.Token = h.Token
	_, err = c.Snapshot(ctx, "org/private", "main")
	require.NoError(t, err)
	require.Empty(t, h.StoreAuth, "the token never goes to the file store")
	require.NotContains(t, strings.Join(h.Requests, " "), h.Token)

	_, err = c.Snapshot(ctx, "org/gated", "main")
	require.ErrorIs(t, err, ErrForbidden)
	require.Contains(t, err.Error(), "accept its conditions")
	require.NotContains(t, err.Error(), h.Token, "errors never show the token")

	_, err = c.Snapshot(ctx, "org/missing", "main")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = c.Snapshot(ctx, "org/open", "v9")
	require.ErrorIs(t, err, ErrNotFound)
	require.Contains(t, err.Error(), "revision")
	_, err = c.Download(ctx, "org/open", "main", "nope.json")
	require.ErrorIs(t, err, ErrNotFound)
	for _, bad := range []string{"../x", "/etc/passwd", "a/../../b", ""} {
		_, err = c.Download(ctx, "org/open", "main", bad)
		require.ErrorContains(t, err, "not a file name", bad)
	}
	for _, bad := range []string{"a/b/c", "../x", "org/na me", "-x"} {
		_, _, err := ParseRef(bad)
		require.Error(t, err, bad)
	}
	repo, rev, err := ParseRef("sentence-transformers/all-MiniLM-L6-v2@v1.0")
	require.NoError(t, err)
	require.Equal(t, "sentence-transformers/all-MiniLM-L6-v2", repo)
	require.Equal(t, "v1.0", rev)
}

// 429 and 5xx are retried; a cut download resumes with Range from what it kept; a
// corrupted one is refused by its SHA-256.
func TestRetriesResumeAndChecksum(t *testing.T) {
	repo := bertRepo("org/r")
	h := hubtest.New(repo)
	defer h.Close()
	ctx := context.Background()
	sum := sha256Hex(repo.Files["model.safetensors"])
	store := "/store/" + sum

	h.FailWith["/api/models/org/r/revision/main"] = []int{503, 429}
	h.FailWith[store] = []int{502}
	cache := t.TempDir()
	c := client(h, cache)
	_, err := c.Snapshot(ctx, "org/r", "main")
	require.NoError(t, err)

	// A cut: no retries, so the first call fails and leaves .incomplete.
	cache = t.TempDir()
	h.CutAfter[store] = 100_000
	c = client(h, cache)
	c.Retries = 0
	_, err = c.Snapshot(ctx, "org/r", "main")
	require.ErrorContains(t, err, "broke off")
	part := filepath.Join(cache, "models--org--r", "blobs", sum+".incomplete")
	st, err := os.Stat(part)
	require.NoError(t, err)
	require.Equal(t, int64(100_000), st.Size())
	h.RangeHeaders = nil
	c.Retries = 2
	dir, err := c.Snapshot(ctx, "org/r", "main")
	require.NoError(t, err)
	require.Equal(t, []string{"bytes=100000-"}, h.RangeHeaders, "the second run asks for the rest only")
	got, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	require.NoError(t, err)
	require.True(t, bytes.Equal(repo.Files["model.safetensors"], got))
	require.NoFileExists(t, part)

	cache = t.TempDir()
	h.Corrupt[store] = true
	_, err = client(h, cache).Snapshot(ctx, "org/r", "main")
	require.ErrorContains(t, err, "SHA-256")
	require.NoFileExists(t, filepath.Join(cache, "models--org--r", "blobs", sum))
	require.NoFileExists(t, filepath.Join(cache, "models--org--r", "blobs", sum+".incomplete"))
	delete(h.Corrupt, store)

	// A store that sends more than the Hub announced is cut off at one byte over.
	cache = t.TempDir()
	h.Oversize[store] = 50 << 20
	_, err = client(h, cache).Snapshot(ctx, "org/r", "main")
	require.ErrorContains(t, err, "the Hub said")
	st, err = os.Stat(filepath.Join(cache, "models--org--r", "blobs", sum+".incomplete"))
	if err == nil {
		require.LessOrEqual(t, st.Size(), int64(len(repo.Files["model.safetensors"])+1))
	}
	delete(h.Oversize, store)

	h.FailWith[store] = []int{503, 503, 503, 503}
	_, err = client(h, t.TempDir()).Snapshot(ctx, "org/r", "main")
	require.ErrorContains(t, err, "503")
}

// Two downloads of one repository at once (as two processes would) write each blob
// once, under the lock huggingface_hub uses.
func TestConcurrentDownloadsShareTheCache(t *testing.T) {
	repo := bertRepo("org/c")
	h := hubtest.New(repo)
	defer h.Close()
	cache := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = client(h, cache).Snapshot(context.Background(), "org/c", "main")
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 1, h.Count("GET", "/store/"), "the LFS blob is downloaded once")
	require.DirExists(t, filepath.Join(cache, ".locks", "models--org--c"))
	entries, err := os.ReadDir(filepath.Join(cache, "models--org--c", "blobs"))
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.HasSuffix(e.Name(), ".incomplete"), e.Name())
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:9/")
	t.Setenv("HF_TOKEN", "tok")
	t.Setenv("HF_HOME", "/tmp/hfhome")
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HF_HUB_OFFLINE", "1")
	c := FromEnv()
	require.Equal(t, "http://127.0.0.1:9", c.Endpoint)
	require.Equal(t, "tok", c.Token)
	require.Equal(t, "/tmp/hfhome/hub", c.CacheDir)
	require.True(t, c.Offline)
	t.Setenv("HF_HUB_CACHE", "/tmp/hc")
	t.Setenv("HF_HUB_OFFLINE", "0")
	c = FromEnv()
	require.Equal(t, "/tmp/hc", c.CacheDir)
	require.False(t, c.Offline)
	_, err := c.Snapshot(context.Background(), "a/b/c", "main")
	require.True(t, err != nil && !errors.Is(err, ErrNotFound))
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// A file downloaded alone records its revision's commit, as hf_hub_download does,
// so that an offline Download of the same revision finds it.
func TestDownloadRecordsTheRevision(t *testing.T) {
	repo := bertRepo("org/one")
	h := hubtest.New(repo)
	defer h.Close()
	cache := t.TempDir()
	p, err := client(h, cache).Download(context.Background(), "org/one", "main", "config.json")
	require.NoError(t, err)
	ref, err := os.ReadFile(filepath.Join(cache, "models--org--one", "refs", "main"))
	require.NoError(t, err)
	require.Equal(t, repo.Commit, string(ref))
	off := client(h, cache)
	off.Offline = true
	n := len(h.Requests)
	q, err := off.Download(context.Background(), "org/one", "main", "config.json")
	require.NoError(t, err)
	require.Equal(t, p, q)
	require.Len(t, h.Requests, n)
}

// A file store on the Hub's own host: the HEAD request reads the commit, ETag and
// size from the redirect itself, as huggingface_hub does (it follows only relative
// redirects on HEAD), instead of following it to a store that sends none of them.
func TestStoreOnTheSameHost(t *testing.T) {
	repo := bertRepo("org/same")
	h := hubtest.New(repo)
	defer h.Close()
	h.StoreOnAPIHost = true
	dir, err := client(h, t.TempDir()).Snapshot(context.Background(), "org/same", "main")
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	require.NoError(t, err)
	require.Equal(t, repo.Files["model.safetensors"], got)
	require.Zero(t, h.Count("HEAD", "/store/"), "HEAD stops at the absolute redirect")
}
