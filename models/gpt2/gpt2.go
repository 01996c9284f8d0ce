// Package gpt2 runs GPT-2 language models from Hugging Face checkpoints (any size,
// F32, F16 or BF16 weights) with a KV cache, top to bottom:
//
//	tokens ─ wte + wpe ─┬─ block × n_layer ─ ln_f ─ LM head (wteᵀ) ─ logits
//	                    block:  x += c_proj(attention(ln_1(x)))      causal, KV-cached
//	                            x += c_proj(gelu_new(c_fc(ln_2(x))))
//
// Weights are packed once at load (GPT-2's Conv1D weights are [in, out]); a loaded
// Model is immutable and may be shared by any number of goroutines, each with its
// own State.
package gpt2

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/ops/asm"
	"github.com/lumen-ml/lumen/tensor"
)

// ErrInput is wrapped by errors about requests the model cannot run.
var ErrInput = errors.New("gpt2: invalid input")

// Config is the part of config.json the model uses.
type Config struct {
	NLayer       int     `json:"n_layer"`
	NHead        int     `json:"n_head"`
	NEmbd        int     `json:"n_embd"`
	NPositions   int     `json:"n_positions"`
	VocabSize    int     `json:"vocab_size"`
	NInner       *int    `json:"n_inner"`
	LayerNormEps float32 `json:"layer_norm_epsilon"`
	Activation   string  `json:"activation_function"`
	EOSTokenID   *int    `json:"eos_token_id"`
}

// Inner returns the MLP width (n_inner, or 4·n_embd when null).
func (c Config) Inner() int {
	if c.NInner != nil && *c.NInner > 0 {
		return *c.NInner
	}
	return 4 * c.NEmbd
}

func (c Config) validate() error {
	switch {
	case c.NLayer <= 0 || c.NHead <= 0 || c.NEmbd <= 0 || c.NPositions <= 0 || c.VocabSize <= 0:
		return fmt.Errorf("n_layer, n_head, n_embd, n_positions and vocab_size must be positive: %+v", c)
	case c.NEmbd%c.NHead != 0:
		return fmt.Errorf("n_embd %d is not a multiple of n_head %d", c.NEmbd, c.NHead)
	case c.Activation != "gelu_new" && c.Activation != "gelu" && c.Activation != "gelu_pytorch_tanh" && c.Activation != "relu":
		return fmt.Errorf("activation_function %q is not supported (gelu_new, gelu_pytorch_tanh, gelu, relu)", c.Activation)
	}
	return nil
}

// LoadConfig reads config.json.
func LoadConfig(path string) (Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("gpt2: %w", err)
	}
	c := Config{LayerNormEps: 1e-5, Activation: "gelu_new"}
	if err := json.Unmarshal(raw, &c); err != nil {
		return Config{}, fmt.Errorf("gpt2: %s: %w", path, err)
	}
	if err := c.validate(); err != nil {
		return Config{}, fmt.Errorf("gpt2: %s: %w", path, err)
	}
	return c, nil
}

type block struct {
	ln1g, ln1b, ln2g, ln2b          []float32
	attn, attnProj, fc, mlpProj     *ops.PackedB // Conv1D weights, [in, out]
	attnB, attnProjB, fcB, mlpProjB []float32
}

// Model is a loaded GPT-2. It is immutable and safe for concurrent use.
type Model struct {
	cfg        Config
	wpe        []float32 // [n_positions, n_embd]
	blocks     []block
	lnfg, lnfb []float32
	lmHead     *ops.PackedB // wteᵀ: n_embd × vocab; also the token embedding table
	pool       *ops.Pool
	tok        *Tokenizer // nil when the directory has no tokenizer files
}

// Option configures Load.
type Option func(*options)

type options struct {
	threads  int
	keepHalf bool
	tokDir   string
	tok      *Tokenizer
	device   ops.Device
}

// WithTokenizerDir loads the tokenizer from dir instead of the model directory.
func WithTokenizerDir(dir string) Option { return func(o *options) { o.tokDir = dir } }

// WithTokenizer gives the model a tokenizer already loaded (for example with
// LoadTokenizerFS from package assets); Load then reads none from disk.
func WithTokenizer(t *Tokenizer) Option { return func(o *options) { o.tok = t } }

