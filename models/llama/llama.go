// Package llama runs Llama-family decoders (Llama, SmolLM, Mistral-style models,
// and Qwen2: Llama with biases on q, k and v) from llama.cpp's GGUF files or Hugging
// Face safetensors directories, with a KV cache, top to bottom:
//
//	tokens ─ token_embd ─┬─ blk × block_count ─ output_norm ─ output (or token_embdᵀ) ─ logits
//	                     blk:  x += attn_output(attention(rope(attn_q(n)), rope(attn_k(n)), attn_v(n)))   n = attn_norm(x)
//	                           x += ffn_down(silu(ffn_gate(n)) · ffn_up(n))                               n = ffn_norm(x)
//
// The norms are RMSNorm, the attention is grouped-query (head_count query heads
// share head_count_kv key/value heads) with rotary position embeddings, the MLP is
// SwiGLU. The types follow llama.cpp's tensor names (the GGUF checkpoint's), one
// struct per module as transformers' LlamaForCausalLM has them. The weights stay in
// the file's blocks, memory-mapped, and are multiplied where they lie (ops.QLinear);
// a loaded Model is immutable and may be shared by any number of goroutines, each
// with its own State. Generation runs on the decode core GPT-2 shares
// (models/decode: State, and Batcher for continuous batching, batch.go).
package llama

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"iter"
	"math"

	"github.com/lumen-ml/lumen/loader/gguf"
	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/tokenizer"
)

// ErrInput is wrapped by errors about requests the model cannot run; it wraps
// nn.ErrInput.
var ErrInput = fmt.Errorf("llama: %w", nn.ErrInput)

// ErrFormat is wrapped by errors about a file the model cannot be built from.
var ErrFormat = fmt.Errorf("llama: unsupported or inconsistent model file")

// Config is the architecture, from the GGUF metadata ({arch}.block_count and so on).
type Config struct {
	Arch          string  // general.architecture: llama, or qwen2 (Llama with biases on q, k, v)
	NLayer        int     // block_count
	NEmbd         int     // embedding_length
	NFF           int     // feed_forward_length
	NHead         int     // attention.head_count
	NHeadKV       int     // attention.head_count_kv (NHead when absent)
	HeadDim       int     // NEmbd / NHead
	RopeDim       int     // rope.dimension_count (HeadDim when absent)
	RopeTheta     float32 // rope.freq_base (10000 when absent)
	RopeScaling   RopeScaling
	QKVBias       bool    // attn_q, attn_k and attn_v have biases (Qwen2)
	RMSEps        float32 // attention.layer_norm_rms_epsilon
	ContextLength int     // context_length
	VocabSize     int     // the rows of token_embd
}

// RopeScaling stretches RoPE's wavelengths for contexts longer than training's:
// "linear" divides every frequency by Factor (rope.scaling.type linear); "llama3"
// divides the low frequencies by Factor, keeps the high ones and blends between
// (Llama 3.1's; transformers' rope_type llama3); "" is none. A GGUF file gives
// Llama 3's as per-pair divisors (rope_freqs.weight) instead.
type RopeScaling struct {
	Type                          string
	Factor                        float64
	LowFreqFactor, HighFreqFactor float64 // llama3
	OriginalContext               int     // llama3: original_max_position_embeddings
}

// ropeFreqs returns the inverse frequencies of RoPE's pairs under the scaling
// (plain ones without), computed once at load rather than in every forward pass.
func (c Config) ropeFreqs() []float64 {
	sc := c.RopeScaling
	out := ops.RoPEFreqs(float64(c.RopeTheta), c.RopeDim)
	for i, f := range out {
		switch sc.Type {
		case "linear":
			f /= sc.Factor
		case "llama3":
			lowWave := float64(sc.OriginalContext) / sc.LowFreqFactor
			highWave := float64(sc.OriginalContext) / sc.HighFreqFactor
			switch wave := 2 * math.Pi / f; {
			case wave > lowWave:
				f /= sc.Factor
			case wave >= highWave:
				smooth := (float64(sc.OriginalContext)/wave - sc.LowFreqFactor) / (sc.HighFreqFactor - sc.LowFreqFactor)
				f = (1-smooth)*f/sc.Factor + smooth*f
			}
		}
		out[i] = f
	}
	return out
}

