package assets_test

import (
	"fmt"
	"io/fs"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/loader/idx"
	"github.com/lumen-ml/lumen/loader/safetensors"
)

func Example() {
	// The trained LeNet weights, as a safetensors file held in memory.
	f, err := safetensors.FromBytes(assets.LeNetMNIST(), "lenet.safetensors")
	if err != nil {
		panic(err)
	}
	in, _ := f.Info("conv1.weight")
	fmt.Println("conv1.weight", in.Shape)

	// The MNIST test set, as a directory.
	ds, err := idx.LoadSplitFS(assets.MNISTTest(), "t10k")
	if err != nil {
		panic(err)
	}
	fmt.Println(ds.N, "test images")

	// The tokenizer files, laid out as in a Hugging Face model directory.
	names, _ := fs.Glob(assets.GPT2Tokenizer(), "*.*")
	fmt.Println(names)
	// Output:
	// conv1.weight [6 1 5 5]
	// 10000 test images
	// [README.md merges.txt vocab.json]
}
