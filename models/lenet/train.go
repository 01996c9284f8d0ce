package lenet

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/ops/optim"
)

// Training: the same network as Model, forward and then backward by hand, layer by
// layer in reverse, on weights that an optimiser updates in place. No autograd: the
// backward pass below is the chain rule written out for this one network.

// Layout is a LeNet's architecture: conv1's padding, the channel and unit counts.
// Both convolutions use 5×5 kernels, and each is followed by a 2×2 max pool.
type Layout struct {
	Padding      int // conv1's zero padding: 0 (the shipped variant) or 2 (classic LeNet-5)
	Conv1, Conv2 int // output channels of conv1 and conv2 (6, 16)
	FC1, FC2     int // hidden units of fc1 and fc2 (120, 84)
	Classes      int // outputs of fc3 (10)
}

// Kernel is the side of both convolutions' kernels.
const Kernel = 5

// DefaultLayout is the shipped model's layout: conv1 unpadded, 6-16-120-84-10.
func DefaultLayout() Layout {
	return Layout{Padding: 0, Conv1: 6, Conv2: 16, FC1: 120, FC2: 84, Classes: 10}
}

// Check reports a layout no LeNet has.
func (l Layout) Check() error {
	if l.Padding != 0 && l.Padding != 2 {
		return fmt.Errorf("%w: conv1 padding %d: LeNet uses 0 or 2", ErrInput, l.Padding)
	}
	for _, v := range []int{l.Conv1, l.Conv2, l.FC1, l.FC2, l.Classes} {
		if v <= 0 || v > maxWidth {
			return fmt.Errorf("%w: layout %+v: every width must lie in [1, %d]", ErrInput, l, maxWidth)
		}
	}
	return nil
}

// spatial returns the side of conv1's output and of conv2's output.
func (l Layout) spatial() (s1, s2 int) {
	s1 = Side + 2*l.Padding - Kernel + 1
	return s1, s1/2 - Kernel + 1
}

// Flat is fc1's input width: conv2's channels × the second pool's output area.
func (l Layout) Flat() int {
	_, s2 := l.spatial()
	return l.Conv2 * (s2 / 2) * (s2 / 2)
}

// Layer is one layer's weight and bias in PyTorch's layout.
type Layer struct {
	Weight, Bias []float32
}

// Weights are a LeNet's parameters, named and laid out as in PyTorch's state dict:
// conv1.weight [Conv1, 1, 5, 5], conv2.weight [Conv2, Conv1, 5, 5], fc1.weight
// [FC1, Flat], fc2.weight [FC2, FC1], fc3.weight [Classes, FC2], and a bias per
// layer.
type Weights struct {
	Layout                      Layout
	Conv1, Conv2, FC1, FC2, FC3 Layer
}

// NewWeights returns zero weights for layout l.
func NewWeights(l Layout) (*Weights, error) {
	if err := l.Check(); err != nil {
		return nil, err
	}
	w := &Weights{Layout: l}
	for _, p := range w.tensors() {
		*p.data = make([]float32, p.len())
	}
	return w, nil
}

// tensorSpec names one parameter, its shape and where it lives.
type tensorSpec struct {
	name  string
	shape []int
	data  *[]float32
	fanIn int
}

func (t tensorSpec) len() int {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	return n
}

// tensors lists the parameters in the state dict's order.
func (w *Weights) tensors() []tensorSpec {
	l := w.Layout
	k2 := Kernel * Kernel
	return []tensorSpec{
		{"conv1.weight", []int{l.Conv1, 1, Kernel, Kernel}, &w.Conv1.Weight, k2},
		{"conv1.bias", []int{l.Conv1}, &w.Conv1.Bias, k2},
		{"conv2.weight", []int{l.Conv2, l.Conv1, Kernel, Kernel}, &w.Conv2.Weight, l.Conv1 * k2},
		{"conv2.bias", []int{l.Conv2}, &w.Conv2.Bias, l.Conv1 * k2},
		{"fc1.weight", []int{l.FC1, l.Flat()}, &w.FC1.Weight, l.Flat()},
		{"fc1.bias", []int{l.FC1}, &w.FC1.Bias, l.Flat()},
		{"fc2.weight", []int{l.FC2, l.FC1}, &w.FC2.Weight, l.FC1},
		{"fc2.bias", []int{l.FC2}, &w.FC2.Bias, l.FC1},
		{"fc3.weight", []int{l.Classes, l.FC2}, &w.FC3.Weight, l.FC2},
		{"fc3.bias", []int{l.Classes}, &w.FC3.Bias, l.FC2},
	}
}

