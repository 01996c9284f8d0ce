package safetensors_test

import (
	"bytes"
	"fmt"

	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/tensor"
)

func Example() {
	w, _ := tensor.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	var file bytes.Buffer
	if err := safetensors.Write(&file, map[string]*tensor.Tensor{"fc.weight": w}, map[string]string{"format": "pt"}); err != nil {
		panic(err)
	}

	// safetensors.Open(path) memory-maps a file from disk; FromBytes reads one in memory.
	f, err := safetensors.FromBytes(file.Bytes(), "example.safetensors")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		fmt.Println(name, info.DType, info.Shape, info.Bytes())
	}
	t, _ := f.Tensor("fc.weight")
	v, _ := t.At(1, 2)
	fmt.Println(v, f.Metadata()["format"])

	_, err = safetensors.FromBytes([]byte("not a safetensors file"), "bad.safetensors")
	fmt.Println(err)
	// Output:
	// fc.weight F32 [2 3] 24
	// 6 pt
	// safetensors: bad.safetensors: bad header length: header length 7021991845529153390 exceeds the 100000000-byte limit
}
