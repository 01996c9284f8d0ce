package harness

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/lumen-ml/lumen/bench/stats"
	"github.com/lumen-ml/lumen/loader/idx"
	"github.com/lumen-ml/lumen/models/bert"
	"github.com/lumen-ml/lumen/models/gpt2"
	"github.com/lumen-ml/lumen/models/lenet"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/ops/cuda"
)

func elapsed(t0 time.Time) float64 { return time.Since(t0).Seconds() }

// lumenJob binds a workload to Lumen: one pool of req.Threads threads, closed with
// the job.
func lumenJob(req Request) (*job, error) {
	pool := ops.NewPool(req.Threads)
	j, err := lumenJobOn(req, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	closeJob := j.close
	j.close = func() { closeJob(); pool.Close() }
	return j, nil
}

func lumenJobOn(req Request, pool *ops.Pool) (*job, error) {
	w := req.Workload
	version := "lumen (" + runtime.Version() + ")"
	switch w.Model {
	case LeNet:
		return lumenLeNet(req, version, pool)
	case LeNetTrain:
		return lumenLeNetTrain(req, version, pool)
	case GPT2, BERT:
		// LUMEN_DEVICE puts the models' matrix products on a GPU when asked.
		dev, err := cuda.FromEnv()
		if err != nil {
			return nil, err
		}
		var j *job
		if w.Model == GPT2 {
			j, err = lumenGPT2(req, version, pool, dev)
		} else {
			j, err = lumenBERT(req, version, pool, dev)
		}
		if dev != nil {
			if err != nil {
				_ = dev.Close()
				return nil, err
			}
			closeModel := j.close
			j.close = func() { closeModel(); _ = dev.Close() }
		}
		return j, err
	case GEMM:
		ws := ops.NewWorkspace(pool)
		a, b := gemmInputs(w.M, w.K, w.N)
		c := make([]float32, w.M*w.N)
		run := func() error { ops.Sgemm(ws, false, false, w.M, w.N, w.K, 1, a, w.K, b, w.N, 0, c, w.N); return nil }
		return gemmJob(version, w, c, run, func() {}), nil
	}
	return nil, fmt.Errorf("lumen: no %q workloads", w.Model)
}

// gonumJob binds a GEMM workload to gonum's pure-Go BLAS (the Go peer).
func gonumJob(req Request) (*job, error) {
	w := req.Workload
	if w.Model != GEMM {
		return nil, fmt.Errorf("gonum runs GEMM workloads only, not %q", w.Name)
	}
	a, b := gemmInputs(w.M, w.K, w.N)
	c := make([]float32, w.M*w.N)
	impl := gonum.Implementation{}
	run := func() error {
		impl.Sgemm(blas.NoTrans, blas.NoTrans, w.M, w.N, w.K, 1, a, w.K, b, w.N, 0, c, w.N)
		return nil
	}
	return gemmJob("gonum.org/v1/gonum/blas/gonum ("+runtime.Version()+")", w, c, run, func() {}), nil
}

func gemmJob(version string, w Workload, c []float32, run func() error, closer func()) *job {
	return &job{version: version, close: closer,
		check: func(context.Context) (Output, error) {
			if err := run(); err != nil {
				return Output{}, err
			}
			o := Output{Kind: "values", Cols: w.N}
			for _, r := range gemmCheckRows(w.M) {
				o.Data = append(o.Data, c[r*w.N:(r+1)*w.N]...)
				o.Rows++
			}
			return o, nil
		},
		rep: func(context.Context, int) (float64, error) {
			t0 := time.Now()
			err := run()
			return elapsed(t0), err
		},
	}
}

func lumenLeNet(req Request, version string, pool *ops.Pool) (*job, error) {
	w := req.Workload
	m, err := lenet.Load(req.Model, nn.WithPool(pool))
	if err != nil {
		return nil, err
	}
	ds, err := idx.LoadSplit(req.MNIST, "t10k")
	if err != nil {
		m.Close()
		return nil, err
	}
	if ds.N < 10000 || ds.Rows != lenet.Side || ds.Cols != lenet.Side {
		m.Close()
		return nil, fmt.Errorf("%s: want 10,000 test images of %d×%d, got %d of %d×%d", req.MNIST, lenet.Side, lenet.Side, ds.N, ds.Rows, ds.Cols)
	}
	images := make([]float32, len(ds.Images))
	lenet.Preprocess(images, ds.Images)
	px := lenet.Side * lenet.Side
	return &job{version: version, close: m.Close,
		check: func(ctx context.Context) (Output, error) {
			logits, err := m.Logits(ctx, images[:64*px], 64)
			return Output{Kind: "logits", Rows: 64, Cols: m.Classes(), Data: logits}, err
		},
		rep: func(ctx context.Context, i int) (float64, error) {
			s := lenetStart(i, w.Batch)
			t0 := time.Now()
			_, err := m.Logits(ctx, images[s*px:(s+w.Batch)*px], w.Batch)
			return elapsed(t0), err
		},
	}, nil
}

func lumenGPT2(req Request, version string, pool *ops.Pool, dev ops.Device) (*job, error) {
	w := req.Workload
	m, err := gpt2.Load(req.Model, nn.WithPool(pool), nn.WithHalfWeights(w.DType == "bf16"), nn.WithDevice(dev), quantization(w), compute(w))
	if err != nil {
		return nil, err
	}
	cfg := m.Config()
	if w.Seq+w.Decode > cfg.NPositions {
		m.Close()
		return nil, fmt.Errorf("%s: %d + %d positions exceed n_positions %d", req.Model, w.Seq, w.Decode, cfg.NPositions)
	}
	st, err := m.NewState(1, w.Seq+w.Decode)
	if err != nil {
		m.Close()
		return nil, err
	}
	prompt := gptPrompt(w.Seq, cfg.VocabSize)
	logits := make([]float32, cfg.VocabSize)
	E := cfg.NEmbd
	// step feeds ids and leaves the last position's logits in logits.
	step := func(ids []int) error {
		h, err := st.Forward(ids, nil, len(ids))
		if err != nil {
			return err
		}
		return st.Logits(logits, h[(len(ids)-1)*E:len(ids)*E], 1)
	}
	// decode generates n greedy tokens after the prefill; it times only the decode.
	decode := func(n int) ([]int, float64, error) {
		st.Reset()
		if err := step(prompt); err != nil {
			return nil, 0, err
		}
		ids := make([]int, 0, n)
		t0 := time.Now()
		for len(ids) < n {
			ids = append(ids, stats.Argmax(logits))
			if err := step(ids[len(ids)-1:]); err != nil {
				return nil, 0, err
			}
		}
		return ids, elapsed(t0), nil
	}
	return &job{version: version, close: m.Close,
		check: func(context.Context) (Output, error) {
			st.Reset()
			if err := step(prompt); err != nil {
				return Output{}, err
			}
			o := Output{Kind: "logits", Rows: 1, Cols: cfg.VocabSize, Data: append([]float32(nil), logits...)}
			if w.Decode > 0 {
				ids, _, err := decode(w.Decode)
				if err != nil {
					return Output{}, err
				}
				o.IDs = ids
			}
			return o, nil
		},
		rep: func(ctx context.Context, _ int) (float64, error) {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			if w.Decode > 0 {
				_, s, err := decode(w.Decode)
				return s, err
			}
			st.Reset()
			t0 := time.Now()
			err := step(prompt)
			return elapsed(t0), err
		},
	}, nil
}

func lumenBERT(req Request, version string, pool *ops.Pool, dev ops.Device) (*job, error) {
	w := req.Workload
	m, err := bert.Load(req.Model, nn.WithPool(pool), nn.WithDevice(dev), quantization(w), compute(w))
	if err != nil {
		return nil, err
	}
	cfg := m.Config()
	b := bert.Batch{B: w.Batch, T: w.Seq}
	for i := 0; i < w.Batch; i++ {
		b.IDs = append(b.IDs, bertIDs(i, w.Seq, cfg.VocabSize)...)
	}
	b.Types = make([]int, len(b.IDs))
	b.Mask = make([]int, len(b.IDs))
	for i := range b.Mask {
		b.Mask[i] = 1
	}
	return &job{version: version, close: m.Close,
		check: func(context.Context) (Output, error) {
			h, err := m.Forward(b)
			if err != nil {
				return Output{}, err
			}
			return bertCheck(h, w.Batch, w.Seq, cfg.Hidden), nil
		},
		rep: func(ctx context.Context, _ int) (float64, error) {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			t0 := time.Now()
			_, err := m.Forward(b)
			return elapsed(t0), err
		},
	}, nil
}

// bertCheck keeps the last hidden states of the first and last sequence.
func bertCheck(h []float32, B, T, E int) Output {
	o := Output{Kind: "values", Rows: T, Cols: E, Data: append([]float32(nil), h[:T*E]...)}
	if B > 1 {
		o.Data = append(o.Data, h[(B-1)*T*E:B*T*E]...)
		o.Rows *= 2
	}
	return o
}

// compute is the workload's Compute (validated) as a model option.
func compute(w Workload) nn.Option {
	c, _ := nn.ParseCompute(w.Compute)
	return nn.WithCompute(c)
}

// quantization is the workload's Quantize (validated) as a model option.
func quantization(w Workload) nn.Option {
	q, _ := nn.ParseQuantization(w.Quantize)
	return nn.WithQuantization(q)
}