// InitWeights returns weights for layout l initialised as PyTorch's Conv2d and Linear
// initialise themselves — weights Kaiming-uniform with a = √5, biases uniform, both
// within ±1/√fan_in — drawn from a PCG generator seeded with seed, tensor by tensor in
// the state dict's order. (The values are not PyTorch's, whose generator differs:
// write them out with Save and load them elsewhere for identical starting points.)
func InitWeights(l Layout, seed uint64) (*Weights, error) {
	w, err := NewWeights(l)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, 0x1e4e7))
	for _, p := range w.tensors() {
		// kaiming_uniform_(a=√5): gain √(2/(1+5)), bound gain·√(3/fan_in) = 1/√fan_in.
		bound := 1 / math.Sqrt(float64(p.fanIn))
		for i := range *p.data {
			(*p.data)[i] = float32(bound * (2*r.Float64() - 1))
		}
	}
	return w, nil
}

// Clone returns a deep copy.
func (w *Weights) Clone() *Weights {
	c := &Weights{Layout: w.Layout}
	src := w.tensors()
	for i, p := range c.tensors() {
		*p.data = append([]float32(nil), *src[i].data...)
	}
	return c
}

// Normalization is the affine map from pixels in [0, 1] to the network's input:
// (pixel/255 − Mean)/Std.
type Normalization struct {
	Mean, Std float64
}

// MNISTNormalization is the usual MNIST one (the training set's statistics).
var MNISTNormalization = Normalization{Mean: Mean, Std: Std}

// DataNormalization returns the mean and standard deviation of the pixels/255 of a
// training set, rounded to four decimals (which gives MNIST's 0.1307 and 0.3081).
func DataNormalization(pixels []uint8) (Normalization, error) {
	if len(pixels) == 0 {
		return Normalization{}, fmt.Errorf("%w: no pixels to take statistics of", ErrInput)
	}
	var sum, sq float64
	for _, p := range pixels {
		v := float64(p) / 255
		sum += v
		sq += v * v
	}
	n := float64(len(pixels))
	mean := sum / n
	std := math.Sqrt(max(0, sq/n-mean*mean))
	if std == 0 {
		return Normalization{}, fmt.Errorf("%w: every pixel is %v: no spread to normalise by", ErrInput, pixels[0])
	}
	return Normalization{Mean: math.Round(mean*1e4) / 1e4, Std: math.Round(std*1e4) / 1e4}, nil
}

// Check reports a normalisation no image data has: pixels/255 lie in [0, 1], so
// their mean does too and their standard deviation is at most 1 (and a std below
// 1e-4 would blow rounding up 10,000-fold).
func (n Normalization) Check() error {
	if !(n.Mean >= 0 && n.Mean <= 1 && n.Std >= 1e-4 && n.Std <= 1) {
		return fmt.Errorf("%w: normalisation mean %v, std %v: want a mean in [0, 1] and a std in [1e-4, 1] (statistics of pixels/255)", ErrInput, n.Mean, n.Std)
	}
	return nil
}

// Apply normalises 8-bit pixels into dst (len(dst) values).
func (n Normalization) Apply(dst []float32, pixels []uint8) {
	mean, std := float32(n.Mean), float32(n.Std)
	for i, p := range pixels[:len(dst)] {
		dst[i] = (float32(p)/255 - mean) / std
	}
}

// Shuffle returns the order in which epoch epoch visits n examples: a permutation
// drawn from a PCG generator seeded with (seed, epoch), so that a run is reproduced
// from its seed alone.
func Shuffle(n int, seed uint64, epoch int) []int {
	return rand.New(rand.NewPCG(seed, uint64(epoch))).Perm(n)
}

// Trainer runs training steps on a fixed maximum batch size. It updates the weights
// it was given in place and is not safe for concurrent use; after the first step of
// the largest batch a step allocates nothing.
type Trainer struct {
	w     *Weights
	grads *Weights // the gradient of the loss for every parameter, same layout
	opt   optim.Optimizer
	ws    *ops.Workspace
	batch int

	conv1, conv2 ops.ConvShape // for one image; N is set per step
	pool1, pool2 ops.PoolShape

	// Run state for a batch of B images, forward activations and their gradients.
	x      []float32 // [B, 1, 28, 28] a copy of the step's images (gathered by Step's order)
	c1     []float32 // [B, Conv1, S1, S1] conv1 output
	p1     []float32 // [B, Conv1, S1/2, S1/2] pool → ReLU
	c2     []float32 // [B, Conv2, S2, S2] conv2 output
	p2     []float32 // [B, Flat] pool → ReLU, flattened channel-major
	h1, h2 []float32 // [B, FC1], [B, FC2] after ReLU
	logits []float32 // [B, Classes]
	dc1    []float32 // [B, Conv1, S1, S1]
	dp1    []float32 // [B, Conv1, S1/2, S1/2]
	dc2    []float32 // [B, Conv2, S2, S2]
	dp2    []float32 // [B, Flat]
	dh1    []float32 // [B, FC1]
	dh2    []float32 // [B, FC2]
	dz     []float32 // [B, Classes]
	labels []int     // [B]
}

