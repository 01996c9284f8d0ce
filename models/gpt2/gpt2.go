// Package gpt2 runs GPT-2 language models from Hugging Face checkpoints (any size,
// F32, F16 or BF16 weights) with a KV cache, top to bottom:
//
//	tokens ─ wte + wpe ─┬─ h × n_layer ─ ln_f ─ lm_head (wteᵀ) ─ logits
//	                    h:  x += attn.c_proj(attention(attn.c_attn(ln_1(x))))   causal, KV-cached
//	                        x += mlp.c_proj(act(mlp.c_fc(ln_2(x))))
//
// The types follow transformers' modeling_gpt2.py one to one (GPT2LMHeadModel,
// GPT2Block, GPT2Attention, GPT2MLP) and their fields the checkpoint's names. Weights
// are packed once at load (GPT-2's Conv1D weights are [in, out]); a loaded Model is
// immutable and may be shared by any number of goroutines, each with its own State.
// Generation runs on the decode core (models/decode) that Llama shares: its State
// for one sequence, its Batcher (batch.go) for concurrent requests with continuous
// batching; the model supplies its forward pass (runner) and nothing else.
package gpt2

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/tokenizer"
)

// ErrInput is wrapped by errors about requests the model cannot run; it wraps
// nn.ErrInput.
var ErrInput = fmt.Errorf("gpt2: %w", nn.ErrInput)

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
		return fmt.Errorf("n_layer (%d), n_head (%d), n_embd (%d), n_positions (%d) and vocab_size (%d) must be positive",
			c.NLayer, c.NHead, c.NEmbd, c.NPositions, c.VocabSize)
	case c.NInner != nil && *c.NInner < 0:
		return fmt.Errorf("n_inner must be positive or null, got %d", *c.NInner)
	case c.NEmbd%c.NHead != 0:
		return fmt.Errorf("n_embd %d is not a multiple of n_head %d", c.NEmbd, c.NHead)
	case !(c.LayerNormEps > 0) || math.IsInf(float64(c.LayerNormEps), 0):
		return fmt.Errorf("layer_norm_epsilon must be positive and finite, got %v", c.LayerNormEps)
	case c.EOSTokenID != nil && (*c.EOSTokenID < 0 || *c.EOSTokenID >= c.VocabSize):
		return fmt.Errorf("eos_token_id %d is outside the vocabulary [0, %d)", *c.EOSTokenID, c.VocabSize)
	}
	_, err := nn.ParseActivation(c.Activation)
	return err
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

// Model is GPT2LMHeadModel: the transformer (wte, wpe, h, ln_f) and the LM head,
// tied to wte. It is immutable and safe for concurrent use.
type Model struct {
	cfg Config
	act nn.Activation
	wte *ops.PackedB // [vocab, n_embd] packed transposed: the LM head, and the token embeddings (Column)
	// tokens is wte as stored, [vocab, n_embd], kept beside an int8 LM head so that
	// the embeddings stay exact; empty otherwise.
	tokens nn.Embedding
	quant  nn.Quantization
	wpe    nn.Embedding // [n_positions, n_embd]
	h      []Block      // n_layer
	lnF    nn.LayerNorm // ln_f
	pool   *ops.Pool
	tok    *Tokenizer // nil when the directory has no tokenizer files
}

// Block is GPT2Block (modeling_gpt2.py): pre-norm attention and MLP, each added back.
type Block struct {
	ln1  nn.LayerNorm  // ln_1
	attn SelfAttention // attn
	ln2  nn.LayerNorm  // ln_2
	mlp  MLP           // mlp
}

// SelfAttention is GPT2Attention: c_attn projects to q, k and v at once; c_proj
// mixes the heads.
type SelfAttention struct {
	heads int       // n_head
	cAttn nn.Linear // c_attn: n_embd → 3·n_embd (Conv1D)
	cProj nn.Linear // c_proj: n_embd → n_embd
}

// MLP is GPT2MLP: c_fc widens, the activation, c_proj narrows.
type MLP struct {
	cFc   nn.Linear // c_fc: n_embd → inner
	cProj nn.Linear // c_proj: inner → n_embd
}

// Option configures Load and New: nn.WithPool, nn.WithDevice, nn.WithTokenizerDir,
// nn.WithHalfWeights, nn.WithQuantization, WithTokenizer.
type Option = nn.Option

