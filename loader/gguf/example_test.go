package gguf_test

import (
	"fmt"

	"github.com/lumen-ml/lumen/loader/gguf"
)

// Open a GGUF file, read its metadata and a tensor's description and bytes.
func Example() {
	f, err := gguf.Open("testdata/fixture.gguf")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	arch, _ := f.Metadata("general.architecture")
	name, _ := arch.Str()
	ctx, _ := f.Metadata("llama.context_length")
	n, _ := ctx.Int()
	fmt.Println(name, n)
	t, _ := f.Tensor("blk.0.attn_q.weight")
	data, _ := f.Data(t.Name)
	elems, size, _ := t.Type.BlockSize()
	fmt.Println(t.Type, t.Shape, len(data), "bytes,", elems, "elements per", size, "byte block")
	// Output:
	// llama 128
	// Q8_0 [64 4] 272 bytes, 32 elements per 34 byte block
}