// WithThreads sets the worker threads for the matrix products (default GOMAXPROCS).
func WithThreads(n int) Option { return func(o *options) { o.threads = n } }

// WithDevice runs the matrix products on d (a GPU from ops/cuda): every weight
// matrix is uploaded once at load and stays resident; layer norm, attention and the
// rest run on the CPU. Nil means the CPU.
func WithDevice(d ops.Device) Option { return func(o *options) { o.device = d } }

// WithHalfWeights keeps F16/BF16 checkpoint weights in their type for the matrix
// products (half the bytes streamed per decoded token) instead of widening them to
// F32 at load. Computation is F32 either way.
func WithHalfWeights(on bool) Option { return func(o *options) { o.keepHalf = on } }

// Load reads config.json, the weights (model.safetensors, sharded, or the only
// .safetensors file) and, when present, the tokenizer from dir (or from the
// directory given with WithTokenizerDir).
func Load(dir string, opts ...Option) (*Model, error) {
	cfg, err := LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	src, err := safetensors.OpenModel(dir)
	if err != nil {
		return nil, fmt.Errorf("gpt2: %w", err)
	}
	defer src.Close()
	m, err := New(cfg, src, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w (loading %s)", err, dir)
	}
	o := options{}
	for _, f := range opts {
		f(&o)
	}
	if o.tok != nil {
		return m, nil // New attached it
	}
	tokDir := cmp.Or(o.tokDir, dir)
	switch tok, err := LoadTokenizer(tokDir); {
	case err == nil:
		if err := m.setTokenizer(tok); err != nil {
			m.Close()
			return nil, fmt.Errorf("%w (loading %s)", err, tokDir)
		}
	case o.tokDir != "":
		m.Close()
		return nil, err
	}
	return m, nil
}

// setTokenizer attaches tok after checking that the model has an embedding for
// every id it produces.
func (m *Model) setTokenizer(tok *Tokenizer) error {
	if tok.VocabSize() > m.cfg.VocabSize {
		return fmt.Errorf("gpt2: the tokenizer has %d ids, the model's vocabulary %d", tok.VocabSize(), m.cfg.VocabSize)
	}
	m.tok = tok
	return nil
}

// New builds a model from cfg and a set of tensors in HF naming, with or without the
// "transformer." prefix; causal-mask buffers (attn.bias, attn.masked_bias) are
// ignored and lm_head.weight, when present, must be wte's tied copy.
func New(cfg Config, src safetensors.Source, opts ...Option) (*Model, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("gpt2: %w", err)
	}
	o := options{}
	for _, f := range opts {
		f(&o)
	}
	E, V, P, I := cfg.NEmbd, cfg.VocabSize, cfg.NPositions, cfg.Inner()
	w := &weights{src: src, keepHalf: o.keepHalf}
	m := &Model{cfg: cfg}
	m.lmHead = w.packed("wte.weight", true, V, E) // [V, E] read transposed: E × V
	m.wpe = w.f32("wpe.weight", P, E)
	for l := 0; l < cfg.NLayer; l++ {
		p := fmt.Sprintf("h.%d.", l)
		m.blocks = append(m.blocks, block{
			ln1g: w.f32(p+"ln_1.weight", E), ln1b: w.f32(p+"ln_1.bias", E),
			attn: w.packed(p+"attn.c_attn.weight", false, E, 3*E), attnB: w.f32(p+"attn.c_attn.bias", 3*E),
			attnProj: w.packed(p+"attn.c_proj.weight", false, E, E), attnProjB: w.f32(p+"attn.c_proj.bias", E),
			ln2g: w.f32(p+"ln_2.weight", E), ln2b: w.f32(p+"ln_2.bias", E),
			fc: w.packed(p+"mlp.c_fc.weight", false, E, I), fcB: w.f32(p+"mlp.c_fc.bias", I),
			mlpProj: w.packed(p+"mlp.c_proj.weight", false, I, E), mlpProjB: w.f32(p+"mlp.c_proj.bias", E),
		})
	}
	m.lnfg, m.lnfb = w.f32("ln_f.weight", E), w.f32("ln_f.bias", E)
	if w.err != nil {
		return nil, w.err
	}
	if in, ok := w.info("lm_head.weight"); ok && (len(in.Shape) != 2 || in.Shape[0] != V || in.Shape[1] != E) {
		return nil, fmt.Errorf("gpt2: tensor lm_head.weight has shape %v, want [%d %d] (tied to wte)", in.Shape, V, E)
	}
	if o.device != nil {
		if err := ops.UploadAll(o.device, m.matrices()...); err != nil {
			return nil, fmt.Errorf("gpt2: %w", err)
		}
	}
	if o.tok != nil {
		if err := m.setTokenizer(o.tok); err != nil {
			return nil, err
		}
	}
	m.pool = ops.NewPool(o.threads)
	return m, nil
}