func (c Config) validate() error {
	if sc := c.RopeScaling; sc.Type != "" {
		switch {
		case sc.Type != "linear" && sc.Type != "llama3":
			return fmt.Errorf("RoPE scaling %q is not supported (linear, llama3 are)", sc.Type)
		case !(sc.Factor >= 1) || math.IsInf(sc.Factor, 0):
			return fmt.Errorf("RoPE scaling factor %v must be at least 1", sc.Factor)
		case sc.Type == "llama3" && !(sc.LowFreqFactor > 0 && sc.HighFreqFactor > sc.LowFreqFactor && sc.OriginalContext > 0 && !math.IsInf(sc.HighFreqFactor, 0)):
			return fmt.Errorf("llama3 RoPE scaling needs 0 < low_freq_factor %v < high_freq_factor %v and original_max_position_embeddings %d > 0",
				sc.LowFreqFactor, sc.HighFreqFactor, sc.OriginalContext)
		}
	}
	switch {
	case c.NLayer <= 0 || c.NEmbd <= 0 || c.NFF <= 0 || c.NHead <= 0 || c.NHeadKV <= 0 || c.ContextLength <= 0:
		return fmt.Errorf("block_count %d, embedding_length %d, feed_forward_length %d, head_count %d, head_count_kv %d and context_length %d must be positive",
			c.NLayer, c.NEmbd, c.NFF, c.NHead, c.NHeadKV, c.ContextLength)
	case c.NEmbd%c.NHead != 0 || c.NHead%c.NHeadKV != 0:
		return fmt.Errorf("embedding_length %d, head_count %d and head_count_kv %d do not divide", c.NEmbd, c.NHead, c.NHeadKV)
	case c.RopeDim <= 0 || c.RopeDim > c.HeadDim || c.RopeDim%2 != 0:
		return fmt.Errorf("rope.dimension_count %d for heads of %d", c.RopeDim, c.HeadDim)
	case !(c.RopeTheta > 0) || !(c.RMSEps > 0) || math.IsInf(float64(c.RopeTheta), 0):
		return fmt.Errorf("rope.freq_base %v and layer_norm_rms_epsilon %v must be positive", c.RopeTheta, c.RMSEps)
	}
	return nil
}

// Model is LlamaForCausalLM: the token embeddings, the blocks, the final norm and
// the LM head. It is immutable and safe for concurrent use.
type Model struct {
	cfg             Config
	tokenEmbd       *ops.QMatrix // token_embd: [vocab, n_embd]
	blk             []Block      // blk.N
	outputNorm      []float32    // output_norm: [n_embd]
	output          *ops.QMatrix // output: [vocab, n_embd], or token_embd when tied
	act             ops.QAct
	pool            *ops.Pool
	tok             *tokenizer.Tokenizer
	chat            *tokenizer.ChatTemplate // nil when the file has none
	bos, eos        int                     // -1 when the file names none
	addBOS          bool
	ropeInterleaved bool      // llama.cpp's rotation of pairs (GGUF's permuted q, k), or HF's of halves
	ropeFreqs       []float64 // [rope_dims/2] RoPE's inverse frequencies, scaled or not
	name            string    // the checkpoint, for errors
	closer          io.Closer // its file(s)
}

// Block is LlamaDecoderLayer: pre-norm attention and MLP, each added back.
type Block struct {
	attnNorm []float32 // attn_norm: [n_embd]
	attn     Attention
	ffnNorm  []float32 // ffn_norm: [n_embd]
	mlp      MLP
}

// Attention is LlamaAttention: q, k and v projections (k and v to the key/value
// heads), rotary embeddings on q and k, and the output projection.
type Attention struct {
	q, k, v             *ops.QMatrix // attn_q: [n_embd, n_embd], attn_k, attn_v: [n_kv·head_dim, n_embd]
	qBias, kBias, vBias []float32    // attn_q.bias: [n_embd], attn_k.bias, attn_v.bias: [n_kv·head_dim]; nil but in Qwen2
	o                   *ops.QMatrix // attn_output: [n_embd, n_embd]
}

// MLP is LlamaMLP: down(silu(gate(x)) · up(x)).
type MLP struct {
	gate, up *ops.QMatrix // ffn_gate, ffn_up: [n_ff, n_embd]
	down     *ops.QMatrix // ffn_down: [n_embd, n_ff]
}

