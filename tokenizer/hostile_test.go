package tokenizer

import (
	"fmt"
	"strings"
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
