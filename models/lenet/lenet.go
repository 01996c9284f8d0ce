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
// width must equal C2·S·S for the spatial size S that the padding produces.
package lenet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/ops"
)

// Image geometry and the normalisation LeNet was trained with.
const (
	Side = 28
	Mean = 0.1307
	Std  = 0.3081
)

// ErrInput is wrapped by errors about the images passed to the model.
var ErrInput = errors.New("lenet: invalid input")

// Model is a loaded LeNet. It is immutable and safe for concurrent use; Close releases
// its worker threads.
type Model struct {
	padding int // conv1 padding: 0 or 2

	conv1, conv2         ops.ConvShape // shapes for one image
	conv1W, conv1B       []float32
	conv2W, conv2B       []float32
	pool1Side, pool2Side int
	fc1, fc2, fc3        *ops.PackedB
	fc1B, fc2B, fc3B     []float32
	classes              int

	pool  *ops.Pool // splits batches across threads; nil runs them on the caller
	works sync.Pool // *workspace
}

// Option configures Load and New.
type Option func(*config)

type config struct{ threads int }

// WithThreads sets how many threads a batch is split over (default 1; 0 means GOMAXPROCS).
func WithThreads(n int) Option { return func(c *config) { c.threads = n } }

// Load reads a model from a .safetensors file or a directory holding one.
func Load(path string, opts ...Option) (*Model, error) {
	src, err := safetensors.OpenModel(path)
	if err != nil {
		return nil, fmt.Errorf("lenet: %w", err)
	}
	defer src.Close()
	m, err := New(src, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w (loading %s)", err, path)
	}
	return m, nil
}

// New builds a model from a set of tensors; the model copies what it needs, so src
// may be closed afterwards.
func New(src safetensors.Source, opts ...Option) (*Model, error) {
	cfg := config{threads: 1}
	for _, o := range opts {
		o(&cfg)
	}
	w := weights{src: src}
	m := &Model{}
	// conv1: [C1, 1, K, K]; conv2: [C2, C1, K2, K2].
	c1 := w.get("conv1.weight", -1, 1, -1, -1)
	c1b := w.get("conv1.bias", w.dim("conv1.weight", 0))
	c2 := w.get("conv2.weight", -1, w.dim("conv1.weight", 0), -1, -1)
	c2b := w.get("conv2.bias", w.dim("conv2.weight", 0))
	f1 := w.get("fc1.weight", -1, -1)
	f1b := w.get("fc1.bias", w.dim("fc1.weight", 0))
	f2 := w.get("fc2.weight", -1, w.dim("fc1.weight", 0))
	f2b := w.get("fc2.bias", w.dim("fc2.weight", 0))
	f3 := w.get("fc3.weight", -1, w.dim("fc2.weight", 0))
	f3b := w.get("fc3.bias", w.dim("fc3.weight", 0))
	if w.err != nil {
		return nil, w.err
	}
	C1, K1 := w.dim("conv1.weight", 0), w.dim("conv1.weight", 2)
	C2, K2 := w.dim("conv2.weight", 0), w.dim("conv2.weight", 2)
	if w.dim("conv1.weight", 3) != K1 || w.dim("conv2.weight", 3) != K2 {
		return nil, fmt.Errorf("lenet: conv1.weight %v / conv2.weight %v: square kernels expected", w.shape("conv1.weight"), w.shape("conv2.weight"))
	}
	flat := w.dim("fc1.weight", 1)
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
			m.padding, m.pool1Side, m.pool2Side = pad, p1, p2
			m.conv1 = ops.ConvShape{N: 1, C: 1, H: Side, W: Side, OC: C1, KH: K1, KW: K1, Stride: 1, Padding: pad}
			m.conv2 = ops.ConvShape{N: 1, C: C1, H: p1, W: p1, OC: C2, KH: K2, KW: K2, Stride: 1}
			break
		}
	}
	if m.padding < 0 {
		return nil, fmt.Errorf("lenet: fc1.weight %v: its input width %d matches no LeNet layout (%v)", w.shape("fc1.weight"), flat, tried)
	}
	m.conv1W, m.conv1B, m.conv2W, m.conv2B = c1, c1b, c2, c2b
	m.fc1B, m.fc2B, m.fc3B = f1b, f2b, f3b
	m.classes = w.dim("fc3.weight", 0)
	var err error
	pack := func(name string, v []float32) *ops.PackedB {
		out, in := w.dim(name, 0), w.dim(name, 1)
		pb, e := ops.PackB(true, in, out, v, in, 0)
		if e != nil && err == nil {
			err = fmt.Errorf("lenet: packing %s: %w", name, e)
		}
		return pb
	}
	m.fc1, m.fc2, m.fc3 = pack("fc1.weight", f1), pack("fc2.weight", f2), pack("fc3.weight", f3)
	if err != nil {
		return nil, err
	}
	if cfg.threads != 1 {
		m.pool = ops.NewPool(cfg.threads)
	}
	return m, nil
}