// WithTokenizer gives the model a tokenizer already loaded (for example with
// LoadTokenizerFS from package assets); Load then reads none from disk.
func WithTokenizer(t *Tokenizer) Option { return nn.WithTokenizer(t) }

// Load reads config.json, the weights (model.safetensors, sharded, or the only
// .safetensors file) and, when present, the tokenizer from dir (or from the
// directory given with nn.WithTokenizerDir).
func Load(dir string, opts ...Option) (*Model, error) {
	cfg, err := LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	set := nn.Apply(opts)
	tok, hasTok, err := nn.LoadTokenizer(set, dir, LoadTokenizer)
	if err != nil {
		return nil, fmt.Errorf("gpt2: %w", err)
	}
	src, err := safetensors.OpenModel(dir)
	if err != nil {
		return nil, fmt.Errorf("gpt2: %w", err)
	}
	defer src.Close()
	if hasTok {
		opts = append(opts, WithTokenizer(tok))
	}
	return New(cfg, src, dir, opts...)
}

// New builds a model from cfg and a set of tensors in HF naming, with or without the
// "transformer." prefix; causal-mask buffers (attn.bias, attn.masked_bias) are
// ignored and lm_head.weight, when present, must be wte's tied copy. file names the
// checkpoint in errors.
func New(cfg Config, src safetensors.Source, file string, opts ...Option) (*Model, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("gpt2: %w", err)
	}
	set := nn.Apply(opts)
	if err := set.Refuse("gpt2", nn.FeatureDevice, nn.FeatureHalfWeights, nn.FeatureQuantization, nn.FeatureTokenizer, nn.FeatureCompute); err != nil {
		return nil, err
	}
	E, V := cfg.NEmbd, cfg.VocabSize
	vb := nn.NewBuilder(src, file, nn.Options{Model: "gpt2", Prefixes: []string{"transformer."}, KeepHalf: set.KeepHalf, Int8: set.Quantize == nn.Int8, BF16: set.Compute == nn.BF16})
	m := &Model{cfg: cfg, pool: set.Pool(), quant: set.Quantize}
	m.act, _ = nn.ParseActivation(cfg.Activation) // validated
	// Every tensor's presence, shape and dtype first, from the header alone.
	if err := vb.Check(func(vb *nn.Builder) { (&Model{cfg: cfg, quant: m.quant}).readWeights(vb) }); err != nil {
		return nil, err
	}
	m.readWeights(vb)
	if s := vb.Shape("lm_head.weight"); s != nil && (len(s) != 2 || s[0] != V || s[1] != E) {
		vb.Failf("tensor lm_head.weight has shape %v, want [%d %d] (tied to wte)", s, V, E)
	}
	if err := vb.Err(); err != nil {
		return nil, err
	}
	var err error
	if m.tok, err = nn.TokenizerFor[*Tokenizer](set, V); err != nil {
		return nil, fmt.Errorf("gpt2: %s: %w", file, err)
	}
	if err := set.Upload(m.matrices()...); err != nil {
		return nil, fmt.Errorf("gpt2: %w", err)
	}
	return m, nil
}

// readWeights reads the checkpoint's tensors into m, as the config shapes them.
func (m *Model) readWeights(vb *nn.Builder) {
	cfg := m.cfg
	E, V, P, I := cfg.NEmbd, cfg.VocabSize, cfg.NPositions, cfg.Inner()
	if m.quant == nn.Int8 {
		m.tokens = vb.Embedding("wte", V, E)
	}
	m.wte = vb.Matrix("wte.weight", true, V, E)
	m.wpe = vb.Embedding("wpe", P, E)
	for l := 0; l < cfg.NLayer && vb.Err() == nil; l++ { // a missing layer stops the loop
		h := vb.Sub("h.%d", l)
		m.h = append(m.h, Block{
			ln1:  h.LayerNorm("ln_1", E, cfg.LayerNormEps),
			attn: SelfAttention{heads: cfg.NHead, cAttn: h.Conv1D("attn.c_attn", E, 3*E), cProj: h.Conv1D("attn.c_proj", E, E)},
			ln2:  h.LayerNorm("ln_2", E, cfg.LayerNormEps),
			mlp:  MLP{cFc: h.Conv1D("mlp.c_fc", E, I), cProj: h.Conv1D("mlp.c_proj", I, E)},
		})
	}
	m.lnF = vb.LayerNorm("ln_f", E, cfg.LayerNormEps)
}

