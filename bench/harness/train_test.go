package harness

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/loader/idx"
)

// smallTrainingSet writes an idx folder: train = the first n shipped MNIST test
// images, t10k = the next nTest.
func smallTrainingSet(t *testing.T, n, nTest int) string {
	ds, err := idx.LoadSplitFS(assets.MNISTTest(), "t10k")
	require.NoError(t, err)
	dir := t.TempDir()
	write := func(name string, dims []int, data []byte) {
		b := []byte{0, 0, 8, byte(len(dims))}
		for _, d := range dims {
			b = binary.BigEndian.AppendUint32(b, uint32(d))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), append(b, data...), 0o644))
	}
	write("train-images-idx3-ubyte", []int{n, 28, 28}, ds.Images[:n*784])
	write("train-labels-idx1-ubyte", []int{n}, ds.Labels[:n])
	write("t10k-images-idx3-ubyte", []int{nTest, 28, 28}, ds.Images[n*784:(n+nTest)*784])
	write("t10k-labels-idx1-ubyte", []int{nTest}, ds.Labels[n:n+nTest])
	return dir
}

func trainWorkload() Workload {
	return Workload{Name: "train-small", Model: LeNetTrain, Batch: 64, Epochs: 2, Optimizer: "sgd", LR: 0.01, Momentum: 0.9,
		CheckSteps: 3, CheckEpochs: 1, TrainImages: 640, DType: "f32", Reps: 3}
}

// The Go worker trains from the runner's initial weights and order: the check's
// first losses start near ln 10 (ten classes, small random logits) and fall, a
// repetition trains the workload's epochs, and an unreachable target is an error.
func TestTrainWorker(t *testing.T) {
	data := smallTrainingSet(t, 640, 300)
	w := trainWorkload()
	r := &runner{o: Options{ModelsDir: t.TempDir(), TrainData: data}}
	tr, err := r.prepareTraining([]Workload{w})
	require.NoError(t, err)
	td := tr.data[w.Name]
	require.NotNil(t, td)
	require.Equal(t, 2, td.Epochs)
	req := Request{Impl: ImplLumen, Workload: w, Threads: 1, Model: tr.init, Train: td}
	msgs, err := worker(t, req, "time")
	require.NoError(t, err)
	require.Len(t, msgs, 2)
	o := msgs[0].Output
	require.Equal(t, "training", o.Kind)
	require.Len(t, o.Data, 3)
	require.InDelta(t, 2.30, o.Data[0], 0.1)
	require.Greater(t, o.Accuracy, 0.1)
	require.LessOrEqual(t, o.Accuracy, 1.0)
	require.Len(t, msgs[1].Samples, 3)

	// The same check twice: training is deterministic.
	again, err := worker(t, req, "skip")
	require.True(t, err == nil || IsSkip(err), err)
	require.Equal(t, o, again[0].Output)

	w.Target = 0.999
	req.Workload = w
	msgs, err = worker(t, req, "time")
	require.Error(t, err)
	require.Contains(t, msgs[len(msgs)-1].Error, "test accuracy below 99.90% after 2 epochs")

	// An order that is not a permutation is refused.
	bad := filepath.Join(t.TempDir(), "order")
	raw, err := os.ReadFile(td.Order)
	require.NoError(t, err)
	binary.LittleEndian.PutUint32(raw[4:], binary.LittleEndian.Uint32(raw))
	require.NoError(t, os.WriteFile(bad, raw, 0o644))
	req.Train = &TrainData{Data: td.Data, Order: bad, Epochs: 2, Mean: td.Mean, Std: td.Std}
	msgs, err = worker(t, req, "time")
	require.Error(t, err)
	require.Contains(t, msgs[len(msgs)-1].Error, "not a permutation")
}

// The paper suite's training workloads need MNIST's 60,000 images: on any other
// training set their rows are unavailable, with the reason, and the run goes on.
func TestTrainingUnavailable(t *testing.T) {
	for _, data := range []string{smallTrainingSet(t, 640, 100), t.TempDir()} {
		out := t.TempDir()
		rep, err := Run(context.Background(), Options{Suite: "paper", Workloads: "lenet-train-epoch", Impls: []string{ImplLumen},
			Out: out, ModelsDir: t.TempDir(), TrainData: data, LumenWorker: []string{os.Args[0], "-test.run=^$"}, NoLimits: true})
		require.NoError(t, err)
		require.Len(t, rep.Runs, 1)
		require.Equal(t, StatusUnavailable, rep.Runs[0].Status)
		require.Regexp(t, "640 training images, the workloads are defined on 60000|no training set", rep.Runs[0].Reason)
	}
}

func TestTrainingWorkloadsValidate(t *testing.T) {
	for _, mod := range []func(*Workload){
		func(w *Workload) { w.Batch = 0 },
		func(w *Workload) { w.Epochs = 0 },
		func(w *Workload) { w.Optimizer = "rmsprop" },
		func(w *Workload) { w.LR = 0 },
		func(w *Workload) { w.Momentum = 1 },
		func(w *Workload) { w.CheckSteps = 11 }, // 11 × 64 > 640
		func(w *Workload) { w.CheckEpochs = 0 },
		func(w *Workload) { w.Target = 1 },
	} {
		w := trainWorkload()
		require.NoError(t, w.validate())
		mod(&w)
		require.Error(t, w.validate(), "%+v", w)
	}
	w := trainWorkload()
	require.Equal(t, 2*640.0, w.Items())
	require.Equal(t, "images/s", w.Unit())
	w.Target = 0.9
	require.Equal(t, 1.0, w.Items())
}