// Option configures LoadGGUF and Load: nn.WithPool, nn.WithQuantActivations.
type Option = nn.Option

// LoadGGUF opens a GGUF file (memory-mapped) and builds the model and its
// tokenizer from it. Close releases the file.
func LoadGGUF(path string, opts ...Option) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	m, err := New(f, opts...)
	if err != nil {
		f.Close()
		return nil, err
	}
	return m, nil
}

// New builds the model from an open GGUF file, which it then owns (Close closes it).
func New(f *gguf.File, opts ...Option) (*Model, error) {
	if err := nn.Apply(opts).Refuse("llama (GGUF: its own vocabulary)", nn.FeatureQuantActivations); err != nil {
		return nil, err
	}
	cfg, err := configFromGGUF(f)
	if err != nil {
		return nil, err
	}
	m, err := build(cfg, ggufSource{f}, true, opts)
	if err != nil {
		return nil, err
	}
	tok, err := ggufTokenizer(f)
	if err != nil {
		return nil, err
	}
	if err := m.setTokenizer(tok, "tokenizer.chat_template"); err != nil {
		return nil, err
	}
	m.closer = f
	return m, nil
}

// build reads the weights of cfg from src, under llama.cpp's tensor names;
// interleaved says how RoPE pairs q's and k's values.
func build(cfg Config, src source, interleaved bool, opts []Option) (*Model, error) {
	set := nn.Apply(opts)
	m := &Model{cfg: cfg, act: set.QAct, pool: set.Pool(), ropeInterleaved: interleaved, name: src.name(), bos: -1, eos: -1}
	r := &reader{src: src}
	E, KV := cfg.NEmbd, cfg.NHeadKV*cfg.HeadDim
	m.tokenEmbd = r.matrix("token_embd.weight", -1, E)
	if r.err == nil {
		m.cfg.VocabSize = m.tokenEmbd.Rows()
	}
	m.outputNorm = r.vector("output_norm.weight", E)
	m.ropeFreqs = cfg.ropeFreqs()
	if _, ok := src.tensor("rope_freqs.weight"); ok { // llama.cpp's Llama 3 scaling: a divisor per pair
		div := r.vector("rope_freqs.weight", cfg.RopeDim/2)
		m.ropeFreqs = ops.RoPEFreqs(float64(cfg.RopeTheta), cfg.RopeDim)
		for i, d := range div {
			if !(d > 0) {
				return nil, fmt.Errorf("%w: %s: rope_freqs.weight[%d] = %v is not positive", ErrFormat, src.name(), i, d)
			}
			m.ropeFreqs[i] /= float64(d)
		}
	}
	if _, ok := src.tensor("output.weight"); ok {
		m.output = r.matrix("output.weight", m.cfg.VocabSize, E)
	} else {
		m.output = m.tokenEmbd // tied
	}
	m.blk = make([]Block, cfg.NLayer)
	for l := range m.blk {
		b := &m.blk[l]
		p := fmt.Sprintf("blk.%d.", l)
		b.attnNorm = r.vector(p+"attn_norm.weight", E)
		b.attn.q = r.matrix(p+"attn_q.weight", E, E)
		b.attn.k = r.matrix(p+"attn_k.weight", KV, E)
		b.attn.v = r.matrix(p+"attn_v.weight", KV, E)
		b.attn.o = r.matrix(p+"attn_output.weight", E, E)
		if cfg.QKVBias {
			b.attn.qBias = r.vector(p+"attn_q.bias", E)
			b.attn.kBias = r.vector(p+"attn_k.bias", KV)
			b.attn.vBias = r.vector(p+"attn_v.bias", KV)
		}
		b.ffnNorm = r.vector(p+"ffn_norm.weight", E)
		b.mlp.gate = r.matrix(p+"ffn_gate.weight", cfg.NFF, E)
		b.mlp.up = r.matrix(p+"ffn_up.weight", cfg.NFF, E)
		b.mlp.down = r.matrix(p+"ffn_down.weight", E, cfg.NFF)
	}
	if r.err != nil {
		return nil, r.err
	}
	return m, nil
}

