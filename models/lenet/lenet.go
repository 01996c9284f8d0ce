// Package lenet runs LeNet-5 on 28×28 grey-scale images (MNIST, Fashion-MNIST), with
// weights read from a safetensors checkpoint in PyTorch's naming. The network, top to
// bottom:
//
//	input  N×1×28×28, normalised as (pixel/255 − 0.1307)/0.3081
//	conv1  5×5, C1 channels, padding 0 (the shipped variant) or 2 (classic LeNet-5)
//	pool   2×2 max, then ReLU
//	conv2  5×5, C2 channels
//	pool   2×2 max, then ReLU
//	flatten (channel-major), fc1 → ReLU → fc2 → ReLU → fc3 → class logits
//
// (ReLU and max-pooling commute, so this also runs checkpoints trained as
// conv → ReLU → pool.) The padding is inferred from the tensor shapes: fc1's input
// width must equal C2·S·S for the spatial size S that the padding produces. A model
// directory's config.json (checkpoint.go), when present, must agree with that layout
// and sets the normalisation.
//
// train.go trains the same network: seeded initialisation and shuffling, a Trainer
// whose backward pass is written out layer by layer on ops' backward kernels, and
// torch.optim's SGD and Adam (package ops/optim); Weights.Save writes the model
// directory that Load, lumen lenet eval and PyTorch read.
package lenet

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
)

// Image geometry and the normalisation LeNet was trained with.
const (
	Side = 28
	Mean = 0.1307
	Std  = 0.3081
)

// ErrInput is wrapped by errors about the images passed to the model; it wraps
// nn.ErrInput, as every model's does.
var ErrInput = fmt.Errorf("lenet: %w", nn.ErrInput)

// Model is a loaded LeNet. It is immutable and safe for concurrent use.
type Model struct {
	padding int // conv1 padding: 0 or 2

	conv1, conv2 Conv          // conv1, conv2
	pool1, pool2 ops.PoolShape // the 2×2 max pools after them, for one image
	fc1, fc2     nn.Linear     // fc1, fc2
	fc3          nn.Linear     // fc3: the class logits
	classes      int
	layout       Layout
	norm         Normalization // how images are normalised (config.json, else MNIST's)

	pool  *ops.Pool // splits batches across threads; nil runs them on the caller
	works sync.Pool // *workspace
}

// Conv is nn.Conv2d: a weight [out, in, k, k], a bias [out] and the shape of one image.
type Conv struct {
	shape        ops.ConvShape
	weight, bias []float32
}

// Option configures Load and New: nn.WithPool.
type Option = nn.Option

// Load reads a model from a .safetensors file or a directory holding one. A
// directory may also hold a config.json (as Save writes): its layout must agree with
// the tensors, and its "mean" and "std" replace MNIST's normalisation.
func Load(path string, opts ...Option) (*Model, error) {
	src, err := safetensors.OpenModel(path)
	if err != nil {
		return nil, fmt.Errorf("lenet: %w", err)
	}
	defer src.Close()
	m, err := New(src, path, opts...)
	if err != nil {
		return nil, err
	}
	cfg, err := readConfig(path)
	if err != nil || cfg == nil {
		return m, err
	}
	if l := cfg.layout(); l != m.layout {
		return nil, fmt.Errorf("lenet: %s: config.json describes %+v but the weights are %+v", path, l, m.layout)
	}
	m.norm = Normalization{Mean: cfg.Mean, Std: cfg.Std}
	return m, nil
}

