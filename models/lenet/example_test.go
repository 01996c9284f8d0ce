package lenet_test

import (
	"context"
	"fmt"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/loader/idx"
	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/models/lenet"
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