// matrices lists every packed weight: the device uploads and releases them.
func (m *Model) matrices() []*ops.PackedB {
	out := []*ops.PackedB{m.wte}
	for _, b := range m.h {
		out = append(out, b.attn.cAttn.Weight, b.attn.cProj.Weight, b.mlp.cFc.Weight, b.mlp.cProj.Weight)
	}
	return out
}

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// Quantization returns how the model's matrices are stored (nn.WithQuantization).
func (m *Model) Quantization() nn.Quantization { return m.quant }

// Tokenizer returns the tokenizer loaded with the model, or nil.
func (m *Model) Tokenizer() *Tokenizer { return m.tok }

// TextTokenizer returns the engine behind the model's tokenizer (nil when it has
// none), for callers that speak package tokenizer.
func (m *Model) TextTokenizer() *tokenizer.Tokenizer {
	if m.tok == nil {
		return nil
	}
	return m.tok.Engine()
}

// Encode returns text's token ids with the model's tokenizer (an error wrapping
// ErrInput when the model was loaded without one).
func (m *Model) Encode(text string) ([]int, error) {
	if m.tok == nil {
		return nil, fmt.Errorf("%w: the model was loaded without a tokenizer", ErrInput)
	}
	return m.tok.Encode(text), nil
}

// ContextLength returns the most positions a prompt and its continuation may take
// (n_positions).
func (m *Model) ContextLength() int { return m.cfg.NPositions }

// WorkerPool returns the pool of threads the model runs its parallel work on.
func (m *Model) WorkerPool() *ops.Pool { return m.pool }

// WeightBytes returns the memory held by the model's weights.
func (m *Model) WeightBytes() int {
	n := m.wte.Bytes() + m.tokens.Bytes() + m.wpe.Bytes() + m.lnF.Bytes()
	for _, b := range m.h {
		n += b.ln1.Bytes() + b.attn.cAttn.Bytes() + b.attn.cProj.Bytes() + b.ln2.Bytes() + b.mlp.cFc.Bytes() + b.mlp.cProj.Bytes()
	}
	return n
}

// Close frees the weights' device copies. The pool is the caller's (or the
// process's) and stays running.
func (m *Model) Close() {
	_ = ops.ReleaseAll(m.matrices()...)
}

// State is a request's rows, left-padded as HF pads a batch: batch sequences of up
// to maxLen positions, each with its own KV cache and padding mask. It is not safe
// for concurrent use; the Model it came from is. (Model.Generate and the Batcher
// run the decode core's decode.State and decode.Batcher instead; State is the
// hidden-state API and GenerateBatch's static batch.)
type State struct {
	m      *Model
	ws     *ops.Workspace // the operators' scratch, on the model's pool
	batch  int
	maxLen int
	length int               // cache positions filled (the same for every row: left padding)
	caches []*decode.KVCache // [batch] keys and values, [n_layer][maxLen, n_embd]
	mask   []float32         // [batch, maxLen] additive key masks (0, or MaskValue at padding)
	real   []int             // [batch] real (non-padding) tokens seen
	act    activations       // for T new tokens per row: M = batch·T rows
	pass   decode.Pass       // the rows of the Forward in progress
}

// activations is the scratch of one forward pass over M token rows.
type activations struct {
	x   []float32 // [M, n_embd] the residual stream
	h   []float32 // [M, n_embd] normalised input of a sublayer, then its output
	qkv []float32 // [M, 3·n_embd] c_attn's output: q | k | v per row
	att []float32 // [M, n_embd] attention output, heads side by side
	mlp []float32 // [M, inner] c_fc's output
}

func (a *activations) ensure(cfg Config, M int) {
	if len(a.x) >= M*cfg.NEmbd {
		return
	}
	M = max(M, 2*len(a.x)/cfg.NEmbd) // grow geometrically: batches change size every step
	a.x = make([]float32, M*cfg.NEmbd)
	a.h = make([]float32, M*cfg.NEmbd)
	a.qkv = make([]float32, M*3*cfg.NEmbd)
	a.att = make([]float32, M*cfg.NEmbd)
	a.mlp = make([]float32, M*cfg.Inner())
}

// maxStateBytes bounds the cache a single State may ask for, so that an absurd
// request is an error rather than an allocation failure.
const maxStateBytes = 1 << 36

