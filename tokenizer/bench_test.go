package tokenizer

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"testing"
)

// BenchmarkEncodeCorpus encodes the benchmark corpus (bench/tokenizers/
// make_corpus.py, path in LUMEN_TOK_CORPUS) text by text, as Python's
// encode_batch does on one thread; -cpu 1 for the comparison in
// bench/RESULTS.md. The Batch variants use EncodeBatch over GOMAXPROCS.
func BenchmarkEncodeCorpus(b *testing.B) {
	path := os.Getenv("LUMEN_TOK_CORPUS")
	if path == "" {
		b.Skip("LUMEN_TOK_CORPUS is not set")
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	var texts []string
	nbytes := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var s string
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			b.Fatal(err)
		}
		texts = append(texts, s)
		nbytes += len(s)
	}
	f.Close()
	for _, c := range []struct{ name, path string }{
		{"WordPiece-bert-base-uncased", sharedDir + "/tokenizers/bert-base-uncased"},
		{"BPE-gpt2", sharedDir + "/tokenizers/gpt2"},
		{"Unigram-sp-xlmr", "testdata/sp-xlmr/tokenizer.json"},
		{"BPE-llama3-regex", "testdata/bpe-llama3/tokenizer.json"},
	} {
		tk, err := Load(c.path)
		if err != nil {
			b.Fatal(err)
		}
		tk, _ = tk.WithTruncation(nil)
		tk = tk.WithPadding(nil)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(nbytes))
			n := 0
			for b.Loop() {
				n = 0
				for _, s := range texts {
					e, err := tk.Encode(s, true)
					if err != nil {
						b.Fatal(err)
					}
					n += e.Len()
				}
			}
			b.ReportMetric(float64(n), "tokens")
		})
		b.Run(c.name+"-IDs", func(b *testing.B) {
			b.SetBytes(int64(nbytes))
			for b.Loop() {
				for _, s := range texts {
					if _, err := tk.EncodeIDs(s, true); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(c.name+"-Batch", func(b *testing.B) {
			b.SetBytes(int64(nbytes))
			for b.Loop() {
				if _, err := tk.EncodeBatch(context.Background(), texts, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
