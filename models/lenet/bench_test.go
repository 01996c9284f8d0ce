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

// BenchmarkTrainLayers times each layer's forward and backward pass of a training
// step at batch 64 on its own (and the whole step), threads from -cpu, to see where a
// step goes. Noisy
// machines: compare the minimum over -count runs.
func BenchmarkTrainLayers(b *testing.B) {
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
	if _, err := tr.Step(x, ds.Labels, Shuffle(ds.N, 1, 0)[:64]); err != nil {
		b.Fatal(err)
	}
	g := tr.grads
	ws := tr.ws
	n := 64
	c1s, c2s, p1s, p2s := tr.conv1, tr.conv2, tr.pool1, tr.pool2
	c1s.N, c2s.N, p1s.N, p2s.N = n, n, n, n
	l := w.Layout
	fc1 := ops.LinearShape{Rows: n, In: l.Flat(), Out: l.FC1}
	run := func(name string, f func()) {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				f()
			}
		})
	}
	run("conv1fwd", func() { ops.Conv2D(ws, tr.c1, tr.x, c1s, w.Conv1.Weight, w.Conv1.Bias) })
	run("pool1fwd", func() { ops.MaxPool2DReLU(ws, tr.p1, tr.c1, p1s) })
	run("conv2fwd", func() { ops.Conv2D(ws, tr.c2, tr.p1, c2s, w.Conv2.Weight, w.Conv2.Bias) })
	run("pool2fwd", func() { ops.MaxPool2DReLU(ws, tr.p2, tr.c2, p2s) })
	run("fc1fwd", func() { ops.LinearForward(ws, fc1, tr.h1, tr.p2, w.FC1.Weight, w.FC1.Bias) })
	run("fc1bwd", func() { ops.LinearBackward(ws, fc1, tr.dp2, tr.p2, w.FC1.Weight, tr.dh1, ops.ParamGrads(g.FC1)) })
	run("pool2bwd", func() { ops.MaxPool2DReLUBackward(ws, tr.dc2, tr.c2, tr.p2, tr.dp2, p2s) })
	run("conv2bwd-dw", func() { ops.Conv2DBackward(ws, c2s, nil, tr.p1, w.Conv2.Weight, tr.dc2, ops.ParamGrads(g.Conv2)) })
	run("conv2bwd-dx", func() { ops.Conv2DBackward(ws, c2s, tr.dp1, tr.p1, w.Conv2.Weight, tr.dc2, ops.ParamGrads{}) })
	run("pool1bwd", func() { ops.MaxPool2DReLUBackward(ws, tr.dc1, tr.c1, tr.p1, tr.dp1, p1s) })
	run("conv1bwd-dw", func() { ops.Conv2DBackward(ws, c1s, nil, tr.x, w.Conv1.Weight, tr.dc1, ops.ParamGrads(g.Conv1)) })
	run("sgd", func() { tr.opt.Step() })
	run("step", func() { tr.step(n) })
}