// Config returns the architecture.
func (m *Model) Config() Config { return m.cfg }

// Tokenizer returns the tokenizer built from the file's vocabulary.
func (m *Model) Tokenizer() *tokenizer.Tokenizer { return m.tok }

// TextTokenizer is Tokenizer (the server's Tokenizing interface).
func (m *Model) TextTokenizer() *tokenizer.Tokenizer { return m.tok }

// ChatTemplate returns the file's chat template (tokenizer.chat_template), or nil.
func (m *Model) ChatTemplate() *tokenizer.ChatTemplate { return m.chat }

// EOS is the end-of-sequence token id, or -1 when the file names none.
func (m *Model) EOS() int { return m.eos }

// ContextLength is the longest sequence the model was trained for.
func (m *Model) ContextLength() int { return m.cfg.ContextLength }

// WeightBytes is the size of the weights as stored.
func (m *Model) WeightBytes() int {
	n := m.tokenEmbd.Bytes() + 4*len(m.outputNorm)
	if m.output != m.tokenEmbd {
		n += m.output.Bytes()
	}
	for _, b := range m.blk {
		for _, w := range []*ops.QMatrix{b.attn.q, b.attn.k, b.attn.v, b.attn.o, b.mlp.gate, b.mlp.up, b.mlp.down} {
			n += w.Bytes()
		}
		n += 4 * (len(b.attnNorm) + len(b.ffnNorm))
	}
	return n
}

// Close releases the mapped file; the model must not be used after it.
func (m *Model) Close() error { return m.closer.Close() }

// source is a checkpoint's tensors, named and shaped as in GGUF (llama.cpp's names;
// dimensions innermost first).
type source interface {
	name() string
	tensor(name string) (qtensor, bool)
}

// qtensor is one tensor of a source: its type, ggml shape and data.
type qtensor struct {
	typ   ops.QType
	shape []int64
	data  []byte
	label string // its name in the checkpoint, for errors
	err   error  // why it cannot be read
}

// ggufSource is a GGUF file's tensors.
type ggufSource struct{ f *gguf.File }

func (g ggufSource) name() string { return g.f.Name() }

func (g ggufSource) tensor(name string) (qtensor, bool) {
	t, ok := g.f.Tensor(name)
	if !ok {
		return qtensor{}, false
	}
	data, _ := g.f.Data(name)
	return qtensor{typ: ops.QType(t.Type), shape: t.Shape, data: data, label: name}, true
}

// reader builds weights from a source, keeping the first error.
type reader struct {
	src source
	err error
}

// tensor looks name up; false after an earlier error or when it is missing.
func (r *reader) tensor(name string) (qtensor, bool) {
	if r.err != nil {
		return qtensor{}, false
	}
	t, ok := r.src.tensor(name)
	switch {
	case !ok:
		r.err = fmt.Errorf("%w: %s: missing tensor %q", ErrFormat, r.src.name(), cmp.Or(t.label, name))
	case t.err != nil:
		r.err, ok = fmt.Errorf("%w: %s: tensor %q: %w", ErrFormat, r.src.name(), t.label, t.err), false
	}
	return t, ok
}

// matrix wraps tensor name, which must be rows×cols (rows −1: any) in ggml's
// order [cols, rows].
func (r *reader) matrix(name string, rows, cols int) *ops.QMatrix {
	t, ok := r.tensor(name)
	if !ok {
		return nil
	}
	if len(t.shape) != 2 || t.shape[0] != int64(cols) || (rows >= 0 && t.shape[1] != int64(rows)) {
		r.err = fmt.Errorf("%w: %s: tensor %q has ggml shape %v, want [%d %d]", ErrFormat, r.src.name(), t.label, t.shape, cols, rows)
		return nil
	}
	if !t.typ.Supported() {
		r.err = fmt.Errorf("%w: %s: tensor %q is %v, which Lumen does not run (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K…Q6_K)", ErrFormat, r.src.name(), t.label, t.typ)
		return nil
	}
	m, err := ops.NewQMatrix(t.typ, int(t.shape[1]), cols, t.data)
	if err != nil {
		r.err = fmt.Errorf("%w: %s: tensor %q: %v", ErrFormat, r.src.name(), t.label, err)
	}
	return m
}