// matrices lists every packed weight: the device uploads and releases them.
func (m *Model) matrices() []*ops.PackedB {
	out := []*ops.PackedB{m.lmHead}
	for _, b := range m.blocks {
		out = append(out, b.attn, b.attnProj, b.fc, b.mlpProj)
	}
	return out
}

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// Tokenizer returns the tokenizer loaded with the model, or nil.
func (m *Model) Tokenizer() *Tokenizer { return m.tok }

// WeightBytes returns the memory held by the model's weights.
func (m *Model) WeightBytes() int {
	n := m.lmHead.Bytes() + 4*(len(m.wpe)+len(m.lnfg)+len(m.lnfb))
	for _, b := range m.blocks {
		n += b.attn.Bytes() + b.attnProj.Bytes() + b.fc.Bytes() + b.mlpProj.Bytes()
		n += 4 * (len(b.ln1g) + len(b.ln1b) + len(b.ln2g) + len(b.ln2b) + len(b.attnB) + len(b.attnProjB) + len(b.fcB) + len(b.mlpProjB))
	}
	return n
}

// Close stops the model's worker threads and frees the weights' device copies.
func (m *Model) Close() {
	m.pool.Close()
	_ = ops.ReleaseAll(m.matrices()...)
}

// State is one request's KV cache and scratch memory: batch rows of up to maxLen
// positions. It is not safe for concurrent use; the Model it came from is.
type State struct {
	m      *Model
	batch  int
	maxLen int
	length int         // cache positions filled (the same for every row: left padding)
	k, v   [][]float32 // per layer: batch × maxLen × n_embd
	mask   []float32   // batch × maxLen additive key masks (0, or MaskValue at padding)
	pos    []int       // per row: position id of the next token
	real   []int       // per row: real (non-padding) tokens seen

	attnPool                   *ops.Pool // single-threaded context for the per-head products
	x, h, qkv, att, mlp, probs []float32
	tokT                       int // tokens per row the scratch is sized for
}

// NewState allocates the cache and scratch for batch rows of up to maxLen positions
// (at most n_positions).
func (m *Model) NewState(batch, maxLen int) (*State, error) {
	if batch <= 0 || maxLen <= 0 || maxLen > m.cfg.NPositions {
		return nil, fmt.Errorf("%w: state for %d rows of %d positions (the model has %d)", ErrInput, batch, maxLen, m.cfg.NPositions)
	}
	E := m.cfg.NEmbd
	s := &State{m: m, batch: batch, maxLen: maxLen, attnPool: ops.NewPool(1),
		mask: make([]float32, batch*maxLen), pos: make([]int, batch), real: make([]int, batch)}
	for range m.blocks {
		s.k = append(s.k, make([]float32, batch*maxLen*E))
		s.v = append(s.v, make([]float32, batch*maxLen*E))
	}
	return s, nil
}

// Len returns the number of cached positions.
func (s *State) Len() int { return s.length }

// Reset empties the cache so the State can serve a new request.
func (s *State) Reset() {
	s.length = 0
	clear(s.pos)
	clear(s.real)
}

func (s *State) ensureScratch(T int) {
	if T <= s.tokT {
		return
	}
	cfg := s.m.cfg
	M := s.batch * T
	s.x = make([]float32, M*cfg.NEmbd)
	s.h = make([]float32, M*cfg.NEmbd)
	s.qkv = make([]float32, M*3*cfg.NEmbd)
	s.att = make([]float32, M*cfg.NEmbd)
	s.mlp = make([]float32, M*cfg.Inner())
	s.probs = make([]float32, T*s.maxLen)
	s.tokT = T
}