// NewState allocates the caches and scratch for batch rows of up to maxLen
// positions (at most n_positions).
func (m *Model) NewState(batch, maxLen int) (*State, error) {
	if batch <= 0 || maxLen <= 0 || maxLen > m.cfg.NPositions {
		return nil, fmt.Errorf("%w: state for %d rows of %d positions (the model has %d)", ErrInput, batch, maxLen, m.cfg.NPositions)
	}
	E := m.cfg.NEmbd
	if bytes := 8 * float64(batch) * float64(maxLen) * float64(E) * float64(len(m.h)); bytes > maxStateBytes {
		return nil, fmt.Errorf("%w: a KV cache for %d rows of %d positions needs %.0f bytes", ErrInput, batch, maxLen, bytes)
	}
	s := &State{m: m, ws: ops.NewWorkspace(m.pool), batch: batch, maxLen: maxLen,
		mask: make([]float32, batch*maxLen), real: make([]int, batch)}
	for range batch {
		s.caches = append(s.caches, decode.NewKVCache(len(m.h), E, maxLen))
	}
	return s, nil
}

// Len returns the number of cached positions.
func (s *State) Len() int { return s.length }

// Reset empties the cache so the State can serve a new request.
func (s *State) Reset() {
	s.length = 0
	for _, c := range s.caches {
		c.Len = 0
	}
	clear(s.real)
}

// Forward appends T tokens to every row (ids is batch×T, row-major) and returns the
// final hidden states after ln_f, batch×T×n_embd. valid (batch×T, or nil for all
// true) marks real tokens; false marks left padding, which later tokens do not attend
// to. Position ids follow HF: the count of real tokens before, and 1 for padding.
// The returned slice is the State's scratch: valid until the next call.
func (s *State) Forward(ids []int, valid []bool, T int) ([]float32, error) {
	cfg := s.m.cfg
	E := cfg.NEmbd
	if T <= 0 || len(ids) != s.batch*T || (valid != nil && len(valid) != len(ids)) {
		return nil, fmt.Errorf("%w: %d ids (and %d flags) for %d rows of %d tokens", ErrInput, len(ids), len(valid), s.batch, T)
	}
	if s.length+T > s.maxLen {
		return nil, fmt.Errorf("%w: %d cached + %d new positions exceed the state's %d (n_positions %d)", ErrInput, s.length, T, s.maxLen, cfg.NPositions)
	}
	if err := decode.CheckTokens(ErrInput, ids, cfg.VocabSize); err != nil {
		return nil, err
	}
	// Every row one segment; position ids and key masks for the new positions.
	p := &s.pass
	p.Reset()
	for b, c := range s.caches {
		p.Add(c, T, false)
		p.Segs[b].Mask = s.mask[b*s.maxLen : (b+1)*s.maxLen]
		for t := 0; t < T; t++ {
			i := b*T + t
			pos, maskv := 1, float32(ops.MaskValue) // HF's position id for padding
			if valid == nil || valid[i] {
				pos, maskv = s.real[b], 0
				s.real[b]++
			}
			if pos >= cfg.NPositions {
				return nil, fmt.Errorf("%w: position %d is past n_positions %d", ErrInput, pos, cfg.NPositions)
			}
			s.mask[b*s.maxLen+s.length+t] = maskv
			p.Pos[i] = pos
		}
	}
	M := s.batch * T
	x := s.m.forward(s.ws, &s.act, p, ids)
	s.length += T
	h := s.act.h[:M*E]
	s.m.lnF.Forward(h, x, M)
	return h, nil
}

// forward runs the transformer over the pass's rows (ids at the positions p.Pos),
// appending their keys and values to the pass's caches, and returns the residual
// stream after the last block (before ln_f), in a's scratch.
func (m *Model) forward(ws *ops.Workspace, a *activations, p *decode.Pass, ids []int) []float32 {
	E, M := m.cfg.NEmbd, p.Rows
	a.ensure(m.cfg, M)
	x := a.x[:M*E]
	for r, id := range ids {
		m.embed(x[r*E:(r+1)*E], id, p.Pos[r])
	}
	for l := range m.h {
		m.h[l].forward(ws, m.act, a, p, l)
	}
	p.Advance()
	return x
}

