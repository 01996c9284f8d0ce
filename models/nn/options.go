package nn

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/lumen-ml/lumen/ops"
)

// Option configures how a model loads and runs; every model's Load and New take
// them. Model packages add their own (a typed WithTokenizer) on the same type.
type Option func(*Settings)

// Settings is what the options set.
type Settings struct {
	pool         *ops.Pool
	poolSet      bool
	Device       ops.Device // nil: the CPU
	TokenizerDir string     // "": the model directory
	Tokenizer    any        // a tokenizer already loaded, of the model's own type
	KeepHalf     bool
	Quantize     Quantization
	QAct         ops.QAct // how products with ggml-quantised weights treat the activations
	Compute      Compute
}

// Compute is the precision a model's matrix products run in.
type Compute int

const (
	// F32 multiplies in float32 (the default).
	F32 Compute = iota
	// BF16 rounds the Linear weights (at load) and their inputs (at each product) to
	// BF16 and multiplies them on the host's BF16 matrix units (AMX-BF16), summing in
	// float32; embeddings, layer norms, softmax, residuals and the attention products
	// stay F32. Refused, never emulated, on a host without them (ops.ErrNoBF16).
	BF16
)

func (c Compute) String() string {
	switch c {
	case F32:
		return "f32"
	case BF16:
		return "bf16"
	}
	return fmt.Sprintf("Compute(%d)", int(c))
}

// ParseCompute reads a --compute flag: "" or "f32", or "bf16".
func ParseCompute(s string) (Compute, error) {
	switch s {
	case "", "f32":
		return F32, nil
	case "bf16":
		return BF16, nil
	}
	return F32, fmt.Errorf("unknown compute precision %q (want f32 or bf16)", s)
}

// WithCompute runs the model's Linear products in c (F32, BF16).
func WithCompute(c Compute) Option { return func(s *Settings) { s.Compute = c } }

// Quantization says how a model stores and multiplies its Linear weights.
type Quantization int

const (
	// NoQuantization keeps the checkpoint's weights (F32, or F16/BF16 with
	// WithHalfWeights).
	NoQuantization Quantization = iota
	// Int8 quantises every Linear weight at load to int8 per output channel
	// (symmetric, F32 scales); each product quantises its input rows to 7 bits at
	// run time, sums in int32 and dequantises, adding the bias, in the same pass.
	// Embeddings, layer norms, softmax and the attention products stay F32. With
	// WithDevice, the device multiplies the dequantised weights in F32.
	Int8
)

func (q Quantization) String() string {
	switch q {
	case NoQuantization:
		return "none"
	case Int8:
		return "int8"
	}
	return fmt.Sprintf("Quantization(%d)", int(q))
}

// ParseQuantization reads a --quantize flag: "" or "none", or "int8".
func ParseQuantization(s string) (Quantization, error) {
	switch s {
	case "", "none":
		return NoQuantization, nil
	case "int8":
		return Int8, nil
	}
	return NoQuantization, fmt.Errorf("unknown quantization %q (want none or int8)", s)
}

// WithPool runs the model's parallel work on p, which any number of models may
// share; nil runs it on the calling goroutine. The default is ops.DefaultPool(),
// GOMAXPROCS threads for the whole process.
func WithPool(p *ops.Pool) Option { return func(s *Settings) { s.pool, s.poolSet = p, true } }

// WithDevice runs the matrix products on d (a GPU from ops/cuda): every weight
// matrix is uploaded once at load and stays resident; the rest runs on the CPU.
func WithDevice(d ops.Device) Option { return func(s *Settings) { s.Device = d } }

// WithTokenizerDir loads the tokenizer from dir instead of the model directory.
func WithTokenizerDir(dir string) Option { return func(s *Settings) { s.TokenizerDir = dir } }

// WithTokenizer gives the model a tokenizer already loaded; a model package wraps it
// with its own tokenizer type (gpt2.WithTokenizer, bert.WithTokenizer).
func WithTokenizer(t any) Option { return func(s *Settings) { s.Tokenizer = t } }

// WithHalfWeights keeps F16/BF16 checkpoint matrices in their type (half the bytes
// streamed per decoded token) instead of widening them to F32 at load. Computation
// is F32 either way.
func WithHalfWeights(on bool) Option { return func(s *Settings) { s.KeepHalf = on } }

// WithQuantization stores the Linear weights as q says (NoQuantization, Int8).
func WithQuantization(q Quantization) Option { return func(s *Settings) { s.Quantize = q } }

// WithQuantActivations chooses how a model with ggml-quantised weights (a GGUF file)
// multiplies them: ops.QActQ8 (the default, llama.cpp's 8-bit activation blocks) or
// ops.QActF32 (float32 activations, the weights widened block by block).
func WithQuantActivations(a ops.QAct) Option { return func(s *Settings) { s.QAct = a } }