// vector reads a one-dimensional tensor of n values as float32.
func (r *reader) vector(name string, n int) []float32 {
	t, ok := r.tensor(name)
	if !ok {
		return nil
	}
	if len(t.shape) != 1 || t.shape[0] != int64(n) || !t.typ.Supported() {
		r.err = fmt.Errorf("%w: %s: tensor %q is %v %v, want %d values", ErrFormat, r.src.name(), t.label, t.typ, t.shape, n)
		return nil
	}
	out := make([]float32, n)
	if err := ops.Dequantize(t.typ, out, t.data); err != nil {
		r.err = fmt.Errorf("%w: %s: tensor %q: %v", ErrFormat, r.src.name(), t.label, err)
	}
	return out
}

// configFromGGUF reads the architecture's metadata.
func configFromGGUF(f *gguf.File) (Config, error) {
	var c Config
	fail := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: %s: %s", ErrFormat, f.Name(), fmt.Sprintf(format, args...))
	}
	v, ok := f.Metadata("general.architecture")
	arch, _ := v.Str()
	if !ok || arch == "" {
		return fail("no general.architecture")
	}
	if arch != "llama" && arch != "qwen2" {
		return fail("general.architecture %q is not supported (llama, qwen2 are)", arch)
	}
	c.Arch, c.QKVBias = arch, arch == "qwen2"
	integer := func(key string, dst *int, def int) error {
		v, ok := f.Metadata(arch + "." + key)
		if !ok {
			if def < 0 {
				return fmt.Errorf("%w: %s: missing %s.%s", ErrFormat, f.Name(), arch, key)
			}
			*dst = def
			return nil
		}
		n, ok := v.Int()
		if !ok || n <= 0 || n > 1<<30 {
			return fmt.Errorf("%w: %s: %s.%s = %v is not a positive integer", ErrFormat, f.Name(), arch, key, v.Any())
		}
		*dst = int(n)
		return nil
	}
	float := func(key string, dst *float32, def float32) error {
		v, ok := f.Metadata(arch + "." + key)
		if !ok {
			if def < 0 {
				return fmt.Errorf("%w: %s: missing %s.%s", ErrFormat, f.Name(), arch, key)
			}
			*dst = def
			return nil
		}
		x, ok := v.Float()
		if !ok {
			return fmt.Errorf("%w: %s: %s.%s = %v is not a number", ErrFormat, f.Name(), arch, key, v.Any())
		}
		*dst = float32(x)
		return nil
	}
	for _, err := range []error{
		integer("block_count", &c.NLayer, -1),
		integer("embedding_length", &c.NEmbd, -1),
		integer("feed_forward_length", &c.NFF, -1),
		integer("attention.head_count", &c.NHead, -1),
		integer("context_length", &c.ContextLength, -1),
		float("attention.layer_norm_rms_epsilon", &c.RMSEps, -1),
		float("rope.freq_base", &c.RopeTheta, 10000),
	} {
		if err != nil {
			return Config{}, err
		}
	}
	if err := integer("attention.head_count_kv", &c.NHeadKV, c.NHead); err != nil {
		return Config{}, err
	}
	if c.NHead > 0 {
		c.HeadDim = c.NEmbd / c.NHead
	}
	if err := integer("rope.dimension_count", &c.RopeDim, max(c.HeadDim, 1)); err != nil {
		return Config{}, err
	}
	if v, ok := f.Metadata(arch + ".rope.scaling.type"); ok {
		switch t, _ := v.Str(); t {
		case "none", "":
		case "linear":
			c.RopeScaling.Type = "linear"
			var factor float32
			if err := float("rope.scaling.factor", &factor, -1); err != nil {
				return Config{}, err
			}
			c.RopeScaling.Factor = float64(factor)
		default:
			return fail("%s.rope.scaling.type %v is not supported (linear is; Llama 3's comes as rope_freqs.weight)", arch, v.Any())
		}
	}
	if err := c.validate(); err != nil {
		return fail("%v", err)
	}
	return c, nil
}

// State is one sequence's run state (decode.State): its KV cache, Step(ctx, ids)
// → logits. It is not safe for concurrent use; the Model it came from is.
type State = decode.State

// NewState allocates a sequence of up to maxLen positions (at most ContextLength).
func (m *Model) NewState(maxLen int) (*State, error) { return decode.NewState(network{m}, maxLen) }

