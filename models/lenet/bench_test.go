package lenet

import (
	"context"
	"fmt"
	"testing"
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
