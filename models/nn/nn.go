// Package nn holds what every Lumen model is built from: a Builder that reads a
// checkpoint's weights by their Hugging Face names (in the spirit of candle's
// VarBuilder), and the modules those weights make — Linear, LayerNorm, Embedding —
// each named as in PyTorch and run on an ops.Workspace.
//
// A Builder checks every tensor's presence, shape and dtype, names the tensor and
// the file in its errors, tries the checkpoint's optional name prefixes
// ("transformer.", "bert.") and old aliases ("gamma"/"beta"), packs matrices for the
// kernels (keeping F16/BF16 storage when asked) and drops a packed tensor's file
// pages. Its first error sticks: a model reads all its weights, then asks Err once.
package nn

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/tensor"
)

// Options says how a checkpoint names and stores its tensors.
type Options struct {
	// Model prefixes error messages ("gpt2", "bert").
	Model string
	// Prefixes are tried, in order, before each name, then the bare name: a
	// checkpoint saved from a task model ("bert.", "transformer.") or the base model.
	Prefixes []string
	// Aliases maps a name's last component to older spellings that are tried too
	// (BERT's LayerNorm "weight" → "gamma", "bias" → "beta").
	Aliases map[string]string
	// KeepHalf keeps F16/BF16 matrices in their type when packing (half the bytes
	// decode streams) instead of widening them to F32.
	KeepHalf bool
	// Int8 quantises every matrix (Matrix, StackedMatrix) to int8 per output column
	// (ops.PackB with tensor.I8).
	Int8 bool
	// BF16 packs every matrix for BF16 compute (ops.PackBBF16).
	BF16 bool
}

// Builder reads weights under a name prefix. Sub makes builders for nested modules;
// they share the first error.
type Builder struct {
	src       safetensors.Source
	file      string // how errors name the checkpoint
	opt       *Options
	prefix    string
	err       *error
	checkOnly bool // Check's pass: headers only, getters return nil
}

// NewBuilder reads from src; file names it in error messages (a path, or a
// description such as "embedded lenet-mnist").
func NewBuilder(src safetensors.Source, file string, opt Options) *Builder {
	var err error
	return &Builder{src: src, file: file, opt: &opt, err: &err}
}

// Sub returns a builder for the module at prefix (formatted like fmt.Sprintf), e.g.
// b.Sub("h.%d", i) inside "transformer.".
func (b *Builder) Sub(format string, args ...any) *Builder {
	s := *b
	s.prefix = b.prefix + fmt.Sprintf(format, args...) + "."
	return &s
}

// Err returns the first error any builder sharing this one's root met.
func (b *Builder) Err() error { return *b.err }

// Check runs build on a builder that checks every tensor build asks for (presence,
// shape, dtype) from the checkpoint's header alone: its getters read no data and
// return nil. A model runs its weight reading through Check first, so that a
// checkpoint missing a tensor, or claiming a huge one where the config says
// otherwise, fails before anything proportional to it is read or allocated. Check
// returns that pass's first error; b is untouched.
func (b *Builder) Check(build func(*Builder)) error {
	var err error
	c := *b
	c.err, c.checkOnly = &err, true
	build(&c)
	return err
}

// fail records the first error, naming the model and the checkpoint.
func (b *Builder) fail(err error) {
	if *b.err == nil {
		*b.err = fmt.Errorf("%s: %s: %w", b.opt.Model, b.file, err)
	}
}

// Failf records an error about the checkpoint that only the model can see (a shape
// that matches no layout, a tied weight that differs).
func (b *Builder) Failf(format string, args ...any) { b.fail(fmt.Errorf(format, args...)) }

// resolve returns the stored name of name under the prefix: with each optional
// prefix, then bare, and with each alias of its last component.
func (b *Builder) resolve(name string) (string, bool) {
	full := b.prefix + name
	alts := []string{full}
	if dot := strings.LastIndexByte(full, '.'); dot >= 0 {
		if alias, ok := b.opt.Aliases[full[dot+1:]]; ok {
			alts = append(alts, full[:dot+1]+alias)
		}
	}
	for _, a := range alts {
		for _, p := range b.opt.Prefixes {
			if _, ok := b.src.Info(p + a); ok {
				return p + a, true
			}
		}
		if _, ok := b.src.Info(a); ok {
			return a, true
		}
	}
	return full, false
}

// Has reports whether the checkpoint holds name (under the prefix).
func (b *Builder) Has(name string) bool { _, ok := b.resolve(name); return ok }

// Shape returns name's stored shape, nil when absent.
func (b *Builder) Shape(name string) []int {
	full, _ := b.resolve(name)
	in, ok := b.src.Info(full)
	if !ok {
		return nil
	}
	return slices.Clone(in.Shape)
}

