package lenet

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/internal/testfiles"
	"github.com/lumen-ml/lumen/loader/idx"
	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/tensor"
)

type reference struct {
	Correct     int         `json:"correct"`
	Logits      [][]float64 `json:"logits_first_16"`
	Predictions string      `json:"predictions"`
}

// shipped builds the trained model that package assets embeds.
func shipped(t testing.TB, opts ...Option) (*Model, error) {
	src, err := safetensors.FromBytes(assets.LeNetMNIST(), "lenet.safetensors")
	require.NoError(t, err)
	return New(src, "lenet.safetensors", opts...)
}

func loadTestSet(t testing.TB) (*idx.Dataset, []float32) {
	ds, err := idx.LoadSplitFS(assets.MNISTTest(), "t10k")
	require.NoError(t, err)
	x := make([]float32, len(ds.Images))
	Preprocess(x, ds.Images)
	return ds, x
}

func TestShippedModelMatchesPyTorch(t *testing.T) {
	var ref reference
	raw := assets.LeNetMNISTReference()
	require.NoError(t, json.Unmarshal(raw, &ref))
	ds, x := loadTestSet(t)

	pool := ops.NewPool(2)
	defer pool.Close()
	for _, p := range []*ops.Pool{nil, pool} { // the caller alone, two threads
		m, err := shipped(t, nn.WithPool(p))
		require.NoError(t, err)
		require.Equal(t, 0, m.Padding())
		require.Equal(t, 10, m.Classes())
		logits, err := m.Logits(context.Background(), x, ds.N)
		require.NoError(t, err)
		correct, mismatches := 0, 0
		for i := 0; i < ds.N; i++ {
			row := logits[i*10 : i*10+10]
			best := 0
			for c := range row {
				if row[c] > row[best] {
					best = c
				}
			}
			if best == int(ds.Labels[i]) {
				correct++
			}
			if byte('0'+best) != ref.Predictions[i] {
				mismatches++
			}
		}
		require.Zero(t, mismatches, "predictions differing from PyTorch's")
		require.Equal(t, ref.Correct, correct)
		require.Equal(t, 9813, correct)
		for i, want := range ref.Logits {
			for c, v := range want {
				require.InDelta(t, v, float64(logits[i*10+c]), 1e-3, "image %d class %d", i, c)
			}
		}
		m.Close()
	}
}

// naiveForward is an independent float64 LeNet forward pass for one image.
func naiveForward(w map[string][]float32, shapes map[string][]int, pad int, img []float32) []float64 {
	conv := func(in []float64, c, h int, wt, b []float32, oc, k, pad int) ([]float64, int) {
		oh := h + 2*pad - k + 1
		out := make([]float64, oc*oh*oh)
		for o := 0; o < oc; o++ {
			for y := 0; y < oh; y++ {
				for x := 0; x < oh; x++ {
					acc := float64(b[o])
					for ci := 0; ci < c; ci++ {
						for ky := 0; ky < k; ky++ {
							for kx := 0; kx < k; kx++ {
								iy, ix := y-pad+ky, x-pad+kx
								if iy >= 0 && iy < h && ix >= 0 && ix < h {
									acc += in[(ci*h+iy)*h+ix] * float64(wt[((o*c+ci)*k+ky)*k+kx])
								}
							}
						}
					}
					out[(o*oh+y)*oh+x] = acc
				}
			}
		}
		return out, oh
	}
	poolRelu := func(in []float64, c, h int) ([]float64, int) {
		oh := h / 2
		out := make([]float64, c*oh*oh)
		for ci := 0; ci < c; ci++ {
			for y := 0; y < oh; y++ {
				for x := 0; x < oh; x++ {
					m := math.Inf(-1)
					for dy := 0; dy < 2; dy++ {
						for dx := 0; dx < 2; dx++ {
							m = math.Max(m, in[(ci*h+2*y+dy)*h+2*x+dx])
						}
					}
					out[(ci*oh+y)*oh+x] = math.Max(m, 0)
				}
			}
		}
		return out, oh
	}
	fc := func(in []float64, name string, relu bool) []float64 {
		wt, b := w[name+".weight"], w[name+".bias"]
		out := make([]float64, shapes[name+".weight"][0])
		for o := range out {
			acc := float64(b[o])
			for i, v := range in {
				acc += v * float64(wt[o*len(in)+i])
			}
			if relu {
				acc = math.Max(acc, 0)
			}
			out[o] = acc
		}
		return out
	}
	in := make([]float64, len(img))
	for i, v := range img {
		in[i] = float64(v)
	}
	c1 := shapes["conv1.weight"][0]
	c2 := shapes["conv2.weight"][0]
	a, h := conv(in, 1, Side, w["conv1.weight"], w["conv1.bias"], c1, 5, pad)
	a, h = poolRelu(a, c1, h)
	a, h = conv(a, c1, h, w["conv2.weight"], w["conv2.bias"], c2, 5, 0)
	a, _ = poolRelu(a, c2, h)
	a = fc(a, "fc1", true)
	a = fc(a, "fc2", true)
	return fc(a, "fc3", false)
}

func writeRandomModel(t *testing.T, path string, shapes map[string][]int, dtype tensor.DType) map[string][]float32 {
	r := rand.New(rand.NewPCG(9, 9))
	vals := map[string][]float32{}
	tensors := map[string]*tensor.Tensor{}
	for name, shape := range shapes {
		n := 1
		for _, d := range shape {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64() * 0.2)
		}
		x, err := tensor.FromFloat32(v, shape...)
		require.NoError(t, err)
		if dtype == tensor.BF16 {
			bits := make([]uint16, n)
			tensor.F32ToBF16Slice(bits, v)
			tensor.BF16ToF32Slice(v, bits)
			x, err = tensor.FromUint16(tensor.BF16, bits, shape...)
			require.NoError(t, err)
		}
		vals[name], tensors[name] = v, x
	}
	require.NoError(t, safetensors.WriteFile(path, tensors, map[string]string{"format": "pt"}))
	return vals
}