// Forward appends T tokens to every row (ids is batch×T, row-major) and returns the
// final hidden states after ln_f, batch×T×n_embd. valid (batch×T, or nil for all
// true) marks real tokens; false marks left padding, which later tokens do not attend
// to. Position ids follow HF: the count of real tokens before, and 1 for padding.
// The returned slice is the State's scratch: valid until the next call.
func (s *State) Forward(ids []int, valid []bool, T int) ([]float32, error) {
	cfg := s.m.cfg
	E, H := cfg.NEmbd, cfg.NHead
	D := E / H
	if T <= 0 || len(ids) != s.batch*T || (valid != nil && len(valid) != len(ids)) {
		return nil, fmt.Errorf("%w: %d ids (and %d flags) for %d rows of %d tokens", ErrInput, len(ids), len(valid), s.batch, T)
	}
	if s.length+T > s.maxLen {
		return nil, fmt.Errorf("%w: %d cached + %d new positions exceed the state's %d (n_positions %d)", ErrInput, s.length, T, s.maxLen, cfg.NPositions)
	}
	for _, id := range ids {
		if id < 0 || id >= cfg.VocabSize {
			return nil, fmt.Errorf("%w: token id %d outside the vocabulary [0, %d)", ErrInput, id, cfg.VocabSize)
		}
	}
	s.ensureScratch(T)
	M := s.batch * T
	x := s.x[:M*E]

	// Embeddings: wte[token] + wpe[position]; key masks for the new positions.
	for b := 0; b < s.batch; b++ {
		for t := 0; t < T; t++ {
			i := b*T + t
			real := valid == nil || valid[i]
			pos := 1 // HF's position id for padding
			maskv := float32(ops.MaskValue)
			if real {
				pos, maskv = s.real[b], 0
				s.real[b]++
			}
			if pos >= cfg.NPositions {
				return nil, fmt.Errorf("%w: position %d is past n_positions %d", ErrInput, pos, cfg.NPositions)
			}
			s.mask[b*s.maxLen+s.length+t] = maskv
			row := x[i*E : (i+1)*E]
			_ = s.m.lmHead.Column(ids[i], row)
			for j, pv := range s.m.wpe[pos*E : (pos+1)*E] {
				row[j] += pv
			}
		}
	}

	h, qkv, att, mlp := s.h[:M*E], s.qkv[:M*3*E], s.att[:M*E], s.mlp[:M*cfg.Inner()]
	p := s.m.pool
	scale := float32(1 / math.Sqrt(float64(D)))
	past, total := s.length, s.length+T
	for l, blk := range s.m.blocks {
		// x += c_proj(attention(ln_1(x)))
		must(ops.LayerNorm(h, x, M, E, blk.ln1g, blk.ln1b, cfg.LayerNormEps))
		must(ops.Linear(p, qkv, h, M, blk.attn, blk.attnB))
		kc, vc := s.k[l], s.v[l]
		for b := 0; b < s.batch; b++ {
			for t := 0; t < T; t++ {
				src := qkv[(b*T+t)*3*E:]
				dst := (b*s.maxLen + past + t) * E
				copy(kc[dst:dst+E], src[E:2*E])
				copy(vc[dst:dst+E], src[2*E:3*E])
			}
			keys := kc[b*s.maxLen*E:]
			vals := vc[b*s.maxLen*E:]
			probs := s.probs[:T*total]
			for hd := 0; hd < H; hd++ {
				q := qkv[b*T*3*E+hd*D:]
				must(ops.AttentionScores(s.attnPool, probs, q, 3*E, keys[hd*D:], E, T, total, D, scale, true, past, s.mask[b*s.maxLen:b*s.maxLen+total]))
				must(ops.Softmax(probs, T, total))
				must(ops.Sgemm(s.attnPool, false, false, T, D, total, 1, probs, total, vals[hd*D:], E, 0, att[b*T*E+hd*D:], E))
			}
		}
		must(ops.Linear(p, h, att, M, blk.attnProj, blk.attnProjB))
		must(ops.Add(x, x, h))
		// x += c_proj(act(c_fc(ln_2(x))))
		must(ops.LayerNorm(h, x, M, E, blk.ln2g, blk.ln2b, cfg.LayerNormEps))
		must(ops.Linear(p, mlp, h, M, blk.fc, blk.fcB))
		switch cfg.Activation {
		case "gelu_new", "gelu_pytorch_tanh":
			ops.GELUTanh(mlp)
		case "gelu":
			ops.GELUErf(mlp)
		case "relu":
			ops.ReLU(mlp)
		}
		must(ops.Linear(p, h, mlp, M, blk.mlpProj, blk.mlpProjB))
		must(ops.Add(x, x, h))
	}
	s.length += T
	must(ops.LayerNorm(h, x, M, E, s.m.lnfg, s.m.lnfb, cfg.LayerNormEps))
	return h, nil
}

