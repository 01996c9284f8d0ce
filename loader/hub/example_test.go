package hub_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lumen-ml/lumen/loader/hub"
	"github.com/lumen-ml/lumen/loader/hub/hubtest"
)

func Example() {
	// A fake Hub on loopback stands in for https://huggingface.co here.
	fake := hubtest.New(&hubtest.Repo{ID: "org/tiny", Commit: hubtest.Commit("tiny"), Files: map[string][]byte{
		"config.json":       []byte(`{"model_type":"bert"}`),
		"model.safetensors": []byte("weights"),
		"vocab.txt":         []byte("[PAD]\n"),
		"README.md":         []byte("not fetched"),
	}, LFS: map[string]bool{"model.safetensors": true}})
	defer fake.Close()
	cache, _ := os.MkdirTemp("", "hub-example")
	defer os.RemoveAll(cache)

	c := hub.FromEnv() // HF_ENDPOINT, HF_TOKEN, HF_HOME / HF_HUB_CACHE, HF_HUB_OFFLINE
	c.Endpoint, c.CacheDir = fake.API.URL, cache
	repo, rev, _ := hub.ParseRef("org/tiny@main")
	dir, err := c.Snapshot(context.Background(), repo, rev)
	if err != nil {
		panic(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		fmt.Println(filepath.Base(f))
	}
	// Output:
	// config.json
	// model.safetensors
	// vocab.txt
}
