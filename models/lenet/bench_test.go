package lenet

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/ops/optim"
)

// BenchmarkLeNet: b1 is single-image latency, b256 batch throughput; threads from -cpu.
func BenchmarkLeNet(b *testing.B) {
	m, err := shipped(b)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	_, x := loadTestSet(b)
	for _, batch := range []int{1, 256} {
		b.Run(fmt.Sprintf("b%d", batch), func(b *testing.B) {
			ctx := context.Background()
			i := 0
			for b.Loop() {
				lo := (i * batch) % (10000 - batch)
				if _, err := m.Logits(ctx, x[lo*784:(lo+batch)*784], batch); err != nil {
					b.Fatal(err)
				}
				i++
			}
			perBatch := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(perBatch*1e6, "µs/batch")
			b.ReportMetric(float64(batch)/perBatch, "images/s")
		})
	}
}

// BenchmarkTrainStep is one SGD step (forward, backward, update) on a batch of 64:
// an MNIST epoch is 938 of them. Threads from -cpu.
func BenchmarkTrainStep(b *testing.B) {
	ds, x := loadTestSet(b)
	w, err := InitWeights(DefaultLayout(), 1)
	if err != nil {
		b.Fatal(err)
	}
	pool := ops.NewPool(runtime.GOMAXPROCS(0))
	defer pool.Close()
	tr, err := NewTrainer(w, 64, func(ps []optim.Param) (optim.Optimizer, error) {
		return optim.NewSGD(ps, optim.SGDConfig{LR: 0.01, Momentum: 0.9})
	}, pool)
	if err != nil {
		b.Fatal(err)
	}
	order := Shuffle(ds.N, 1, 0)
	i := 0
	for b.Loop() {
		lo := (i * 64) % (ds.N - 64)
		if _, err := tr.Step(x, ds.Labels, order[lo:lo+64]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*938, "s/epoch")
}
