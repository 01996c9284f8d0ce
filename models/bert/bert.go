// Package bert runs BERT-family encoders (BERT, MiniLM, sentence-transformers models)
// from Hugging Face checkpoints, top to bottom:
//
//	ids ─ word + position + token-type embeddings ─ LayerNorm
//	    ─ layer × N:  h = LN(h + Wo·attention(h, mask))      bidirectional, additive mask
//	                  h = LN(h + W2·gelu(W1·h))
//	    ─ last hidden state ─┬─ pooler: tanh(W·h[CLS])  ─ classification / next-sentence heads
//	                         ├─ question answering: start/end logits per token
//	                         ├─ masked LM: transform ─ tied decoder ─ vocabulary logits
//	                         └─ sentence embedding: mean or CLS pooling (+ L2 normalisation)
//
// Weights are packed once at load; a Model is immutable and safe for concurrent use.
package bert

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/ops/asm"
	"github.com/lumen-ml/lumen/tensor"
)

// ErrInput is wrapped by errors about requests the model cannot run.
var ErrInput = errors.New("bert: invalid input")

// Config is the part of config.json the model uses.
type Config struct {
	VocabSize         int               `json:"vocab_size"`
	Hidden            int               `json:"hidden_size"`
	Layers            int               `json:"num_hidden_layers"`
	Heads             int               `json:"num_attention_heads"`
	Intermediate      int               `json:"intermediate_size"`
	MaxPositions      int               `json:"max_position_embeddings"`
	TypeVocabSize     int               `json:"type_vocab_size"`
	LayerNormEps      float32           `json:"layer_norm_eps"`
	HiddenAct         string            `json:"hidden_act"`
	ID2Label          map[string]string `json:"id2label"`
	PositionEmbedding string            `json:"position_embedding_type"`
}

func (c Config) validate() error {
	switch {
	case c.VocabSize <= 0 || c.Hidden <= 0 || c.Layers <= 0 || c.Heads <= 0 || c.Intermediate <= 0 || c.MaxPositions <= 0:
		return fmt.Errorf("sizes must be positive: %+v", c)
	case c.Hidden%c.Heads != 0:
		return fmt.Errorf("hidden_size %d is not a multiple of num_attention_heads %d", c.Hidden, c.Heads)
	case c.HiddenAct != "gelu" && c.HiddenAct != "gelu_new" && c.HiddenAct != "relu" && c.HiddenAct != "gelu_pytorch_tanh":
		return fmt.Errorf("hidden_act %q is not supported", c.HiddenAct)
	case c.PositionEmbedding != "" && c.PositionEmbedding != "absolute":
		return fmt.Errorf("position_embedding_type %q is not supported", c.PositionEmbedding)
	}
	return nil
}

// LoadConfig reads config.json.
func LoadConfig(path string) (Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("bert: %w", err)
	}
	c := Config{LayerNormEps: 1e-12, HiddenAct: "gelu", TypeVocabSize: 2}
	if err := json.Unmarshal(raw, &c); err != nil {
		return Config{}, fmt.Errorf("bert: %s: %w", path, err)
	}
	if err := c.validate(); err != nil {
		return Config{}, fmt.Errorf("bert: %s: %w", path, err)
	}
	return c, nil
}

type layer struct {
	qkv, out, up, down     *ops.PackedB
	qkvB, outB, upB, downB []float32
	ln1g, ln1b, ln2g, ln2b []float32
}

// Pooling says how a sentence embedding is made from the last hidden state.
type Pooling struct {
	CLS       bool // take [CLS]'s vector instead of the mask-aware mean
	Normalize bool // L2-normalise the result
}

// Model is a loaded encoder with whichever heads its checkpoint has.
type Model struct {
	cfg                      Config
	wordEmb, posEmb, typeEmb []float32
	embLNg, embLNb           []float32
	layers                   []layer

	pooler                             *ops.PackedB // nil without a pooler
	poolerB                            []float32
	qa, cls, nsp                       *ops.PackedB // heads, nil when absent
	qaB, clsB, nspB                    []float32
	mlmDense, mlmDecoder               *ops.PackedB
	mlmDenseB, mlmLNg, mlmLNb, mlmBias []float32

	labels  []string
	pooling Pooling
	tok     *Tokenizer
	pool    *ops.Pool
}

// Option configures Load.
type Option func(*options)

