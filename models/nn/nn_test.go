package nn_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/tensor"
)

// checkpoint writes tensors to an in-memory safetensors file.
func checkpoint(t testing.TB, tensors map[string]*tensor.Tensor) safetensors.Source {
	var buf bytes.Buffer
	require.NoError(t, safetensors.Write(&buf, tensors, nil))
	f, err := safetensors.FromBytes(buf.Bytes(), "test.safetensors")
	require.NoError(t, err)
	return f
}

func f32(t testing.TB, shape ...int) *tensor.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i%7) - 3
	}
	x, err := tensor.FromFloat32(v, shape...)
	require.NoError(t, err)
	return x
}

func TestBuilderNamesPrefixesAliases(t *testing.T) {
	src := checkpoint(t, map[string]*tensor.Tensor{
		"bert.enc.0.dense.weight": f32(t, 3, 4), "bert.enc.0.dense.bias": f32(t, 3),
		"enc.0.LayerNorm.gamma": f32(t, 4), "enc.0.LayerNorm.beta": f32(t, 4),
	})
	vb := nn.NewBuilder(src, "test.safetensors", nn.Options{Model: "m", Prefixes: []string{"bert."},
		Aliases: map[string]string{"weight": "gamma", "bias": "beta"}})
	layer := vb.Sub("enc.%d", 0)
	require.True(t, layer.Has("dense.weight"))
	require.Equal(t, []int{3, 4}, layer.Shape("dense.weight"))
	require.Equal(t, 3, layer.Dim("dense.weight", 0))
	require.Equal(t, -1, layer.Dim("absent", 0))
	lin := layer.Linear("dense", 3, 4)
	ln := layer.LayerNorm("LayerNorm", 4, 1e-5)
	require.NoError(t, vb.Err())
	require.Equal(t, 4, lin.In())
	require.Equal(t, 3, lin.Out())
	require.Len(t, ln.Weight, 4)

	// y = x·Wᵀ + b against a plain loop.
	w, _ := f32(t, 3, 4).Float32s()
	b, _ := f32(t, 3).Float32s()
	x := []float32{1, 2, 3, 4, -1, 0, 1, 2}
	y := make([]float32, 6)
	lin.Forward(nil, y, x, 2)
	for r := 0; r < 2; r++ {
		for o := 0; o < 3; o++ {
			want := b[o]
			for i := 0; i < 4; i++ {
				want += x[r*4+i] * w[o*4+i]
			}
			require.InDelta(t, want, y[r*3+o], 1e-5)
		}
	}
}

func TestBuilderErrors(t *testing.T) {
	src := checkpoint(t, map[string]*tensor.Tensor{"a.weight": f32(t, 2, 2), "a.bias": f32(t, 2)})
	vb := nn.NewBuilder(src, "dir/model.safetensors", nn.Options{Model: "m"})
	vb.Linear("a", 3, 2) // wrong out
	vb.Linear("b", 2, 2) // missing: the first error sticks
	err := vb.Err()
	require.ErrorIs(t, err, safetensors.ErrWeight)
	require.ErrorContains(t, err, "m: dir/model.safetensors:")
	require.ErrorContains(t, err, `"a.weight" has shape [2 2], want [3 2]`)

	vb = nn.NewBuilder(src, "f", nn.Options{Model: "m"})
	vb.Sub("x").F32("y", 1)
	require.ErrorIs(t, vb.Err(), safetensors.ErrNotFound)
	require.ErrorContains(t, vb.Err(), `"x.y"`)

	vb = nn.NewBuilder(src, "f", nn.Options{Model: "m"})
	vb.Failf("tied weight differs")
	require.EqualError(t, vb.Err(), "m: f: tied weight differs")
}

func TestBuilderHalfAndStacked(t *testing.T) {
	bits := []uint16{0x3f80, 0x4000, 0x4040, 0x4080, 0x40a0, 0x40c0} // 1..6 in BF16
	h, err := tensor.FromUint16(tensor.BF16, bits, 3, 2)
	require.NoError(t, err)
	src := checkpoint(t, map[string]*tensor.Tensor{"w": h, "q": f32(t, 2, 2), "k": f32(t, 2, 2)})
	keep := nn.NewBuilder(src, "f", nn.Options{Model: "m", KeepHalf: true})
	require.Equal(t, tensor.BF16, keep.Matrix("w", true, 3, 2).DType())
	widen := nn.NewBuilder(src, "f", nn.Options{Model: "m"})
	require.Equal(t, tensor.F32, widen.Matrix("w", true, 3, 2).DType())
	require.Equal(t, []float32{1, 2, 3, 4, 5, 6}, widen.F32("w", 3, 2))

	st := widen.StackedMatrix([]string{"q", "k"}, []int{2, 2}, 2)
	require.NoError(t, widen.Err())
	require.Equal(t, 4, st.N())
	col := make([]float32, 2)
	q, _ := f32(t, 2, 2).Float32s()
	require.NoError(t, st.Column(2, col)) // row 0 of k, which equals q's
	require.Equal(t, q[:2], col)
}

func TestActivation(t *testing.T) {
	for name, want := range map[string]nn.Activation{"gelu_new": nn.GELUTanh, "gelu_pytorch_tanh": nn.GELUTanh, "gelu": nn.GELU, "relu": nn.ReLU} {
		a, err := nn.ParseActivation(name)
		require.NoError(t, err)
		require.Equal(t, want, a)
	}
	_, err := nn.ParseActivation("swish")
	require.ErrorContains(t, err, `"swish" is not supported`)
	x := []float32{-1, 0, 2}
	nn.ReLU.Forward(x)
	require.Equal(t, []float32{0, 0, 2}, x)
}