// NewTrainer prepares training of w (updated in place) in batches of at most batch
// images, with the optimiser newOpt makes over the parameters and their gradients
// (for example optim.NewSGD with a config). pool runs the products (nil: the caller
// alone).
func NewTrainer(w *Weights, batch int, newOpt func([]optim.Param) (optim.Optimizer, error), pool *ops.Pool) (*Trainer, error) {
	if err := w.Layout.Check(); err != nil {
		return nil, err
	}
	if batch <= 0 {
		return nil, fmt.Errorf("%w: batch size %d", ErrInput, batch)
	}
	grads, err := NewWeights(w.Layout)
	if err != nil {
		return nil, err
	}
	var params []optim.Param
	gs := grads.tensors()
	for i, p := range w.tensors() {
		if len(*p.data) != p.len() {
			return nil, fmt.Errorf("%w: %s has %d values, want %d for shape %v", ErrInput, p.name, len(*p.data), p.len(), p.shape)
		}
		params = append(params, optim.Param{Name: p.name, Value: *p.data, Grad: *gs[i].data})
	}
	opt, err := newOpt(params)
	if err != nil {
		return nil, err
	}
	l := w.Layout
	s1, s2 := l.spatial()
	t := &Trainer{w: w, grads: grads, opt: opt, ws: ops.NewWorkspace(pool), batch: batch,
		conv1: ops.ConvShape{N: 1, C: 1, H: Side, W: Side, OC: l.Conv1, KH: Kernel, KW: Kernel, Stride: 1, Padding: l.Padding},
		conv2: ops.ConvShape{N: 1, C: l.Conv1, H: s1 / 2, W: s1 / 2, OC: l.Conv2, KH: Kernel, KW: Kernel, Stride: 1},
		pool1: ops.PoolShape{N: 1, C: l.Conv1, H: s1, W: s1, K: 2, Stride: 2},
		pool2: ops.PoolShape{N: 1, C: l.Conv2, H: s2, W: s2, K: 2, Stride: 2},
	}
	b := batch
	t.x = make([]float32, b*Side*Side)
	t.c1, t.dc1 = make([]float32, b*l.Conv1*s1*s1), make([]float32, b*l.Conv1*s1*s1)
	t.p1, t.dp1 = make([]float32, b*l.Conv1*(s1/2)*(s1/2)), make([]float32, b*l.Conv1*(s1/2)*(s1/2))
	t.c2, t.dc2 = make([]float32, b*l.Conv2*s2*s2), make([]float32, b*l.Conv2*s2*s2)
	t.p2, t.dp2 = make([]float32, b*l.Flat()), make([]float32, b*l.Flat())
	t.h1, t.dh1 = make([]float32, b*l.FC1), make([]float32, b*l.FC1)
	t.h2, t.dh2 = make([]float32, b*l.FC2), make([]float32, b*l.FC2)
	t.logits, t.dz = make([]float32, b*l.Classes), make([]float32, b*l.Classes)
	t.labels = make([]int, b)
	return t, nil
}

// Weights returns the weights being trained (updated in place by every step).
func (t *Trainer) Weights() *Weights { return t.w }

// Gradients returns the gradients of the last step's loss (before its update).
func (t *Trainer) Gradients() *Weights { return t.grads }

// Step trains on the examples order[0:B] (B ≤ the trainer's batch) of a data set of
// normalised images (n×784 values) and labels: forward, the mean cross-entropy loss,
// backward, one optimiser update. It returns the loss before the update.
func (t *Trainer) Step(images []float32, labels []uint8, order []int) (float64, error) {
	b := len(order)
	if b == 0 || b > t.batch {
		return 0, fmt.Errorf("%w: a step of %d examples with a trainer made for at most %d", ErrInput, b, t.batch)
	}
	n := len(labels)
	if len(images) != n*Side*Side {
		return 0, fmt.Errorf("%w: %d image values for %d labels (want %d per image)", ErrInput, len(images), n, Side*Side)
	}
	for i, e := range order {
		if e < 0 || e >= n {
			return 0, fmt.Errorf("%w: example %d outside the data set of %d", ErrInput, e, n)
		}
		if int(labels[e]) >= t.w.Layout.Classes {
			return 0, fmt.Errorf("%w: example %d has label %d, the model has %d classes", ErrInput, e, labels[e], t.w.Layout.Classes)
		}
		t.labels[i] = int(labels[e])
		copy(t.x[i*Side*Side:(i+1)*Side*Side], images[e*Side*Side:(e+1)*Side*Side])
	}
	return t.step(b), nil
}

