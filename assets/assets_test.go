package assets_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/internal/shared"
)

// manifest reads SHA256SUMS (sha256sum's format: HEX, two spaces, path).
func manifest(t *testing.T) map[string]string {
	t.Helper()
	raw, err := fs.ReadFile(assets.FS(), "SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("SHA256SUMS: malformed line %q", sc.Text())
		}
		sums[name] = sum
	}
	return sums
}

func TestEmbeddedFilesMatchManifest(t *testing.T) {
	sums := manifest(t)
	seen := map[string]bool{}
	err := fs.WalkDir(assets.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "SHA256SUMS" || p == "README.md" {
			return err
		}
		b, err := fs.ReadFile(assets.FS(), p)
		if err != nil {
			return err
		}
		h := sha256.Sum256(b)
		want, ok := sums[p]
		switch {
		case !ok:
			t.Errorf("%s is embedded but not in SHA256SUMS", p)
		case hex.EncodeToString(h[:]) != want:
			t.Errorf("%s: sha256 %x, SHA256SUMS says %s", p, h, want)
		}
		seen[p] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range sums {
		if !seen[p] {
			t.Errorf("SHA256SUMS lists %s, which is not embedded", p)
		}
	}
	if len(seen) < 15 {
		t.Errorf("only %d files embedded", len(seen))
	}
}

func TestAccessors(t *testing.T) {
	if n := len(assets.LeNetMNIST()); n != 178504 {
		t.Errorf("LeNetMNIST: %d bytes, want 178,504", n)
	}
	for _, c := range []struct {
		name  string
		fsys  fs.FS
		files []string
	}{
		{"MNISTTest", assets.MNISTTest(), []string{"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "LICENSE"}},
		{"GPT2Tokenizer", assets.GPT2Tokenizer(), []string{"vocab.json", "merges.txt", "LICENSE"}},
		{"BERTUncasedVocab", assets.BERTUncasedVocab(), []string{"vocab.txt", "tokenizer_config.json", "LICENSE"}},
	} {
		for _, f := range c.files {
			if _, err := fs.Stat(c.fsys, f); err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		}
	}
}

// The shipped copies are the shared folder's files, byte for byte.
func TestSameAsShared(t *testing.T) {
	from := map[string]string{
		"lenet-mnist": "models/lenet-mnist", "mnist": "data/mnist",
		"gpt2": "tokenizers/gpt2", "bert-base-uncased": "tokenizers/bert-base-uncased",
	}
	root := shared.Path(t)
	for p := range manifest(t) {
		dir, file, _ := strings.Cut(p, "/")
		if dir == "bert-base-uncased" && file == "LICENSE" {
			continue // the Apache-2.0 text, which shared/ gives only in its README
		}
		want, err := os.ReadFile(filepath.Join(root, from[dir], file))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		got, _ := fs.ReadFile(assets.FS(), p)
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from ../shared/%s/%s", p, from[dir], file)
		}
	}
}
