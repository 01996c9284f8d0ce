package bert

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
)

func randomModel(b *testing.B, size string, opts ...Option) *Model {
	cfg, err := SizeConfig(size)
	if err != nil {
		b.Fatal(err)
	}
	tensors, err := RandomTensors(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, tensors, nil); err != nil {
		b.Fatal(err)
	}
	src, err := safetensors.FromBytes(buf.Bytes(), "random-"+size)
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(cfg, src, "random-"+size, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func randomBatch(B, T int) Batch {
	bt := Batch{B: B, T: T}
	for i := 0; i < B*T; i++ {
		bt.IDs = append(bt.IDs, 1000+(i*7919)%28000)
		bt.Types = append(bt.Types, 0)
		bt.Mask = append(bt.Mask, 1)
	}
	return bt
}

// BenchmarkBERT: bert-base b1s128 latency and b8s128 throughput; minilm-l6 b32s64.
// Threads from -cpu. Encoder forward only (last hidden state), as in the paper. The
// int8 rows quantise every Linear weight (nn.WithQuantization(nn.Int8)).
func BenchmarkBERT(b *testing.B) {
	for _, c := range []struct {
		size string
		B, T int
		q    nn.Quantization
		c    nn.Compute
	}{{"base", 1, 128, nn.NoQuantization, nn.F32}, {"base", 8, 128, nn.NoQuantization, nn.F32}, {"minilm-l6", 32, 64, nn.NoQuantization, nn.F32},
		{"base", 1, 128, nn.Int8, nn.F32}, {"base", 8, 128, nn.Int8, nn.F32}, {"minilm-l6", 32, 64, nn.Int8, nn.F32},
		{"base", 1, 128, nn.NoQuantization, nn.BF16}, {"base", 8, 128, nn.NoQuantization, nn.BF16}} {
		name := fmt.Sprintf("%s/b%ds%d", c.size, c.B, c.T)
		if c.q != nn.NoQuantization {
			name = c.q.String() + "/" + name
		}
		if c.c != nn.F32 {
			if ok, why := ops.BF16Available(); !ok {
				b.Logf("%s: %s", name, why)
				continue
			}
			name = c.c.String() + "/" + name
		}
		m := randomModel(b, c.size, nn.WithQuantization(c.q), nn.WithCompute(c.c))
		batch := randomBatch(c.B, c.T)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := m.Forward(batch); err != nil {
					b.Fatal(err)
				}
			}
			per := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(per*1e3, "ms")
			b.ReportMetric(float64(c.B)/per, "sequences/s")
		})
		m.Close()
	}
}

// BenchmarkRerank times Rerank of one query against 32 documents truncated to 128
// tokens on the cross-encoder that bench/python/rerank_peer.py writes and times with
// sentence-transformers' CrossEncoder ($LUMEN_RERANK_MODEL; skipped without it), on
// one and two threads.
func BenchmarkRerank(b *testing.B) {
	dir := os.Getenv("LUMEN_RERANK_MODEL")
	if dir == "" {
		b.Skip("LUMEN_RERANK_MODEL is not set (bench/python/rerank_peer.py writes the model)")
	}
	doc := strings.Repeat("berlin has a population of about three and a half million registered inhabitants ", 12)
	docs := make([]string, 32)
	for i := range docs {
		docs[i] = fmt.Sprint(i, " ", doc)
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			pool := ops.NewPool(threads)
			defer pool.Close()
			m, err := Load(dir, nn.WithPool(pool))
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := m.Rerank(context.Background(), "how many people live in berlin", docs, 128); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/rerank")
		})
	}
}
