package lenet_test

import (
	"context"
	"fmt"

	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/loader/idx"
	"github.com/lumen-ml/lumen/models/lenet"
)

func Example() {
	m, err := lenet.Load(shared.Dir()+"/models/lenet-mnist", lenet.WithThreads(2))
	if err != nil {
		panic(err)
	}
	defer m.Close()
	ds, err := idx.LoadSplit(shared.Dir()+"/data/mnist", "t10k")
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