// network is the Model as the decode core runs it: decode.State for one sequence,
// decode.Batcher for many.
type network struct{ m *Model }

func (n network) Layout() (layers, width int) {
	return n.m.cfg.NLayer, n.m.cfg.NHeadKV * n.m.cfg.HeadDim
}
func (n network) VocabSize() int           { return n.m.cfg.VocabSize }
func (n network) ContextLength() int       { return n.m.cfg.ContextLength }
func (n network) EOS() int                 { return n.m.eos }
func (n network) InputError() error        { return ErrInput }
func (n network) Threads() int             { return n.m.pool.Threads() }
func (n network) NewRunner() decode.Runner { return &runner{m: n.m, ws: ops.NewWorkspace(n.m.pool)} }

// runner is the forward pass, as llama2.c's RunState: the scratch of a pass over M
// token rows (of one sequence or of several side by side), grown as needed.
type runner struct {
	m  *Model
	ws *ops.Workspace // the operators' scratch, on the model's pool

	x      []float32 // [M, n_embd] the residual stream
	h      []float32 // [M, n_embd] a sublayer's normalised input, then its output
	q      []float32 // [M, n_embd] queries (rotated)
	k, v   []float32 // [M, n_kv·head_dim] the new keys (rotated) and values, before the caches take them
	att    []float32 // [M, n_embd] attention output, heads side by side
	gate   []float32 // [M, n_ff] ffn_gate's output, then silu(gate)·up
	up     []float32 // [M, n_ff] ffn_up's output
	angles []float32 // [M, rope_dims] the rows' rotations (cos, sin per pair), for every head and layer
	last   []float32 // [S, n_embd] the rows that sample, then their output_norm
}

// ensure sizes the scratch for M rows, geometrically: batches change size every step.
func (r *runner) ensure(M int) {
	c := r.m.cfg
	if len(r.x) >= M*c.NEmbd {
		return
	}
	M = max(M, 2*len(r.x)/c.NEmbd)
	E, KV, F := M*c.NEmbd, M*c.NHeadKV*c.HeadDim, M*c.NFF
	r.x, r.h, r.q, r.att = make([]float32, E), make([]float32, E), make([]float32, E), make([]float32, E)
	r.k, r.v, r.gate, r.up = make([]float32, KV), make([]float32, KV), make([]float32, F), make([]float32, F)
	r.angles = make([]float32, M*c.RopeDim)
}

// Run is the network over the pass's rows, then output_norm and the LM head for
// the rows that sample.
func (r *runner) Run(p *decode.Pass, ids []int, logits []float32) {
	m, c := r.m, r.m.cfg
	T, E, F, KV := p.Rows, c.NEmbd, c.NFF, c.NHeadKV*c.HeadDim
	r.ensure(T)
	x, h, q, k, v, att := r.x[:T*E], r.h[:T*E], r.q[:T*E], r.k[:T*KV], r.v[:T*KV], r.att[:T*E]
	gate, up, angles := r.gate[:T*F], r.up[:T*F], r.angles[:T*c.RopeDim]
	for t, id := range ids {
		m.tokenEmbd.Row(id, x[t*E:(t+1)*E])
	}
	rope := ops.RoPEShape{HeadDim: c.HeadDim, Dims: c.RopeDim, Base: float64(c.RopeTheta), Interleaved: m.ropeInterleaved, Freqs: m.ropeFreqs}
	ops.RoPEAngles(angles, p.Pos, rope)
	qRope, kRope := rope, rope
	qRope.Heads, kRope.Heads = c.NHead, c.NHeadKV
	heads := decode.Heads{Heads: c.NHead, KVHeads: c.NHeadKV, HeadDim: c.HeadDim}
	for l := range m.blk {
		b := &m.blk[l]
		// x += attn_output(attention(rope(attn_q(n)), rope(attn_k(n)), attn_v(n)))
		ops.RMSNorm(h, x, T, E, b.attnNorm, c.RMSEps)
		ops.QLinear(r.ws, q, h, T, b.attn.q, m.act)
		ops.QLinear(r.ws, k, h, T, b.attn.k, m.act)
		ops.QLinear(r.ws, v, h, T, b.attn.v, m.act)
		if c.QKVBias {
			ops.AddBias(q, T, E, b.attn.qBias)
			ops.AddBias(k, T, KV, b.attn.kBias)
			ops.AddBias(v, T, KV, b.attn.vBias)
		}
		ops.RoPE(q, angles, qRope)
		ops.RoPE(k, angles, kRope)
		p.Attend(r.ws, l, heads, decode.Rows{Data: att, Stride: E}, decode.Rows{Data: q, Stride: E},
			decode.Rows{Data: k, Stride: KV}, decode.Rows{Data: v, Stride: KV})
		ops.QLinear(r.ws, h, att, T, b.attn.o, m.act)
		ops.Add(x, x, h)
		// x += ffn_down(silu(ffn_gate(n)) · ffn_up(n))
		ops.RMSNorm(h, x, T, E, b.ffnNorm, c.RMSEps)
		ops.QLinear(r.ws, gate, h, T, b.mlp.gate, m.act)
		ops.QLinear(r.ws, up, h, T, b.mlp.up, m.act)
		ops.SiLUMul(gate, up)
		ops.QLinear(r.ws, h, gate, T, b.mlp.down, m.act)
		ops.Add(x, x, h)
	}
	p.Advance()

	// output_norm and the LM head, for the last row of each segment that samples.
	r.last = p.GatherSamples(r.last, x, E)
	if S := len(r.last) / E; S > 0 {
		ops.RMSNorm(r.last, r.last, S, E, m.outputNorm, c.RMSEps)
		ops.QLinear(r.ws, logits[:S*c.VocabSize], r.last, S, m.output, m.act)
	}
}

