package tokenizer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func gpt2Tokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	tk, err := Load(sharedDir + "/tokenizers/gpt2")
	if err != nil {
		t.Skipf("shared GPT-2 tokenizer: %v", err)
	}
	return tk
}

// One 300,000-letter word (one pre-token) encodes and decodes back: the BPE merge
// is O(n log n) and the word is too long to cache.
func TestLongWordIsNotQuadratic(t *testing.T) {
	tk := gpt2Tokenizer(t)
	word := strings.Repeat("abcdefghij", 30_000)
	e, err := tk.Encode(word, false)
	if err != nil || e.Len() == 0 {
		t.Fatal(e.Len(), err)
	}
	back, err := tk.Decode(e.IDs, false)
	if err != nil || back != word {
		t.Fatalf("round trip failed: %v", err)
	}
	m := tk.model.(*bpe)
	if _, cached := m.cache[word]; cached {
		t.Error("a 300 KB word was cached")
	}
}

// Distinct words fill the BPE cache only up to its byte budget.
func TestBPECacheIsBounded(t *testing.T) {
	tk := gpt2Tokenizer(t)
	for i := 0; i < 30_000; i++ { // ~250 bytes each, with tokens past the 8 MiB budget
		if _, err := tk.Encode(fmt.Sprintf(" %0250d", i), false); err != nil {
			t.Fatal(err)
		}
	}
	m := tk.model.(*bpe)
	if m.cacheBytes > maxCacheBytes || len(m.cache) >= 30_000 {
		t.Fatalf("cache holds %d words, %d bytes (budget %d)", len(m.cache), m.cacheBytes, maxCacheBytes)
	}
	size := 0
	for w, toks := range m.cache {
		size += len(w) + 48*len(toks)
	}
	if size != m.cacheBytes {
		t.Fatalf("cache accounts %d bytes, holds %d", m.cacheBytes, size)
	}
}

// A megabyte of special tokens is matched in linear time (the added-token trie).
func TestManySpecialTokensIsLinear(t *testing.T) {
	tk, err := Load(sharedDir + "/tokenizers/bert-base-uncased")
	if err != nil {
		t.Skip(err)
	}
	tk, _ = tk.WithTruncation(nil)
	tk = tk.WithPadding(nil)
	text := strings.Repeat("[CLS]", 180_000) // 900 KB
	e, err := tk.Encode(text, false)
	if err != nil || e.Len() != 180_000 {
		t.Fatalf("%d tokens, %v", e.Len(), err)
	}
}

// TestEncodeConcurrent encodes from many goroutines at once through one
// Tokenizer (its pooled scratch buffers included) and compares with a serial run;
// CI runs it under -race.
func TestEncodeConcurrent(t *testing.T) {
	for _, dir := range []string{"testdata/bpe-llama3", "testdata/sp-xlmr", "testdata/wordpiece-bert"} {
		var g goldenFile
		readGzipJSON(t, dir+"/golden.json.gz", &g)
		tk := loadGolden(t, dir, &g)
		want := make([][]int, len(g.Single))
		for i, c := range g.Single {
			e, err := tk.Encode(c.Text, true)
			if err != nil {
				t.Fatal(err)
			}
			want[i] = e.IDs
		}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range g.Single {
					c := g.Single[(i+w*7)%len(g.Single)]
					e, err := tk.Encode(c.Text, true)
					ids, err2 := tk.EncodeIDs(c.Text, true)
					k := (i + w*7) % len(g.Single)
					if err != nil || err2 != nil || !slices.Equal(e.IDs, want[k]) || !slices.Equal(ids, want[k]) {
						t.Errorf("%s %q: concurrent encodings differ from the serial one (%v, %v)", dir, c.Text, err, err2)
						return
					}
				}
			}()
		}
		encs, err := tk.EncodeBatch(context.Background(), func() []string {
			var s []string
			for _, c := range g.Single {
				s = append(s, c.Text)
			}
			return s
		}(), true)
		if err != nil {
			t.Fatal(err)
		}
		for i := range encs {
			if !slices.Equal(encs[i].IDs, want[i]) {
				t.Errorf("%s: EncodeBatch text %d differs", dir, i)
			}
		}
		wg.Wait()
	}
}