// step runs the first b images of t.x with labels t.labels.
func (t *Trainer) step(b int) float64 {
	w, g, ws, l := t.w, t.grads, t.ws, t.w.Layout
	c1s, c2s, p1s, p2s := t.conv1, t.conv2, t.pool1, t.pool2
	c1s.N, c2s.N, p1s.N, p2s.N = b, b, b, b
	fc1 := ops.LinearShape{Rows: b, In: l.Flat(), Out: l.FC1}
	fc2 := ops.LinearShape{Rows: b, In: l.FC1, Out: l.FC2}
	fc3 := ops.LinearShape{Rows: b, In: l.FC2, Out: l.Classes}
	x := t.x[:b*Side*Side]
	c1, p1 := t.c1[:b*len(t.c1)/t.batch], t.p1[:b*len(t.p1)/t.batch]
	c2, p2 := t.c2[:b*len(t.c2)/t.batch], t.p2[:b*len(t.p2)/t.batch]
	h1, h2, z := t.h1[:b*l.FC1], t.h2[:b*l.FC2], t.logits[:b*l.Classes]
	dc1, dp1 := t.dc1[:len(c1)], t.dp1[:len(p1)]
	dc2, dp2 := t.dc2[:len(c2)], t.dp2[:len(p2)]
	dh1, dh2, dz := t.dh1[:len(h1)], t.dh2[:len(h2)], t.dz[:len(z)]

	// Forward: conv1 → pool → ReLU → conv2 → pool → ReLU → fc1 → ReLU → fc2 → ReLU → fc3.
	ops.Conv2D(ws, c1, x, c1s, w.Conv1.Weight, w.Conv1.Bias)
	ops.MaxPool2DReLU(ws, p1, c1, p1s)
	ops.Conv2D(ws, c2, p1, c2s, w.Conv2.Weight, w.Conv2.Bias)
	ops.MaxPool2DReLU(ws, p2, c2, p2s)
	ops.LinearForward(ws, fc1, h1, p2, w.FC1.Weight, w.FC1.Bias)
	ops.ReLU(h1)
	ops.LinearForward(ws, fc2, h2, h1, w.FC2.Weight, w.FC2.Bias)
	ops.ReLU(h2)
	ops.LinearForward(ws, fc3, z, h2, w.FC3.Weight, w.FC3.Bias)
	loss := ops.CrossEntropy(dz, z, t.labels[:b], l.Classes)

	// Backward, the same layers in reverse.
	ops.LinearBackward(ws, fc3, dh2, h2, w.FC3.Weight, dz, ops.ParamGrads(g.FC3))
	ops.ReLUBackward(dh2, h2, dh2)
	ops.LinearBackward(ws, fc2, dh1, h1, w.FC2.Weight, dh2, ops.ParamGrads(g.FC2))
	ops.ReLUBackward(dh1, h1, dh1)
	ops.LinearBackward(ws, fc1, dp2, p2, w.FC1.Weight, dh1, ops.ParamGrads(g.FC1))
	ops.MaxPool2DReLUBackward(ws, dc2, c2, p2, dp2, p2s)
	ops.Conv2DBackward(ws, c2s, dp1, p1, w.Conv2.Weight, dc2, ops.ParamGrads(g.Conv2))
	ops.MaxPool2DReLUBackward(ws, dc1, c1, p1, dp1, p1s)
	ops.Conv2DBackward(ws, c1s, nil, x, w.Conv1.Weight, dc1, ops.ParamGrads(g.Conv1)) // the images need no gradient

	t.opt.Step()
	return loss
}

// EpochStats summarises one pass over a training set.
type EpochStats struct {
	Steps    int
	MeanLoss float64 // mean of the steps' losses, weighted by their batch sizes
}

// Epoch trains on every example once, in the given order (a permutation of the
// data set, e.g. from Shuffle), in batches of the trainer's size; the last batch may
// be smaller. onStep, when not nil, sees each step's index and loss. ctx is checked
// between steps.
func (t *Trainer) Epoch(ctx context.Context, images []float32, labels []uint8, order []int, onStep func(step int, loss float64)) (EpochStats, error) {
	var st EpochStats
	var sum float64
	for lo := 0; lo < len(order); lo += t.batch {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		batch := order[lo:min(lo+t.batch, len(order))]
		loss, err := t.Step(images, labels, batch)
		if err != nil {
			return st, err
		}
		sum += loss * float64(len(batch))
		if onStep != nil {
			onStep(st.Steps, loss)
		}
		st.Steps++
	}
	if len(order) > 0 {
		st.MeanLoss = sum / float64(len(order))
	}
	return st, nil
}
