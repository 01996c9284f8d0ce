package harness

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"github.com/lumen-ml/lumen/loader/idx"
	"github.com/lumen-ml/lumen/models/lenet"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/ops/optim"
)

// trainSet is a training workload's data as the Go worker holds it.
type trainSet struct {
	norm        lenet.Normalization
	x, xt       []float32 // normalised training and test images
	train, test *idx.Dataset
	order       [][]int // per epoch, a permutation of the training set
}

// loadTrainSet reads req.Train's data and order, checking that each epoch's order is a
// permutation of the training set.
func loadTrainSet(req Request) (*trainSet, error) {
	td := req.Train
	if td == nil {
		return nil, fmt.Errorf("a training workload without its training data")
	}
	ts := &trainSet{norm: lenet.Normalization{Mean: td.Mean, Std: td.Std}}
	if err := ts.norm.Check(); err != nil {
		return nil, err
	}
	var err error
	if ts.train, err = idx.LoadSplit(td.Data, "train"); err != nil {
		return nil, err
	}
	if ts.test, err = idx.LoadSplit(td.Data, "t10k"); err != nil {
		return nil, err
	}
	n := ts.train.N
	raw, err := os.ReadFile(td.Order)
	if err != nil {
		return nil, err
	}
	if need := max(req.Workload.Epochs, req.Workload.CheckEpochs); len(raw) != 4*n*td.Epochs || td.Epochs < need {
		return nil, fmt.Errorf("%s: %d bytes, want %d epochs of %d uint32 (the workload needs %d)", td.Order, len(raw), td.Epochs, n, need)
	}
	seen := make([]int, n)
	for e := 0; e < td.Epochs; e++ {
		perm := make([]int, n)
		for i := range perm {
			v := int(binary.LittleEndian.Uint32(raw[4*(e*n+i):]))
			if v >= n || seen[v] == e+1 {
				return nil, fmt.Errorf("%s: epoch %d is not a permutation of %d examples (index %d)", td.Order, e, n, v)
			}
			seen[v] = e + 1
			perm[i] = v
		}
		ts.order = append(ts.order, perm)
	}
	ts.x = make([]float32, len(ts.train.Images))
	ts.norm.Apply(ts.x, ts.train.Images)
	ts.xt = make([]float32, len(ts.test.Images))
	ts.norm.Apply(ts.xt, ts.test.Images)
	return ts, nil
}

// lumenLeNetTrain trains from req.Model's weights: the check is the first CheckEpochs
// epochs (first losses, test accuracy after them); a repetition starts over from the
// same weights.
func lumenLeNetTrain(req Request, version string, pool *ops.Pool) (*job, error) {
	w := req.Workload
	init, _, err := lenet.LoadWeights(req.Model)
	if err != nil {
		return nil, err
	}
	ts, err := loadTrainSet(req)
	if err != nil {
		return nil, err
	}
	newOpt := func(ps []optim.Param) (optim.Optimizer, error) {
		if w.Optimizer == "adam" {
			cfg := optim.DefaultAdam()
			cfg.LR = w.LR
			return optim.NewAdam(ps, cfg)
		}
		return optim.NewSGD(ps, optim.SGDConfig{LR: w.LR, Momentum: w.Momentum})
	}
	accuracy := func(ctx context.Context, weights *lenet.Weights) (float64, error) {
		m, err := weights.Model(ts.norm, nn.WithPool(pool))
		if err != nil {
			return 0, err
		}
		return m.Accuracy(ctx, ts.xt, ts.test.Labels)
	}
	epoch := func(ctx context.Context, tr *lenet.Trainer, e int, onStep func(int, float64)) error {
		_, err := tr.Epoch(ctx, ts.x, ts.train.Labels, ts.order[e], onStep)
		return err
	}
	return &job{version: version, close: func() {},
		check: func(ctx context.Context) (Output, error) {
			weights := init.Clone()
			tr, err := lenet.NewTrainer(weights, w.Batch, newOpt, pool)
			if err != nil {
				return Output{}, err
			}
			var losses []float32
			for e := 0; e < w.CheckEpochs; e++ {
				err = epoch(ctx, tr, e, func(step int, loss float64) {
					if e == 0 && step < w.CheckSteps {
						losses = append(losses, float32(loss))
					}
				})
				if err != nil {
					return Output{}, err
				}
			}
			acc, err := accuracy(ctx, weights)
			return Output{Kind: "training", Rows: 1, Cols: len(losses), Data: losses, Accuracy: acc}, err
		},
		rep: func(ctx context.Context, _ int) (float64, error) {
			weights := init.Clone()
			tr, err := lenet.NewTrainer(weights, w.Batch, newOpt, pool)
			if err != nil {
				return 0, err
			}
			t0 := time.Now()
			for e := 0; e < w.Epochs; e++ {
				if err := epoch(ctx, tr, e, nil); err != nil {
					return 0, err
				}
				if w.Target == 0 {
					continue
				}
				acc, err := accuracy(ctx, weights)
				if err != nil {
					return 0, err
				}
				if acc >= w.Target {
					return elapsed(t0), nil
				}
			}
			if w.Target > 0 {
				return 0, fmt.Errorf("test accuracy below %.2f%% after %d epochs", 100*w.Target, w.Epochs)
			}
			return elapsed(t0), nil
		},
	}, nil
}