// New builds a model from a set of tensors; the model copies what it needs, so src
// may be closed afterwards. file names the checkpoint in errors.
func New(src safetensors.Source, file string, opts ...Option) (*Model, error) {
	set := nn.Apply(opts)
	if err := set.Refuse("lenet"); err != nil {
		return nil, err
	}
	vb := nn.NewBuilder(src, file, nn.Options{Model: "lenet"})
	m := &Model{pool: set.Pool()}
	// Everything is checked from the header before any tensor is read: presence,
	// shapes, the layout they imply, and a size no LeNet exceeds.
	if err := vb.Check(func(vb *nn.Builder) { (&Model{}).readWeights(vb) }); err != nil {
		return nil, err
	}
	// conv1: [C1, 1, K, K]; conv2: [C2, C1, K2, K2]; fc1: [units, flat]; fc2, fc3 likewise.
	C1, K1, C2, K2 := vb.Dim("conv1.weight", 0), vb.Dim("conv1.weight", 2), vb.Dim("conv2.weight", 0), vb.Dim("conv2.weight", 2)
	if vb.Dim("conv1.weight", 3) != K1 || vb.Dim("conv2.weight", 3) != K2 {
		return nil, fmt.Errorf("lenet: %s: conv1.weight %v / conv2.weight %v: square kernels expected", file, vb.Shape("conv1.weight"), vb.Shape("conv2.weight"))
	}
	for _, name := range []string{"conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight", "fc3.weight"} {
		if s := vb.Shape(name); s[0] > maxWidth || s[1] > maxWidth {
			return nil, fmt.Errorf("lenet: %s: %s %v: wider than any LeNet (at most %d channels or units)", file, name, s, maxWidth)
		}
	}
	flat := vb.Dim("fc1.weight", 1)
	m.padding = -1
	var tried []string
	for _, pad := range []int{0, 2} {
		s1 := Side + 2*pad - K1 + 1
		p1 := s1 / 2
		s2 := p1 - K2 + 1
		if s1 <= 0 || s2 <= 1 {
			continue
		}
		p2 := s2 / 2
		tried = append(tried, fmt.Sprintf("padding %d gives %d×%d×%d = %d", pad, C2, p2, p2, C2*p2*p2))
		if C2*p2*p2 == flat {
			m.padding = pad
			m.conv1.shape = ops.ConvShape{N: 1, C: 1, H: Side, W: Side, OC: C1, KH: K1, KW: K1, Stride: 1, Padding: pad}
			m.conv2.shape = ops.ConvShape{N: 1, C: C1, H: p1, W: p1, OC: C2, KH: K2, KW: K2, Stride: 1}
			m.pool1 = ops.PoolShape{N: 1, C: C1, H: s1, W: s1, K: 2, Stride: 2}
			m.pool2 = ops.PoolShape{N: 1, C: C2, H: s2, W: s2, K: 2, Stride: 2}
			break
		}
	}
	if m.padding < 0 {
		return nil, fmt.Errorf("lenet: %s: fc1.weight %v: its input width %d matches no LeNet layout (%v)", file, vb.Shape("fc1.weight"), flat, tried)
	}
	m.readWeights(vb)
	if err := vb.Err(); err != nil {
		return nil, err
	}
	m.classes = m.fc3.Out()
	m.layout = Layout{Padding: m.padding, Conv1: C1, Conv2: C2, FC1: m.fc1.Out(), FC2: m.fc2.Out(), Classes: m.classes}
	m.norm = MNISTNormalization
	if K1 != Kernel || K2 != Kernel {
		m.layout = Layout{} // not a layout Train makes; Layout reports it as such
	}
	return m, nil
}

// maxWidth bounds a LeNet's channels and fully connected units (the classic one has
// at most 120), so that a header claiming an absurd layer is refused before reading.
const maxWidth = 1 << 14

// readWeights reads the convolutions and the fully connected layers; their shapes
// must chain (conv2's input channels are conv1's outputs, fc2's inputs fc1's outputs).
func (m *Model) readWeights(vb *nn.Builder) {
	C1, C2 := vb.Dim("conv1.weight", 0), vb.Dim("conv2.weight", 0)
	m.conv1.weight, m.conv1.bias = vb.F32("conv1.weight", -1, 1, -1, -1), vb.F32("conv1.bias", C1)
	m.conv2.weight, m.conv2.bias = vb.F32("conv2.weight", -1, C1, -1, -1), vb.F32("conv2.bias", C2)
	m.fc1 = vb.Linear("fc1", -1, -1)
	m.fc2 = vb.Linear("fc2", -1, vb.Dim("fc1.weight", 0))
	m.fc3 = vb.Linear("fc3", -1, vb.Dim("fc2.weight", 0))
}

// Padding returns conv1's padding: 0 for the shipped variant, 2 for classic LeNet-5.
func (m *Model) Padding() int { return m.padding }

// Layout returns the architecture (zero when the kernels are not 5×5, which this
// package runs but does not train).
func (m *Model) Layout() Layout { return m.layout }

// Normalization returns how the model expects its pixels normalised.
func (m *Model) Normalization() Normalization { return m.norm }

// Preprocess normalises 8-bit pixels into dst (same length) with the model's
// normalisation.
func (m *Model) Preprocess(dst []float32, pixels []uint8) { m.norm.Apply(dst, pixels) }

// Classes returns the number of output classes.
func (m *Model) Classes() int { return m.classes }

// Close releases nothing today (the pool is the caller's or the process's); it is
// there so that every model is closed the same way.
func (m *Model) Close() {}

// Preprocess normalises 8-bit pixels into dst (same length) as MNIST models expect
// (MNISTNormalization).
func Preprocess(dst []float32, pixels []uint8) { MNISTNormalization.Apply(dst, pixels) }