// Dim returns dimension i of name's stored shape, or -1 (any size, in a shape
// passed to the getters) when the tensor or the dimension is absent: the getter of
// the absent tensor then reports it missing.
func (b *Builder) Dim(name string, i int) int {
	if s := b.Shape(name); i < len(s) {
		return s[i]
	}
	return -1
}

// tensor returns name checked against shape (-1 matches any positive size).
func (b *Builder) tensor(name string, shape ...int) (*tensor.Tensor, string) {
	if b.Err() != nil {
		return nil, ""
	}
	full, _ := b.resolve(name) // unresolved: the plain name, reported as missing
	if b.checkOnly {
		if _, err := safetensors.CheckWeight(b.src, full, shape...); err != nil {
			b.fail(err)
		}
		return nil, ""
	}
	t, err := safetensors.Weight(b.src, full, shape...)
	if err != nil {
		b.fail(err)
		return nil, ""
	}
	return t, full
}

// F32 returns a copy of name as float32 (widened from F16/BF16) after checking its
// shape (-1 matches any positive size); the model owns it.
func (b *Builder) F32(name string, shape ...int) []float32 {
	t, full := b.tensor(name, shape...)
	if t == nil {
		return nil
	}
	f, err := t.ToFloat32()
	if err != nil {
		b.fail(fmt.Errorf("tensor %q: %w", full, err))
		return nil
	}
	v, _ := f.Float32s()
	return v
}

// evict drops name's file pages when the source can (a mapped file), so that peak
// memory at load stays near the packed weights' size.
func (b *Builder) evict(full string) {
	if e, ok := b.src.(interface{ Evict(string) error }); ok {
		_ = e.Evict(full)
	}
}

// Matrix packs the stored rows×cols matrix name as a GEMM right-hand operand:
// transposed (a PyTorch Linear weight [out, in] or an embedding table used as an LM
// head: op(B) is cols×rows) or as stored (GPT-2's Conv1D [in, out]). F16/BF16 stay
// half with KeepHalf; with Int8 every matrix is quantised. rows or cols may be -1
// (any size). The tensor's file pages are dropped afterwards.
func (b *Builder) Matrix(name string, transposed bool, rows, cols int) *ops.PackedB {
	t, full := b.tensor(name, rows, cols)
	if t == nil {
		return nil
	}
	defer b.evict(full)
	rows, cols = t.Shape()[0], t.Shape()[1]
	k, n := rows, cols
	if transposed {
		k, n = cols, rows
	}
	var pb *ops.PackedB
	var err error
	if !b.opt.Int8 && !b.opt.BF16 && b.opt.KeepHalf && (t.DType() == tensor.F16 || t.DType() == tensor.BF16) {
		bits, e := t.Uint16s() // aliasing the mapped file when aligned: no copy
		if e != nil {
			bits, e = t.Clone().Uint16s()
		}
		if e != nil {
			b.fail(fmt.Errorf("tensor %q: %w", full, e))
			return nil
		}
		pb, err = ops.PackBHalf(transposed, k, n, bits, cols, t.DType())
	} else {
		f, e := t.Float32s() // an F32 tensor aliasing the mapped file: packed in place
		if e != nil {
			if f = b.F32(name, rows, cols); f == nil {
				return nil
			}
		}
		pb, err = b.pack(transposed, k, n, f, cols)
	}
	if err != nil {
		b.fail(fmt.Errorf("packing %q: %w", full, err))
		return nil
	}
	return pb
}

// pack packs a matrix of F32 values as the options say.
func (b *Builder) pack(transposed bool, k, n int, f []float32, ld int) (*ops.PackedB, error) {
	if b.opt.BF16 {
		return ops.PackBBF16(transposed, k, n, f, ld)
	}
	return ops.PackB(transposed, k, n, f, ld, b.packType())
}

// packType is the storage of the matrices packed from F32 values: I8 with Int8.
func (b *Builder) packType() tensor.DType {
	if b.opt.Int8 {
		return tensor.I8
	}
	return tensor.F32
}

// StackedMatrix packs several PyTorch Linear weights [outs[i], in] stacked along
// their output dimension into one transposed operand, so one product computes all
// of them (BERT's query, key and value: one GEMM instead of three).
func (b *Builder) StackedMatrix(names []string, outs []int, in int) *ops.PackedB {
	var stacked []float32
	total := 0
	for i, name := range names {
		stacked = append(stacked, b.F32(name, outs[i], in)...)
		total += outs[i]
	}
	if b.Err() != nil || b.checkOnly {
		return nil
	}
	for _, name := range names {
		full, _ := b.resolve(name)
		b.evict(full)
	}
	pb, err := b.pack(true, in, total, stacked, in)
	if err != nil {
		b.fail(fmt.Errorf("packing %s: %w", strings.Join(names, "+"), err))
	}
	return pb
}