// embed writes wte[id] + wpe[pos] into row (n_embd wide).
func (m *Model) embed(row []float32, id, pos int) {
	if m.tokens.Weight != nil {
		copy(row, m.tokens.Row(id))
	} else {
		_ = m.wte.Column(id, row)
	}
	for j, pv := range m.wpe.Row(pos) {
		row[j] += pv
	}
}

// forward runs GPT2Block over the rows of a.x (updated in place), layer l of the
// model, attending to the rows' own caches. Every operation treats each row on its
// own and sums in a fixed order, so a row's result does not depend on the other rows:
// the continuous batcher relies on it.
func (blk *Block) forward(ws *ops.Workspace, act nn.Activation, a *activations, p *decode.Pass, l int) {
	E, M := len(blk.ln1.Weight), p.Rows
	H := blk.attn.heads
	I := blk.mlp.cFc.Weight.N()
	x, h, qkv, att, mlp := a.x[:M*E], a.h[:M*E], a.qkv[:M*3*E], a.att[:M*E], a.mlp[:M*I]

	// x += c_proj(attention(c_attn(ln_1(x))))
	blk.ln1.Forward(h, x, M)
	blk.attn.cAttn.Forward(ws, qkv, h, M)
	p.Attend(ws, l, decode.Heads{Heads: H, KVHeads: H, HeadDim: E / H}, decode.Rows{Data: att, Stride: E},
		decode.Rows{Data: qkv, Stride: 3 * E}, decode.Rows{Data: qkv[E:], Stride: 3 * E}, decode.Rows{Data: qkv[2*E:], Stride: 3 * E})
	blk.attn.cProj.Forward(ws, h, att, M)
	ops.Add(x, x, h)

	// x += c_proj(act(c_fc(ln_2(x))))
	blk.ln2.Forward(h, x, M)
	blk.mlp.cFc.Forward(ws, mlp, h, M)
	for r := 0; r < M; r++ { // row by row: the vector kernels' tails fall the same way for every M
		act.Forward(mlp[r*I : (r+1)*I])
	}
	blk.mlp.cProj.Forward(ws, h, mlp, M)
	ops.Add(x, x, h)
}

// Logits computes the LM-head logits of the given rows of hidden (each n_embd wide)
// into dst (len(rows) × vocab).
func (s *State) Logits(dst, hidden []float32, rows int) error {
	V, E := s.m.cfg.VocabSize, s.m.cfg.NEmbd
	if rows < 0 || len(hidden) < rows*E || len(dst) < rows*V {
		return fmt.Errorf("%w: logits of %d rows need %d hidden values and %d outputs", ErrInput, rows, rows*E, rows*V)
	}
	s.m.lmHead(s.ws, dst[:rows*V], hidden[:rows*E], rows)
	return nil
}

// lmHead computes the logits of rows hidden states after ln_f: wte, tied.
func (m *Model) lmHead(ws *ops.Workspace, dst, hidden []float32, rows int) {
	nn.Linear{Weight: m.wte}.Forward(ws, dst, hidden, rows)
}

// network is the Model as the decode core runs it.
type network struct{ m *Model }

func (n network) Layout() (layers, width int) { return n.m.cfg.NLayer, n.m.cfg.NEmbd }
func (n network) VocabSize() int              { return n.m.cfg.VocabSize }
func (n network) ContextLength() int          { return n.m.cfg.NPositions }
func (n network) EOS() int                    { return n.m.eos() }
func (n network) InputError() error           { return ErrInput }
func (n network) Threads() int                { return n.m.pool.Threads() }
func (n network) NewRunner() decode.Runner {
	return &runner{m: n.m, ws: ops.NewWorkspace(n.m.pool)}
}

// runner is a forward pass with its scratch: the decode core's Runner.
type runner struct {
	m    *Model
	ws   *ops.Workspace
	act  activations
	last []float32 // [samples, n_embd] the hidden states of the rows that sample, after ln_f
}

func (r *runner) Run(p *decode.Pass, ids []int, logits []float32) {
	E := r.m.cfg.NEmbd
	x := r.m.forward(r.ws, &r.act, p, ids)
	r.last = p.GatherSamples(r.last, x, E)
	if S := len(r.last) / E; S > 0 {
		r.m.lnF.Forward(r.last, r.last, S)
		r.m.lmHead(r.ws, logits[:S*r.m.cfg.VocabSize], r.last, S)
	}
}