func classicShapes() map[string][]int {
	return map[string][]int{
		"conv1.weight": {6, 1, 5, 5}, "conv1.bias": {6}, "conv2.weight": {16, 6, 5, 5}, "conv2.bias": {16},
		"fc1.weight": {120, 400}, "fc1.bias": {120}, "fc2.weight": {84, 120}, "fc2.bias": {84},
		"fc3.weight": {10, 84}, "fc3.bias": {10},
	}
}

func TestClassicLayoutAgainstNaiveForward(t *testing.T) {
	for _, dt := range []tensor.DType{tensor.F32, tensor.BF16} {
		path := filepath.Join(t.TempDir(), "lenet5.safetensors")
		shapes := classicShapes()
		w := writeRandomModel(t, path, shapes, dt)
		m, err := Load(path)
		require.NoError(t, err)
		require.Equal(t, 2, m.Padding())
		_, x := loadTestSet(t)
		n := 70 // more than one chunk
		logits, err := m.Logits(context.Background(), x[:n*784], n)
		require.NoError(t, err)
		for i := 0; i < n; i++ {
			want := naiveForward(w, shapes, 2, x[i*784:(i+1)*784])
			for c, v := range want {
				require.InDelta(t, v, float64(logits[i*10+c]), 1e-3*(1+math.Abs(v)), "%v image %d class %d", dt, i, c)
			}
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct {
		edit func(map[string][]int)
		want string
	}{
		"missing fc2 bias": {func(s map[string][]int) { delete(s, "fc2.bias") }, `missing tensor "fc2.bias"`},
		"fc1 width":        {func(s map[string][]int) { s["fc1.weight"] = []int{120, 300} }, `fc1.weight [120 300]: its input width 300 matches no LeNet layout`},
		"conv2 channels":   {func(s map[string][]int) { s["conv2.weight"] = []int{16, 3, 5, 5} }, `"conv2.weight" has shape [16 3 5 5], want [* 6 * *]`},
		"fc3 vs fc2":       {func(s map[string][]int) { s["fc3.weight"] = []int{10, 80} }, `"fc3.weight" has shape [10 80], want [* 84]`},
		"bias length":      {func(s map[string][]int) { s["conv1.bias"] = []int{5} }, `"conv1.bias" has shape [5], want [6]`},
	}
	for name, c := range cases {
		shapes := classicShapes()
		c.edit(shapes)
		path := filepath.Join(dir, name+".safetensors")
		writeRandomModel(t, path, shapes, tensor.F32)
		_, err := Load(path)
		require.ErrorContains(t, err, c.want, name)
		require.ErrorContains(t, err, path, name)
	}
	_, err := Load(filepath.Join(dir, "nope.safetensors"))
	require.Error(t, err)
}

func TestBadInput(t *testing.T) {
	m, err := shipped(t)
	require.NoError(t, err)
	_, err = m.Logits(context.Background(), make([]float32, 783), 1)
	require.ErrorIs(t, err, ErrInput)
	require.ErrorIs(t, err, nn.ErrInput, "the server's 400s test nn.ErrInput")
	_, err = shipped(t, nn.WithHalfWeights(true))
	require.ErrorIs(t, err, nn.ErrOption, "LeNet has no half-precision mode: refused, not ignored")
	_, err = m.Predict(context.Background(), nil, 0)
	require.ErrorIs(t, err, ErrInput)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = m.Logits(ctx, make([]float32, 784*3), 3)
	require.ErrorIs(t, err, context.Canceled)
}

// TestConcurrentUse shares one model between goroutines running single images and
// batches; every answer must equal the sequential one. Run under -race in CI.
func TestConcurrentUse(t *testing.T) {
	m, err := shipped(t)
	require.NoError(t, err)
	defer m.Close()
	_, x := loadTestSet(t)
	n := 300
	want, err := m.Predict(context.Background(), x[:n*784], n)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if g%2 == 0 {
				got, err := m.Predict(context.Background(), x[:n*784], n)
				require.NoError(t, err)
				require.Equal(t, want, got)
				return
			}
			for i := g; i < n; i += 8 {
				got, err := m.Predict(context.Background(), x[i*784:(i+1)*784], 1)
				require.NoError(t, err)
				require.Equal(t, want[i], got[0])
			}
		}()
	}
	wg.Wait()
}

// TestAbsurdHeadersFailBeforeReading: layers claiming gigabytes are refused from the
// header, before any tensor is read.
func TestAbsurdHeadersFailBeforeReading(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct {
		edit func(map[string][]int)
		want string
	}{
		"fc1 units": {func(s map[string][]int) {
			s["fc1.weight"], s["fc1.bias"], s["fc2.weight"] = []int{1 << 20, 400}, []int{1 << 20}, []int{84, 1 << 20}
		}, "fc1.weight [1048576 400]: wider than any LeNet"},
		"conv1 kernel": {func(s map[string][]int) { s["conv1.weight"] = []int{6, 1, 30000, 30000} }, "matches no LeNet layout"},
	} {
		shapes := classicShapes()
		c.edit(shapes)
		path := filepath.Join(dir, name+".safetensors")
		testfiles.HeaderOnly(t, path, shapes)
		_, err := Load(path)
		require.ErrorContains(t, err, c.want, name)
	}
}