// Padding returns conv1's padding: 0 for the shipped variant, 2 for classic LeNet-5.
func (m *Model) Padding() int { return m.padding }

// Classes returns the number of output classes.
func (m *Model) Classes() int { return m.classes }

// Close stops the model's worker threads. The model still works afterwards, on the
// calling goroutine.
func (m *Model) Close() { m.pool.Close() }

// Preprocess normalises 8-bit pixels into dst (same length) as the model expects.
func Preprocess(dst []float32, pixels []uint8) {
	for i, p := range pixels[:len(dst)] {
		dst[i] = (float32(p)/255 - Mean) / Std
	}
}

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

// workspace holds one chunk's activations and a single-threaded GEMM context.
type workspace struct {
	gemm                       *ops.Pool
	col1, col2                 []float32
	conv1, pool1, conv2, pool2 []float32
	fc1, fc2                   []float32
}

func (m *Model) workspace() *workspace {
	if ws, ok := m.works.Get().(*workspace); ok {
		return ws
	}
	s1, s2 := m.conv1.OH(), m.conv2.OH()
	b := chunkSize
	return &workspace{
		gemm:  ops.NewPool(1),
		conv1: make([]float32, b*m.conv1.OC*s1*s1),
		pool1: make([]float32, b*m.conv1.OC*m.pool1Side*m.pool1Side),
		conv2: make([]float32, b*m.conv2.OC*s2*s2),
		pool2: make([]float32, b*m.fc1.K()),
		fc1:   make([]float32, b*m.fc1.N()),
		fc2:   make([]float32, b*m.fc2.N()),
	}
}

// forwardChunk runs images [c·chunkSize, …) of the batch through the network.
func (m *Model) forwardChunk(images, out []float32, c, n int) {
	ws := m.workspace()
	defer m.works.Put(ws)
	lo := c * chunkSize
	b := min(chunkSize, n-lo)
	x := images[lo*Side*Side : (lo+b)*Side*Side]
	p := ws.gemm

	// conv1 → 2×2 max pool → ReLU
	s := m.conv1
	s.N = b
	must(ops.Conv2D(p, ws.conv1, x, s, m.conv1W, m.conv1B))
	must(ops.MaxPool2DReLU(ws.pool1, ws.conv1, b, s.OC, s.OH(), s.OW(), 2, 2))
	pool1 := ws.pool1[:b*s.OC*m.pool1Side*m.pool1Side]

	// conv2 → 2×2 max pool → ReLU
	s = m.conv2
	s.N = b
	must(ops.Conv2D(p, ws.conv2, pool1, s, m.conv2W, m.conv2B))
	must(ops.MaxPool2DReLU(ws.pool2, ws.conv2, b, s.OC, s.OH(), s.OW(), 2, 2))
	flat := ws.pool2[:b*m.fc1.K()] // NCHW is already channel-major: flatten is free

	// fc1 → ReLU → fc2 → ReLU → fc3
	h1 := ws.fc1[:b*m.fc1.N()]
	must(ops.Linear(p, h1, flat, b, m.fc1, m.fc1B))
	ops.ReLU(h1)
	h2 := ws.fc2[:b*m.fc2.N()]
	must(ops.Linear(p, h2, h1, b, m.fc2, m.fc2B))
	ops.ReLU(h2)
	must(ops.Linear(p, out[lo*m.classes:(lo+b)*m.classes], h2, b, m.fc3, m.fc3B))
}

// must panics on an error that the loader's shape checks rule out.
func must(err error) {
	if err != nil {
		panic(fmt.Sprintf("lenet: internal error: %v", err))
	}
}