func TestOptions(t *testing.T) {
	require.Same(t, ops.DefaultPool(), nn.Apply(nil).Pool())
	require.Nil(t, nn.Apply([]nn.Option{nn.WithPool(nil)}).Pool())
	p := ops.NewPool(1)
	defer p.Close()
	s := nn.Apply([]nn.Option{nn.WithPool(p), nn.WithHalfWeights(true), nn.WithTokenizerDir("d")})
	require.Same(t, p, s.Pool())
	require.True(t, s.KeepHalf)

	load := func(dir string) (string, error) {
		if dir == "has" {
			return "tok", nil
		}
		return "", fmt.Errorf("no tokenizer in %s", dir)
	}
	tok, ok, err := nn.LoadTokenizer(nn.Apply(nil), "has", load)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "tok", tok)
	_, ok, err = nn.LoadTokenizer(nn.Apply(nil), "empty", load) // a model directory may have none
	require.NoError(t, err)
	require.False(t, ok)
	_, _, err = nn.LoadTokenizer(nn.Apply([]nn.Option{nn.WithTokenizerDir("empty")}), "has", load) // a named one must load
	require.ErrorContains(t, err, "no tokenizer in empty")
	// A tokenizer given with WithTokenizer is New's to take (TokenizerFor): nothing loads.
	_, ok, err = nn.LoadTokenizer(nn.Apply([]nn.Option{nn.WithTokenizer("given")}), "has", load)
	require.NoError(t, err)
	require.False(t, ok)
}

func ExampleBuilder() {
	// A checkpoint with one PyTorch Linear layer, "proj", saved from a task model
	// under the prefix "model.".
	w, _ := tensor.FromFloat32([]float32{1, 0, 0, 1, 1, 1}, 3, 2) // [out=3, in=2]
	b, _ := tensor.FromFloat32([]float32{0, 0, 0.5}, 3)
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, map[string]*tensor.Tensor{"model.proj.weight": w, "model.proj.bias": b}, nil); err != nil {
		panic(err)
	}
	src, err := safetensors.FromBytes(buf.Bytes(), "example.safetensors")
	if err != nil {
		panic(err)
	}
	vb := nn.NewBuilder(src, "example.safetensors", nn.Options{Model: "demo", Prefixes: []string{"model."}})
	proj := vb.Linear("proj", 3, 2)
	if err := vb.Err(); err != nil { // one check after reading every weight
		panic(err)
	}
	y := make([]float32, 3)
	proj.Forward(ops.NewWorkspace(nil), y, []float32{2, 3}, 1)
	fmt.Println(y)

	vb.Linear("missing", 3, 2)
	fmt.Println(vb.Err())
	// Output:
	// [2 3 5.5]
	// demo: example.safetensors: safetensors: missing tensor "missing.weight" (want shape [3 2]): no such tensor
}

type fakeTok int

func (f fakeTok) VocabSize() int { return int(f) }

func TestTokenizerFor(t *testing.T) {
	tok, err := nn.TokenizerFor[fakeTok](nn.Apply(nil), 10)
	require.NoError(t, err)
	require.Zero(t, tok)
	tok, err = nn.TokenizerFor[fakeTok](nn.Apply([]nn.Option{nn.WithTokenizer(fakeTok(10))}), 10)
	require.NoError(t, err)
	require.Equal(t, fakeTok(10), tok)
	_, err = nn.TokenizerFor[fakeTok](nn.Apply([]nn.Option{nn.WithTokenizer(fakeTok(11))}), 10)
	require.ErrorContains(t, err, "the tokenizer has 11 ids, the model's vocabulary 10")
	_, err = nn.TokenizerFor[fakeTok](nn.Apply([]nn.Option{nn.WithTokenizer("words")}), 10)
	require.ErrorContains(t, err, "WithTokenizer got a string, want a nn_test.fakeTok")
}

func TestRefuse(t *testing.T) {
	none := nn.Apply(nil)
	require.NoError(t, none.Refuse("m"), "defaults use no feature")
	require.NoError(t, nn.Apply([]nn.Option{nn.WithHalfWeights(false), nn.WithTokenizerDir(""), nn.WithDevice(nil), nn.WithPool(nil)}).Refuse("m"),
		"options given their default values are not in use")
	err := nn.Apply([]nn.Option{nn.WithHalfWeights(true)}).Refuse("bert", nn.FeatureDevice, nn.FeatureQuantization)
	require.ErrorIs(t, err, nn.ErrOption)
	require.EqualError(t, err, "unsupported option: bert does not support WithHalfWeights (it takes WithPool, WithDevice, WithQuantization)")
	require.NoError(t, nn.Apply([]nn.Option{nn.WithHalfWeights(true)}).Refuse("gpt2", nn.FeatureHalfWeights))
	require.ErrorIs(t, nn.Apply([]nn.Option{nn.WithQuantActivations(ops.QActF32)}).Refuse("gpt2"), nn.ErrOption)
	require.ErrorIs(t, nn.Apply([]nn.Option{nn.WithTokenizer(1)}).Refuse("lenet"), nn.ErrOption)
}