// Logits computes the LM-head logits of the given rows of hidden (each n_embd wide)
// into dst (len(rows) × vocab).
func (s *State) Logits(dst, hidden []float32, rows int) error {
	V, E := s.m.cfg.VocabSize, s.m.cfg.NEmbd
	if len(hidden) < rows*E || len(dst) < rows*V {
		return fmt.Errorf("%w: logits of %d rows need %d hidden values and %d outputs", ErrInput, rows, rows*E, rows*V)
	}
	return ops.SgemmPacked(s.m.pool, false, rows, 1, hidden, E, s.m.lmHead, 0, dst, V)
}

func must(err error) {
	if err != nil {
		panic("gpt2: internal error: " + err.Error())
	}
}

// weights reads tensors by HF name (with or without "transformer."), checking shapes.
type weights struct {
	src      safetensors.Source
	keepHalf bool
	err      error
}

func (w *weights) info(name string) (safetensors.Info, bool) {
	if in, ok := w.src.Info("transformer." + name); ok {
		return in, true
	}
	return w.src.Info(name)
}

// get returns the weight name, with or without the "transformer." prefix, checked
// against shape; it also returns the stored name.
func (w *weights) get(name string, shape ...int) (*tensor.Tensor, string) {
	if w.err != nil {
		return nil, ""
	}
	full := name
	if _, ok := w.src.Info("transformer." + name); ok {
		full = "transformer." + name
	}
	t, err := safetensors.Weight(w.src, full, shape...)
	if err != nil {
		w.err = fmt.Errorf("gpt2: %w", err)
		return nil, ""
	}
	return t, full
}

// evict drops a packed tensor's file pages from memory when the source allows it,
// so peak memory at load stays near the packed weights' size.
func (w *weights) evict(name string) {
	if e, ok := w.src.(interface{ Evict(string) error }); ok {
		_ = e.Evict(name)
	}
}

// f32 returns a tensor widened to float32.
func (w *weights) f32(name string, shape ...int) []float32 {
	t, full := w.get(name, shape...)
	if t == nil {
		return nil
	}
	f, err := t.ToFloat32()
	if err != nil {
		w.err = fmt.Errorf("gpt2: tensor %q: %w", full, err)
		return nil
	}
	v, _ := f.Float32s()
	return v
}

// packed returns a stored rows×cols weight packed as a GEMM B operand: read directly
// (GPT-2's Conv1D [in, out]) or transposed (an embedding [vocab, n_embd] used as the
// LM head). F16/BF16 weights stay half when keepHalf is set.
func (w *weights) packed(name string, transposed bool, rows, cols int) *ops.PackedB {
	t, full := w.get(name, rows, cols)
	if t == nil {
		return nil
	}
	k, n := rows, cols
	if transposed {
		k, n = cols, rows
	}
	defer w.evict(full)
	var pb *ops.PackedB
	var err error
	if w.keepHalf && (t.DType() == tensor.F16 || t.DType() == tensor.BF16) {
		bits, e := t.Uint16s() // aliasing the mapped file when aligned: no copy
		if e != nil {
			if bits, e = t.Clone().Uint16s(); e != nil {
				w.err = fmt.Errorf("gpt2: tensor %q: %w", full, e)
				return nil
			}
		}
		pb, err = ops.PackBHalf(transposed, k, n, bits, cols, t.DType())
	} else {
		f, e := t.Float32s() // an F32 tensor aliasing the mapped file: pack it in place
		if e != nil {
			if f = w.f32(name, rows, cols); f == nil {
				return nil
			}
		}
		pb, err = ops.PackB(transposed, k, n, f, cols, asm.WeightF32)
	}
	if err != nil {
		w.err = fmt.Errorf("gpt2: packing %q: %w", full, err)
		return nil
	}
	return pb
}