// GenerateOptions controls generation (decode.Options; StopAtEOS stops at the
// file's end-of-sequence token).
type GenerateOptions = decode.Options

// Chunk is one step of GenerateText (decode.Chunk).
type Chunk = decode.Chunk

// Generate streams the new tokens after prompt (token ids, from Encode): (token,
// nil) per step; an error (bad input, cancelled ctx) is yielded as (-1, err) and
// ends the stream.
func (m *Model) Generate(ctx context.Context, prompt []int, opt GenerateOptions) iter.Seq2[int, error] {
	return decode.Generate(ctx, network{m}, prompt, opt)
}

// GenerateText streams the text generated after prompt, one Chunk per token, never
// splitting a UTF-8 character; special tokens are not written. It ends as
// Generate does, or just before the first of stop in the text.
func (m *Model) GenerateText(ctx context.Context, prompt []int, opt GenerateOptions, stop []string) iter.Seq2[Chunk, error] {
	return m.text(m.Generate(ctx, prompt, opt), stop)
}

// text turns a stream of token ids into GenerateText's chunks.
func (m *Model) text(tokens iter.Seq2[int, error], stop []string) iter.Seq2[Chunk, error] {
	if m.tok == nil {
		return func(yield func(Chunk, error) bool) { yield(Chunk{Token: -1}, m.noTokenizer()) }
	}
	return decode.Text(tokens, m.tok.NewStreamDecoder(true), stop)
}

// noTokenizer is the error of text requests to a model loaded without a tokenizer.
func (m *Model) noTokenizer() error {
	return fmt.Errorf("%w: %s has no tokenizer (tokenizer.json): it runs token ids only", ErrInput, m.name)
}

// Encode tokenizes a prompt, with the BOS token first where the file asks for it
// (tokenizer.ggml.add_bos_token). Special tokens in the text (a rendered chat
// template's) are matched as such.
func (m *Model) Encode(text string) ([]int, error) {
	if m.tok == nil {
		return nil, m.noTokenizer()
	}
	ids, err := m.tok.EncodeIDs(text, false)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	if m.addBOS && (len(ids) == 0 || ids[0] != m.bos) {
		ids = append([]int{m.bos}, ids...)
	}
	return ids, nil
}

// EncodeChat renders messages with the file's chat template (and the cue for the
// assistant's answer) and tokenizes the result.
func (m *Model) EncodeChat(messages []tokenizer.Message) ([]int, error) {
	if m.chat == nil {
		return nil, fmt.Errorf("%w: %s has no chat template", ErrInput, m.name)
	}
	text, err := m.chat.Render(messages, true)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	return m.Encode(text)
}