// Apply returns the settings opts make.
func Apply(opts []Option) Settings {
	var s Settings
	for _, o := range opts {
		o(&s)
	}
	return s
}

// Pool returns the pool the model runs on.
func (s Settings) Pool() *ops.Pool {
	if !s.poolSet {
		return ops.DefaultPool()
	}
	return s.pool
}

// LoadTokenizer loads the tokenizer of a model loaded from dir: load(the
// WithTokenizerDir directory, or dir). It loads nothing (ok is false) when one was
// given with WithTokenizer, which the model's New takes through TokenizerFor. A model
// directory without tokenizer files is not an error (ok is false); a directory named
// with WithTokenizerDir must have them.
func LoadTokenizer[T any](s Settings, dir string, load func(string) (T, error)) (tok T, ok bool, err error) {
	if s.Tokenizer != nil {
		return tok, false, nil
	}
	tok, err = load(cmp.Or(s.TokenizerDir, dir))
	switch {
	case err == nil:
		return tok, true, nil
	case s.TokenizerDir != "":
		return tok, false, err
	}
	return tok, false, nil
}

// TokenizerFor returns the tokenizer given with WithTokenizer (the zero T when none
// was), after checking that it is a T and that the model's vocabulary of vocab ids
// has an embedding for every id it produces.
func TokenizerFor[T interface{ VocabSize() int }](s Settings, vocab int) (T, error) {
	var zero T
	if s.Tokenizer == nil {
		return zero, nil
	}
	t, ok := s.Tokenizer.(T)
	switch {
	case !ok:
		return zero, fmt.Errorf("WithTokenizer got a %T, want a %T", s.Tokenizer, zero)
	case t.VocabSize() > vocab:
		return zero, fmt.Errorf("the tokenizer has %d ids, the model's vocabulary %d", t.VocabSize(), vocab)
	}
	return t, nil
}

// Upload puts the packed matrices on the device given with WithDevice, if any.
func (s Settings) Upload(matrices ...*ops.PackedB) error {
	if s.Device == nil {
		return nil
	}
	return ops.UploadAll(s.Device, matrices...)
}

// Feature is an option with an effect that a model may not have.
type Feature int

// The features Settings.Refuse checks: each is in use when its option was given a
// value other than the default.
const (
	FeatureDevice           Feature = iota // WithDevice(non-nil)
	FeatureHalfWeights                     // WithHalfWeights(true)
	FeatureQuantization                    // WithQuantization(Int8)
	FeatureQuantActivations                // WithQuantActivations(other than QActQ8)
	FeatureTokenizer                       // WithTokenizer(non-nil), WithTokenizerDir(non-empty)
	FeatureCompute                         // WithCompute(BF16)
)

var featureNames = [...]string{"WithDevice", "WithHalfWeights", "WithQuantization", "WithQuantActivations", "WithTokenizer/WithTokenizerDir", "WithCompute"}

func (f Feature) String() string { return featureNames[f] }

// Refuse returns an error wrapping ErrOption for the first option in use that the
// model does not support, naming the model and what it does support, so that no
// option is ignored silently.
func (s Settings) Refuse(model string, supported ...Feature) error {
	used := map[Feature]bool{
		FeatureDevice: s.Device != nil, FeatureHalfWeights: s.KeepHalf, FeatureQuantization: s.Quantize != NoQuantization,
		FeatureQuantActivations: s.QAct != ops.QActQ8, FeatureTokenizer: s.Tokenizer != nil || s.TokenizerDir != "",
		FeatureCompute: s.Compute != F32,
	}
	for f := FeatureDevice; f <= FeatureCompute; f++ {
		if used[f] && !slices.Contains(supported, f) {
			names := []string{"WithPool"}
			for _, g := range supported {
				names = append(names, g.String())
			}
			return fmt.Errorf("%w: %s does not support %v (it takes %s)", ErrOption, model, f, strings.Join(names, ", "))
		}
	}
	switch {
	case s.Compute != F32 && s.Compute != BF16:
		return fmt.Errorf("%w: %s: unknown %v", ErrOption, model, s.Compute)
	case s.Compute == BF16 && (s.Quantize != NoQuantization || s.KeepHalf || s.Device != nil):
		return fmt.Errorf("%w: %s: WithCompute(BF16) stores its own weights; it excludes WithQuantization, WithHalfWeights and WithDevice", ErrOption, model)
	case s.Compute == BF16:
		if ok, why := ops.BF16Available(); !ok {
			return fmt.Errorf("%w: %s: %w: %s", ErrOption, model, ops.ErrNoBF16, why)
		}
	}
	return nil
}
