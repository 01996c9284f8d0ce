package lenet_test

import (
	"context"
	"fmt"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/loader/idx"
	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/models/lenet"
	"github.com/lumen-ml/lumen/ops/optim"
)

func Example() {
	// The trained weights and the MNIST test set ship with the module (package
	// assets); lenet.Load("path/to/lenet.safetensors") reads a checkpoint from disk.
	src, err := safetensors.FromBytes(assets.LeNetMNIST(), "lenet.safetensors")
	if err != nil {
		panic(err)
	}
	m, err := lenet.New(src, "lenet.safetensors")
	if err != nil {
		panic(err)
	}
	defer m.Close()
	ds, err := idx.LoadSplitFS(assets.MNISTTest(), "t10k")
	if err != nil {
		panic(err)
	}
	x := make([]float32, 4*28*28)
	lenet.Preprocess(x, ds.Images[:len(x)])
	pred, err := m.Predict(context.Background(), x, 4)
	if err != nil {
		panic(err)
	}
	fmt.Println("predicted", pred, "labels", ds.Labels[:4])
	// Output: predicted [7 2 1 0] labels [7 2 1 0]
}

// Train a fresh LeNet for three epochs on 2,000 images with Adam, then classify 500
// held-out ones. (lenet train on the command line does this on a whole data set and
// writes the model directory with Weights.Save.)
func ExampleTrainer() {
	ds, err := idx.LoadSplitFS(assets.MNISTTest(), "t10k")
	if err != nil {
		panic(err)
	}
	const n, held = 2000, 500
	norm, err := lenet.DataNormalization(ds.Images[:n*784])
	if err != nil {
		panic(err)
	}
	x := make([]float32, len(ds.Images))
	norm.Apply(x, ds.Images)

	w, err := lenet.InitWeights(lenet.DefaultLayout(), 1) // Kaiming-uniform, as PyTorch
	if err != nil {
		panic(err)
	}
	tr, err := lenet.NewTrainer(w, 64, func(ps []optim.Param) (optim.Optimizer, error) {
		return optim.NewAdam(ps, optim.DefaultAdam()) // lr 1e-3, betas (0.9, 0.999)
	}, nil)
	if err != nil {
		panic(err)
	}
	steps := 0
	for epoch := range 3 {
		st, err := tr.Epoch(context.Background(), x[:n*784], ds.Labels[:n], lenet.Shuffle(n, 1, epoch), nil)
		if err != nil {
			panic(err)
		}
		steps += st.Steps
	}
	m, err := w.Model(norm)
	if err != nil {
		panic(err)
	}
	pred, err := m.Predict(context.Background(), x[n*784:(n+held)*784], held)
	if err != nil {
		panic(err)
	}
	correct := 0
	for i, p := range pred {
		if p == int(ds.Labels[n+i]) {
			correct++
		}
	}
	fmt.Printf("%d steps; held-out accuracy above 85%%: %v\n", steps, correct > held*85/100)
	// Output: 96 steps; held-out accuracy above 85%: true
}