// Logits runs n normalised images (n×1×28×28 values in images) and returns n×Classes
// logits. Batches are split over the model's threads in chunks; ctx is checked
// between chunks.
func (m *Model) Logits(ctx context.Context, images []float32, n int) ([]float32, error) {
	if n <= 0 || len(images) != n*Side*Side {
		return nil, fmt.Errorf("%w: %d values for %d images of %d×%d", ErrInput, len(images), n, Side, Side)
	}
	out := make([]float32, n*m.classes)
	chunks := (n + chunkSize - 1) / chunkSize
	if chunks == 1 || m.pool == nil {
		for c := 0; c < chunks; c++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			m.forwardChunk(images, out, c, n)
		}
		return out, nil
	}
	job := &batchJob{m: m, ctx: ctx, images: images, out: out, n: n}
	m.pool.Run(chunks, job)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Predict returns the most likely class of each of n normalised images.
func (m *Model) Predict(ctx context.Context, images []float32, n int) ([]int, error) {
	logits, err := m.Logits(ctx, images, n)
	if err != nil {
		return nil, err
	}
	pred := make([]int, n)
	for i := range pred {
		row := logits[i*m.classes : (i+1)*m.classes]
		pred[i] = slices.Index(row, slices.Max(row))
	}
	return pred, nil
}

// Accuracy returns the fraction of n = len(labels) normalised images whose predicted
// class is their label.
func (m *Model) Accuracy(ctx context.Context, images []float32, labels []uint8) (float64, error) {
	pred, err := m.Predict(ctx, images, len(labels))
	if err != nil {
		return 0, err
	}
	correct := 0
	for i, p := range pred {
		if p == int(labels[i]) {
			correct++
		}
	}
	return float64(correct) / float64(len(labels)), nil
}

// chunkSize is the number of images one worker runs at a time: the fully connected
// layers then multiply chunkSize rows at once.
const chunkSize = 64

type batchJob struct {
	m      *Model
	ctx    context.Context
	images []float32
	out    []float32
	n      int
}

func (j *batchJob) Do(_, c int) {
	if j.ctx.Err() != nil {
		return
	}
	j.m.forwardChunk(j.images, j.out, c, j.n)
}

// workspace holds one chunk's activations and single-threaded operator scratch.
type workspace struct {
	ops          *ops.Workspace
	conv1, pool1 []float32 // [chunk, C1, S1, S1], [chunk, C1, S1/2, S1/2]
	conv2, pool2 []float32 // [chunk, C2, S2, S2], [chunk, fc1 in]
	fc1, fc2     []float32 // [chunk, fc1 out], [chunk, fc2 out]
}

func (m *Model) workspace() *workspace {
	if ws, ok := m.works.Get().(*workspace); ok {
		return ws
	}
	b := chunkSize
	return &workspace{
		ops:   ops.NewWorkspace(nil),
		conv1: make([]float32, b*m.conv1.shape.OC*m.conv1.shape.OH()*m.conv1.shape.OW()),
		pool1: make([]float32, b*m.conv1.shape.OC*m.pool1.OH()*m.pool1.OW()),
		conv2: make([]float32, b*m.conv2.shape.OC*m.conv2.shape.OH()*m.conv2.shape.OW()),
		pool2: make([]float32, b*m.fc1.In()),
		fc1:   make([]float32, b*m.fc1.Out()),
		fc2:   make([]float32, b*m.fc2.Out()),
	}
}

// forwardChunk runs images [c·chunkSize, …) of the batch through the network.
func (m *Model) forwardChunk(images, out []float32, c, n int) {
	ws := m.workspace()
	defer m.works.Put(ws)
	lo := c * chunkSize
	b := min(chunkSize, n-lo)
	x := images[lo*Side*Side : (lo+b)*Side*Side]

	// conv1 → 2×2 max pool → ReLU → conv2 → 2×2 max pool → ReLU
	pool1 := m.conv1.forwardPoolReLU(ws.ops, ws.conv1, ws.pool1, x, b, m.pool1)
	flat := m.conv2.forwardPoolReLU(ws.ops, ws.conv2, ws.pool2, pool1, b, m.pool2) // NCHW is channel-major: flatten is free

	// fc1 → ReLU → fc2 → ReLU → fc3
	h1 := ws.fc1[:b*m.fc1.Out()]
	m.fc1.Forward(ws.ops, h1, flat, b)
	ops.ReLU(h1)
	h2 := ws.fc2[:b*m.fc2.Out()]
	m.fc2.Forward(ws.ops, h2, h1, b)
	ops.ReLU(h2)
	m.fc3.Forward(ws.ops, out[lo*m.classes:(lo+b)*m.classes], h2, b)
}

// forwardPoolReLU runs the convolution on n images into conv, then the max pool p
// and ReLU into pooled, and returns the pooled activations.
func (c Conv) forwardPoolReLU(ws *ops.Workspace, conv, pooled, x []float32, n int, p ops.PoolShape) []float32 {
	s := c.shape
	s.N = n
	ops.Conv2D(ws, conv, x, s, c.weight, c.bias)
	p.N = n
	ops.MaxPool2DReLU(ws, pooled, conv, p)
	return pooled[:n*p.C*p.OH()*p.OW()]
}