type options struct {
	threads int
	tokDir  string
	tok     *Tokenizer
	device  ops.Device
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

// Load reads config.json, the weights, the tokenizer (vocab.txt or tokenizer.json) and
// any sentence-transformers pooling configuration (modules.json, 1_Pooling) from dir.
func Load(dir string, opts ...Option) (*Model, error) {
	cfg, err := LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	src, err := safetensors.OpenModel(dir)
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
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
	if o.tok == nil {
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
	}
	if m.pooling, err = loadPooling(dir); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// New builds a model from cfg and tensors in HF naming (with or without "bert.", old
// LayerNorm gamma/beta names accepted, buffers such as position_ids ignored). Heads
// are loaded when their tensors are present.
func New(cfg Config, src safetensors.Source, opts ...Option) (*Model, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	o := options{}
	for _, f := range opts {
		f(&o)
	}
	E, I, V := cfg.Hidden, cfg.Intermediate, cfg.VocabSize
	w := &weights{src: src}
	m := &Model{cfg: cfg}
	m.wordEmb = w.f32("embeddings.word_embeddings.weight", V, E)
	m.posEmb = w.f32("embeddings.position_embeddings.weight", cfg.MaxPositions, E)
	m.typeEmb = w.f32("embeddings.token_type_embeddings.weight", cfg.TypeVocabSize, E)
	m.embLNg, m.embLNb = w.ln("embeddings.LayerNorm", E)
	for l := 0; l < cfg.Layers; l++ {
		p := fmt.Sprintf("encoder.layer.%d.", l)
		var ly layer
		// Q, K and V stacked into one [3E, E] Linear weight: one GEMM instead of three.
		q, k, v := w.f32Mapped(p+"attention.self.query.weight", E, E), w.f32Mapped(p+"attention.self.key.weight", E, E), w.f32Mapped(p+"attention.self.value.weight", E, E)
		ly.qkv = w.pack(p+"attention.self.qkv", slices.Concat(q, k, v), 3*E, E)
		for _, n := range []string{"query", "key", "value"} {
			w.evict(p + "attention.self." + n + ".weight")
		}
		ly.qkvB = slices.Concat(w.f32(p+"attention.self.query.bias", E), w.f32(p+"attention.self.key.bias", E), w.f32(p+"attention.self.value.bias", E))
		ly.out, ly.outB = w.linear(p+"attention.output.dense", E, E)
		ly.ln1g, ly.ln1b = w.ln(p+"attention.output.LayerNorm", E)
		ly.up, ly.upB = w.linear(p+"intermediate.dense", I, E)
		ly.down, ly.downB = w.linear(p+"output.dense", E, I)
		ly.ln2g, ly.ln2b = w.ln(p+"output.LayerNorm", E)
		m.layers = append(m.layers, ly)
	}
	if w.has("pooler.dense.weight") {
		m.pooler, m.poolerB = w.linear("pooler.dense", E, E)
	}
	if w.has("qa_outputs.weight") {
		m.qa, m.qaB = w.linear("qa_outputs", 2, E)
	}
	if w.has("classifier.weight") {
		n := w.dim("classifier.weight", 0)
		m.cls, m.clsB = w.linear("classifier", n, E)
		for i := 0; i < n; i++ {
			label, ok := cfg.ID2Label[strconv.Itoa(i)]
			if !ok {
				label = fmt.Sprintf("LABEL_%d", i)
			}
			m.labels = append(m.labels, label)
		}
	}
	if w.has("cls.seq_relationship.weight") {
		m.nsp, m.nspB = w.linear("cls.seq_relationship", 2, E)
	}
	if w.has("cls.predictions.transform.dense.weight") {
		m.mlmDense, m.mlmDenseB = w.linear("cls.predictions.transform.dense", E, E)
		m.mlmLNg, m.mlmLNb = w.ln("cls.predictions.transform.LayerNorm", E)
		m.mlmBias = w.f32("cls.predictions.bias", V)
		m.mlmDecoder = w.pack("embeddings.word_embeddings (tied decoder)", m.wordEmb, V, E)
	}
	if w.err != nil {
		return nil, w.err
	}
	if o.device != nil {
		if err := ops.UploadAll(o.device, m.matrices()...); err != nil {
			return nil, fmt.Errorf("bert: %w", err)
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

// setTokenizer attaches tok after checking that the model has an embedding for
// every id it produces.
func (m *Model) setTokenizer(tok *Tokenizer) error {
	if tok.VocabSize() > m.cfg.VocabSize {
		return fmt.Errorf("bert: the tokenizer has %d ids, the model's vocabulary %d", tok.VocabSize(), m.cfg.VocabSize)
	}
	m.tok = tok
	return nil
}

// matrices lists every packed weight present: the device uploads and releases them.
func (m *Model) matrices() []*ops.PackedB {
	var out []*ops.PackedB
	for _, l := range m.layers {
		out = append(out, l.qkv, l.out, l.up, l.down)
	}
	for _, pb := range []*ops.PackedB{m.pooler, m.qa, m.cls, m.nsp, m.mlmDense, m.mlmDecoder} {
		if pb != nil {
			out = append(out, pb)
		}
	}
	return out
}

// Config returns the configuration.
func (m *Model) Config() Config { return m.cfg }

// Tokenizer returns the tokenizer loaded with the model, or nil.
func (m *Model) Tokenizer() *Tokenizer { return m.tok }

// Labels returns the classification head's labels (nil without one).
func (m *Model) Labels() []string { return slices.Clone(m.labels) }

// Pooling returns the sentence-embedding pooling from the model directory.
func (m *Model) Pooling() Pooling { return m.pooling }

// Close stops the worker threads and frees the weights' device copies.
func (m *Model) Close() {
	m.pool.Close()
	_ = ops.ReleaseAll(m.matrices()...)
}

// Batch is B sequences of T tokens (right-padded): ids, token types and mask (1 real, 0 pad).
type Batch struct {
	B, T             int
	IDs, Types, Mask []int
}

// NewBatch pads encodings into a batch.
func NewBatch(encs []Encoding) Batch {
	T := 0
	for _, e := range encs {
		T = max(T, len(e.IDs))
	}
	b := Batch{B: len(encs), T: T}
	for _, e := range encs {
		for t := 0; t < T; t++ {
			if t < len(e.IDs) {
				b.IDs = append(b.IDs, e.IDs[t])
				b.Types = append(b.Types, e.TypeIDs[t])
				b.Mask = append(b.Mask, e.Mask[t])
			} else {
				b.IDs, b.Types, b.Mask = append(b.IDs, 0), append(b.Types, 0), append(b.Mask, 0)
			}
		}
	}
	return b
}

func (m *Model) check(b Batch) error {
	n := b.B * b.T
	if b.B <= 0 || b.T <= 0 || len(b.IDs) != n || len(b.Types) != n || len(b.Mask) != n {
		return fmt.Errorf("%w: batch of %d×%d with %d ids, %d types, %d mask values", ErrInput, b.B, b.T, len(b.IDs), len(b.Types), len(b.Mask))
	}
	if b.T > m.cfg.MaxPositions {
		return fmt.Errorf("%w: %d tokens exceed max_position_embeddings %d", ErrInput, b.T, m.cfg.MaxPositions)
	}
	for i := 0; i < n; i++ {
		if b.IDs[i] < 0 || b.IDs[i] >= m.cfg.VocabSize {
			return fmt.Errorf("%w: token id %d outside the vocabulary [0, %d)", ErrInput, b.IDs[i], m.cfg.VocabSize)
		}
		if b.Types[i] < 0 || b.Types[i] >= m.cfg.TypeVocabSize {
			return fmt.Errorf("%w: token type %d outside [0, %d)", ErrInput, b.Types[i], m.cfg.TypeVocabSize)
		}
		if b.Mask[i] != 0 && b.Mask[i] != 1 {
			return fmt.Errorf("%w: attention mask value %d (want 0 or 1)", ErrInput, b.Mask[i])
		}
	}
	return nil
}

// Encode runs the encoder and returns the last hidden state, B×T×hidden.
func (m *Model) Encode(b Batch) ([]float32, error) {
	if err := m.check(b); err != nil {
		return nil, err
	}
	cfg := m.cfg
	E, H, B, T := cfg.Hidden, cfg.Heads, b.B, b.T
	D, M := E/H, b.B*b.T
	x := make([]float32, M*E)
	// Embeddings.
	for i := 0; i < M; i++ {
		row := x[i*E : (i+1)*E]
		copy(row, m.wordEmb[b.IDs[i]*E:])
		pos, typ := m.posEmb[(i%T)*E:], m.typeEmb[b.Types[i]*E:]
		for j := range row {
			row[j] += pos[j] + typ[j]
		}
	}
	must(ops.LayerNorm(x, x, M, E, m.embLNg, m.embLNb, cfg.LayerNormEps))
	keyMask := make([]float32, M)
	for i, v := range b.Mask {
		if v == 0 {
			keyMask[i] = ops.MaskValue
		}
	}
	h, qkv, ctx := make([]float32, M*E), make([]float32, M*3*E), make([]float32, M*E)
	up := make([]float32, M*cfg.Intermediate)
	// Attention runs as (sequence, head) items over the pool; each worker has its own
	// single-threaded context and score buffer.
	job := &attnJob{T: T, E: E, D: D, H: H, keyMask: keyMask, ctx: ctx, scale: float32(1 / math.Sqrt(float64(D)))}
	for w := 0; w < m.pool.Threads(); w++ {
		job.probs = append(job.probs, make([]float32, T*T))
		job.heads = append(job.heads, ops.NewPool(1))
	}
	for _, ly := range m.layers {
		must(ops.Linear(m.pool, qkv, x, M, ly.qkv, ly.qkvB))
		job.qkv = qkv
		m.pool.Run(B*H, job)
		must(ops.Linear(m.pool, h, ctx, M, ly.out, ly.outB))
		must(ops.Add(x, x, h))
		must(ops.LayerNorm(x, x, M, E, ly.ln1g, ly.ln1b, cfg.LayerNormEps))
		must(ops.Linear(m.pool, up, x, M, ly.up, ly.upB))
		activate(cfg.HiddenAct, up)
		must(ops.Linear(m.pool, h, up, M, ly.down, ly.downB))
		must(ops.Add(x, x, h))
		must(ops.LayerNorm(x, x, M, E, ly.ln2g, ly.ln2b, cfg.LayerNormEps))
	}
	return x, nil
}

// attnJob computes softmax(q·kᵀ·scale + mask)·v for one (sequence, head) per item.
type attnJob struct {
	T, E, D, H int
	scale      float32
	qkv, ctx   []float32
	keyMask    []float32
	probs      [][]float32 // per worker
	heads      []*ops.Pool // per worker, single-threaded
}

func (j *attnJob) Do(w, item int) {
	s, hd := item/j.H, item%j.H
	T, E, D := j.T, j.E, j.D
	base := j.qkv[s*T*3*E:]
	p, probs := j.heads[w], j.probs[w]
	must(ops.AttentionScores(p, probs, base[hd*D:], 3*E, base[E+hd*D:], 3*E, T, T, D, j.scale, false, 0, j.keyMask[s*T:(s+1)*T]))
	must(ops.Softmax(probs, T, T))
	must(ops.Sgemm(p, false, false, T, D, T, 1, probs, T, base[2*E+hd*D:], 3*E, 0, j.ctx[s*T*E+hd*D:], E))
}

func activate(act string, x []float32) {
	switch act {
	case "gelu":
		ops.GELUErf(x)
	case "gelu_new", "gelu_pytorch_tanh":
		ops.GELUTanh(x)
	case "relu":
		ops.ReLU(x)
	}
}

// Pool applies the pooler, tanh(W·h[CLS] + b), to each sequence of hidden (B×T×E).
func (m *Model) Pool(hidden []float32, b Batch) ([]float32, error) {
	if m.pooler == nil {
		return nil, fmt.Errorf("%w: the checkpoint has no pooler", ErrInput)
	}
	E := m.cfg.Hidden
	cls := make([]float32, b.B*E)
	for s := 0; s < b.B; s++ {
		copy(cls[s*E:(s+1)*E], hidden[s*b.T*E:])
	}
	out := make([]float32, b.B*E)
	must(ops.Linear(m.pool, out, cls, b.B, m.pooler, m.poolerB))
	for i, v := range out {
		out[i] = float32(math.Tanh(float64(v)))
	}
	return out, nil
}

// SentenceEmbeddings pools hidden (B×T×E) into one vector per sequence: the mean over
// tokens with mask 1 (or [CLS] with p.CLS), L2-normalised with p.Normalize.
func SentenceEmbeddings(hidden []float32, b Batch, E int, p Pooling) []float32 {
	out := make([]float32, b.B*E)
	for s := 0; s < b.B; s++ {
		dst := out[s*E : (s+1)*E]
		if p.CLS {
			copy(dst, hidden[s*b.T*E:])
		} else {
			acc := make([]float64, E)
			n := 0
			for t := 0; t < b.T; t++ {
				if b.Mask[s*b.T+t] == 0 {
					continue
				}
				n++
				for j, v := range hidden[(s*b.T+t)*E : (s*b.T+t+1)*E] {
					acc[j] += float64(v)
				}
			}
			for j := range dst {
				dst[j] = float32(acc[j] / float64(max(n, 1)))
			}
		}
		if p.Normalize {
			var ss float64
			for _, v := range dst {
				ss += float64(v) * float64(v)
			}
			inv := 1 / math.Max(math.Sqrt(ss), 1e-12)
			for j := range dst {
				dst[j] = float32(float64(dst[j]) * inv)
			}
		}
	}
	return out
}

// QALogits returns start and end logits (B×T each) from the question-answering head.
func (m *Model) QALogits(hidden []float32, b Batch) (start, end []float32, err error) {
	if m.qa == nil {
		return nil, nil, fmt.Errorf("%w: the checkpoint has no qa_outputs head", ErrInput)
	}
	M := b.B * b.T
	both := make([]float32, M*2)
	must(ops.Linear(m.pool, both, hidden, M, m.qa, m.qaB))
	start, end = make([]float32, M), make([]float32, M)
	for i := 0; i < M; i++ {
		start[i], end[i] = both[2*i], both[2*i+1]
	}
	return start, end, nil
}

// ClassLogits returns the sequence-classification logits (B×labels) from pooled
// output (B×E).
func (m *Model) ClassLogits(pooled []float32, b Batch) ([]float32, error) {
	if m.cls == nil {
		return nil, fmt.Errorf("%w: the checkpoint has no classifier head", ErrInput)
	}
	out := make([]float32, b.B*len(m.labels))
	must(ops.Linear(m.pool, out, pooled, b.B, m.cls, m.clsB))
	return out, nil
}

// NSPLogits returns next-sentence-prediction logits (B×2) from pooled output.
func (m *Model) NSPLogits(pooled []float32, b Batch) ([]float32, error) {
	if m.nsp == nil {
		return nil, fmt.Errorf("%w: the checkpoint has no cls.seq_relationship head", ErrInput)
	}
	out := make([]float32, b.B*2)
	must(ops.Linear(m.pool, out, pooled, b.B, m.nsp, m.nspB))
	return out, nil
}

// MLMLogits returns vocabulary logits (len(rows)×vocab) at the given token rows of
// hidden (indices into the B·T rows): transform (dense, activation, LayerNorm), then
// the decoder tied to the word embeddings, plus cls.predictions.bias.
func (m *Model) MLMLogits(hidden []float32, rows []int) ([]float32, error) {
	if m.mlmDense == nil {
		return nil, fmt.Errorf("%w: the checkpoint has no masked-LM head", ErrInput)
	}
	E, V := m.cfg.Hidden, m.cfg.VocabSize
	sel := make([]float32, len(rows)*E)
	for i, r := range rows {
		if r < 0 || r*E >= len(hidden) {
			return nil, fmt.Errorf("%w: row %d outside the hidden state", ErrInput, r)
		}
		copy(sel[i*E:(i+1)*E], hidden[r*E:])
	}
	h := make([]float32, len(rows)*E)
	must(ops.Linear(m.pool, h, sel, len(rows), m.mlmDense, m.mlmDenseB))
	activate(m.cfg.HiddenAct, h)
	must(ops.LayerNorm(h, h, len(rows), E, m.mlmLNg, m.mlmLNb, m.cfg.LayerNormEps))
	out := make([]float32, len(rows)*V)
	must(ops.Linear(m.pool, out, h, len(rows), m.mlmDecoder, m.mlmBias))
	return out, nil
}

func must(err error) {
	if err != nil {
		panic("bert: internal error: " + err.Error())
	}
}

// loadPooling reads sentence-transformers' modules.json and its Pooling module's
// config; without them, mean pooling without normalisation.
func loadPooling(dir string) (Pooling, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "modules.json"))
	if errors.Is(err, os.ErrNotExist) {
		return Pooling{}, nil
	}
	if err != nil {
		return Pooling{}, fmt.Errorf("bert: %w", err)
	}
	var mods []struct {
		Path string `json:"path"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &mods); err != nil {
		return Pooling{}, fmt.Errorf("bert: %s: %w", filepath.Join(dir, "modules.json"), err)
	}
	var p Pooling
	for _, md := range mods {
		switch md.Type {
		case "sentence_transformers.models.Normalize":
			p.Normalize = true
		case "sentence_transformers.models.Pooling":
			cfgPath := filepath.Join(dir, md.Path, "config.json")
			raw, err := os.ReadFile(cfgPath)
			if err != nil {
				return Pooling{}, fmt.Errorf("bert: %w", err)
			}
			var c struct {
				CLS  bool `json:"pooling_mode_cls_token"`
				Mean bool `json:"pooling_mode_mean_tokens"`
				Max  bool `json:"pooling_mode_max_tokens"`
				Sqrt bool `json:"pooling_mode_mean_sqrt_len_tokens"`
			}
			if err := json.Unmarshal(raw, &c); err != nil {
				return Pooling{}, fmt.Errorf("bert: %s: %w", cfgPath, err)
			}
			if c.Max || c.Sqrt || (c.CLS && c.Mean) {
				return Pooling{}, fmt.Errorf("bert: %s: only one of CLS or mean pooling is supported", cfgPath)
			}
			p.CLS = c.CLS
		}
	}
	return p, nil
}

// weights reads tensors by HF name with or without "bert.", widening to float32.
type weights struct {
	src safetensors.Source
	err error
}

// resolve finds the stored name: "bert." prefix or not, LayerNorm gamma/beta aliases.
func (w *weights) resolve(name string) (string, bool) {
	alts := []string{name}
	if n, ok := cutSuffix(name, "LayerNorm.weight"); ok {
		alts = append(alts, n+"LayerNorm.gamma")
	}
	if n, ok := cutSuffix(name, "LayerNorm.bias"); ok {
		alts = append(alts, n+"LayerNorm.beta")
	}
	for _, a := range alts {
		for _, full := range []string{"bert." + a, a} {
			if _, ok := w.src.Info(full); ok {
				return full, true
			}
		}
	}
	return name, false
}

func cutSuffix(s, suffix string) (string, bool) {
	if len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)], true
	}
	return "", false
}

func (w *weights) has(name string) bool { _, ok := w.resolve(name); return ok }

func (w *weights) dim(name string, i int) int {
	full, _ := w.resolve(name)
	in, _ := w.src.Info(full)
	if i < len(in.Shape) {
		return in.Shape[i]
	}
	return 0
}

func (w *weights) f32(name string, shape ...int) []float32 {
	if w.err != nil {
		return nil
	}
	full, _ := w.resolve(name) // unresolved: the plain name, reported as missing
	t, err := safetensors.Weight(w.src, full, shape...)
	var f *tensor.Tensor
	if err == nil {
		f, err = t.ToFloat32()
	}
	if err != nil {
		w.err = fmt.Errorf("bert: %w", err)
		return nil
	}
	v, _ := f.Float32s()
	return v
}

func (w *weights) ln(prefix string, n int) ([]float32, []float32) {
	return w.f32(prefix+".weight", n), w.f32(prefix+".bias", n)
}

// linear loads a PyTorch Linear [out, in] and its bias, packed for y = x·Wᵀ + b.
func (w *weights) linear(prefix string, out, in int) (*ops.PackedB, []float32) {
	pb := w.pack(prefix+".weight", w.f32Mapped(prefix+".weight", out, in), out, in)
	w.evict(prefix + ".weight")
	return pb, w.f32(prefix+".bias", out)
}

// f32Mapped is f32, but an F32 tensor comes back aliasing the mapped file (no copy):
// for weights that are packed at once and then evicted.
func (w *weights) f32Mapped(name string, shape ...int) []float32 {
	if w.err != nil {
		return nil
	}
	full, _ := w.resolve(name)
	if t, err := safetensors.Weight(w.src, full, shape...); err == nil {
		if v, err := t.Float32s(); err == nil {
			return v
		}
	}
	return w.f32(name, shape...)
}

// evict drops a packed weight's file pages from memory when the source allows it
// (a mapped file), so peak memory at load stays near the packed weights' size.
func (w *weights) evict(name string) {
	full, ok := w.resolve(name)
	if e, can := w.src.(interface{ Evict(string) error }); ok && can {
		_ = e.Evict(full)
	}
}

func (w *weights) pack(name string, v []float32, out, in int) *ops.PackedB {
	if w.err != nil || v == nil {
		return nil
	}
	pb, err := ops.PackB(true, in, out, v, in, asm.WeightF32)
	if err != nil {
		w.err = fmt.Errorf("bert: packing %s: %w", name, err)
	}
	return pb
}
