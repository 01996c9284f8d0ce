// Package bert runs the BERT family of encoders from Hugging Face checkpoints —
// BERT (and MiniLM, most sentence-transformers models), RoBERTa, XLM-RoBERTa,
// CamemBERT, DistilBERT and MPNet — as one network, top to bottom:
//
//	ids ─ embeddings (word + position [+ token type], LayerNorm)
//	    ─ layer × N:  h = LayerNorm(h + attention.output(attention(h, mask [, relative bias])))   bidirectional
//	                  h = LayerNorm(h + output(act(intermediate(h))))
//	    ─ last hidden state
//
// bert.go is the network, as transformers' modeling_bert.py (BertModel, BertEmbeddings,
// BertLayer) with fields named after the checkpoint's keys; arch.go holds all that
// differs between the architectures (module names, position ids, token types, MPNet's
// relative position bias, the heads' shapes), chosen by config.json's model_type;
// heads.go holds the heads a checkpoint may carry (pooler, question answering,
// sequence and token classification, next sentence, masked LM) and sentence-embedding
// pooling; tasks.go the tasks built on them (Embed, Answer, Classify, Entities,
// FillMask, Rerank). Weights are packed once at load; a Model is immutable and safe
// for concurrent use.
package bert

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/tokenizer"
)

// ErrInput is wrapped by errors about requests the model cannot run; it wraps
// nn.ErrInput.
var ErrInput = fmt.Errorf("bert: %w", nn.ErrInput)

// Config is the part of config.json the model uses (DistilBERT's own names are read
// into the same fields).
type Config struct {
	ModelType         string            `json:"model_type"` // see SupportedModelTypes; "" is bert
	Architectures     []string          `json:"architectures"`
	PadTokenID        int               `json:"pad_token_id"`
	RelativeBuckets   int               `json:"relative_attention_num_buckets"` // MPNet
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
	a, err := archOf(c.ModelType)
	if err != nil {
		return err
	}
	switch {
	case c.VocabSize <= 0 || c.Hidden <= 0 || c.Layers <= 0 || c.Heads <= 0 || c.Intermediate <= 0 || c.MaxPositions <= 0 || (a.tokenTypes && c.TypeVocabSize <= 0):
		return fmt.Errorf("vocab_size (%d), hidden_size (%d), num_hidden_layers (%d), num_attention_heads (%d), intermediate_size (%d), max_position_embeddings (%d) and type_vocab_size (%d) must be positive",
			c.VocabSize, c.Hidden, c.Layers, c.Heads, c.Intermediate, c.MaxPositions, c.TypeVocabSize)
	case c.PadTokenID < 0 || c.PadTokenID >= c.VocabSize:
		return fmt.Errorf("pad_token_id %d is outside the vocabulary [0, %d)", c.PadTokenID, c.VocabSize)
	case a.maxTokens(c) <= 0:
		return fmt.Errorf("max_position_embeddings %d leaves no position after pad_token_id %d", c.MaxPositions, c.PadTokenID)
	case a.relative && c.RelativeBuckets < relativeBuckets:
		return fmt.Errorf("relative_attention_num_buckets %d: MPNet's bias uses %d buckets", c.RelativeBuckets, relativeBuckets)
	case !(c.LayerNormEps > 0) || math.IsInf(float64(c.LayerNormEps), 0):
		return fmt.Errorf("layer_norm_eps must be positive and finite, got %v", c.LayerNormEps)
	case c.Hidden%c.Heads != 0:
		return fmt.Errorf("hidden_size %d is not a multiple of num_attention_heads %d", c.Hidden, c.Heads)
	case c.PositionEmbedding != "" && c.PositionEmbedding != "absolute":
		return fmt.Errorf("position_embedding_type %q is not supported", c.PositionEmbedding)
	}
	_, err = nn.ParseActivation(c.HiddenAct)
	return err
}

// LoadConfig reads config.json.
func LoadConfig(path string) (Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("bert: %w", err)
	}
	c, err := parseConfig(raw)
	if err != nil {
		return Config{}, fmt.Errorf("bert: %s: %w", path, err)
	}
	return c, nil
}

// Pooling says how a sentence embedding is made from the last hidden state.
type Pooling struct {
	// Modes are sentence-transformers' pooling modes; several are concatenated, in
	// PoolCLS … PoolLastToken order, as its Pooling module does. 0 is PoolMean.
	Modes     PoolMode
	Dense     []Dense // sentence-transformers' Dense modules, in order, after pooling
	Normalize bool    // L2-normalise the result (after the Dense modules)
}

// Dense is sentence-transformers' Dense module: out = activation(W·in + b), with
// tanh or the identity (the activations its models use).
type Dense struct {
	Linear nn.Linear
	Tanh   bool
}

// loadDense reads a Dense module's folder: config.json and model.safetensors
// (linear.weight, linear.bias).
func loadDense(dir string, in int) (Dense, error) {
	cfgPath := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		return Dense{}, fmt.Errorf("bert: %w", err)
	}
	var c struct {
		In         int    `json:"in_features"`
		Out        int    `json:"out_features"`
		Bias       *bool  `json:"bias"`
		Activation string `json:"activation_function"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return Dense{}, fmt.Errorf("bert: %s: %w", cfgPath, err)
	}
	var d Dense
	switch c.Activation {
	case "torch.nn.modules.activation.Tanh":
		d.Tanh = true
	case "torch.nn.modules.linear.Identity", "":
	default:
		return Dense{}, fmt.Errorf("bert: %s: activation_function %q is not supported (Tanh, Identity are)", cfgPath, c.Activation)
	}
	if c.In != in || c.Out <= 0 || c.Out > 1<<16 {
		return Dense{}, fmt.Errorf("bert: %s: in_features %d, out_features %d after %d-wide pooling", cfgPath, c.In, c.Out, in)
	}
	weights := filepath.Join(dir, "model.safetensors")
	src, err := safetensors.Open(weights)
	if err != nil {
		return Dense{}, fmt.Errorf("bert: %w", err)
	}
	defer src.Close()
	vb := nn.NewBuilder(src, weights, nn.Options{Model: "bert Dense"})
	d.Linear.Weight = vb.Matrix("linear.weight", true, c.Out, c.In)
	if c.Bias == nil || *c.Bias {
		d.Linear.Bias = vb.F32("linear.bias", c.Out)
	}
	if err := vb.Err(); err != nil {
		return Dense{}, err
	}
	return d, nil
}

// PoolMode is a set of pooling modes (sentence-transformers' pooling_mode_*).
type PoolMode uint8

// The pooling modes, in the order their vectors are concatenated.
const (
	PoolCLS          PoolMode = 1 << iota // the first token's vector ([CLS])
	PoolMax                               // the maximum over real tokens, per dimension
	PoolMean                              // the mean over real tokens
	PoolMeanSqrtLen                       // the sum over real tokens ÷ √(their count)
	PoolWeightedMean                      // the mean weighted by position (1, 2, …, T)
	PoolLastToken                         // the last real token's vector
)

// poolModes are the modes with their names (sentence-transformers' config keys
// without pooling_mode_, and --pooling's values).
var poolModes = []struct {
	mode PoolMode
	name string
}{{PoolCLS, "cls"}, {PoolMax, "max"}, {PoolMean, "mean"}, {PoolMeanSqrtLen, "mean_sqrt_len_tokens"},
	{PoolWeightedMean, "weightedmean"}, {PoolLastToken, "lasttoken"}}

// ParsePoolMode reads a mode's name: cls, max, mean, mean_sqrt_len_tokens,
// weightedmean or lasttoken.
func ParsePoolMode(name string) (PoolMode, error) {
	var names []string
	for _, p := range poolModes {
		if p.name == name {
			return p.mode, nil
		}
		names = append(names, p.name)
	}
	return 0, fmt.Errorf("%w: pooling mode %q (want %s)", ErrInput, name, strings.Join(names, ", "))
}

// Count is the number of modes (the embedding is Count × hidden wide).
func (m PoolMode) Count() int {
	if m == 0 {
		return 1
	}
	return bits.OnesCount8(uint8(m))
}

// Model is BertModel (or its RoBERTa, DistilBERT or MPNet counterpart) with
// whichever heads its checkpoint has.
type Model struct {
	cfg        Config
	arch       arch
	act        nn.Activation
	embeddings Embeddings
	layer      []Layer // encoder.layer (DistilBERT: transformer.layer)
	// relativeBias is MPNet's encoder.relative_attention_bias: [buckets, heads], one
	// bias per relative position bucket and head, shared by every layer; nil elsewhere.
	relativeBias []float32

	// Heads (heads.go), nil when the checkpoint has none.
	pooler          *nn.Linear          // pooler.dense: tanh(W·h[CLS] + b)
	qaOutputs       *nn.Linear          // qa_outputs: start and end logits per token
	classifier      *ClassificationHead // sequence classification from the first token
	tokenClassifier *nn.Linear          // classifier of a *ForTokenClassification: labels per token
	seqRelationship *nn.Linear          // cls.seq_relationship: next-sentence prediction
	predictions     *LMPredictor        // cls.predictions / lm_head / vocab_*: masked LM

	labels  []string
	pooling Pooling
	prompts Prompts
	tok     *Tokenizer
	pool    *ops.Pool
	works   sync.Pool // *scratch, one per concurrent call
}

// Embeddings is BertEmbeddings: the sum of two or three lookups, normalised.
type Embeddings struct {
	word      nn.Embedding  // word_embeddings: [vocab, hidden]
	position  nn.Embedding  // position_embeddings: [max_positions, hidden]
	tokenType *nn.Embedding // token_type_embeddings: [type_vocab, hidden]; nil for DistilBERT and MPNet
	layerNorm nn.LayerNorm  // LayerNorm
}

// Layer is BertLayer: self-attention with its output projection and LayerNorm, then
// the feed-forward block (intermediate, output) with its LayerNorm.
type Layer struct {
	qkv          nn.Linear    // attention.self.{query,key,value}, stacked: hidden → 3·hidden
	attnOutput   nn.Linear    // attention.output.dense
	attnNorm     nn.LayerNorm // attention.output.LayerNorm
	intermediate nn.Linear    // intermediate.dense: hidden → intermediate
	output       nn.Linear    // output.dense: intermediate → hidden
	outputNorm   nn.LayerNorm // output.LayerNorm
}

// Option configures Load and New: nn.WithPool, nn.WithDevice, nn.WithTokenizerDir,
// WithTokenizer.
type Option = nn.Option

// WithTokenizer gives the model a tokenizer already loaded (for example with
// LoadTokenizerFS from package assets); Load then reads none from disk.
func WithTokenizer(t *Tokenizer) Option { return nn.WithTokenizer(t) }

// Load reads config.json, the weights, the tokenizer (vocab.txt or tokenizer.json) and
// any sentence-transformers pooling configuration (modules.json, 1_Pooling) from dir.
func Load(dir string, opts ...Option) (*Model, error) {
	cfg, err := LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	pooling, err := loadPooling(dir, cfg.Hidden)
	if err != nil {
		return nil, err
	}
	tok, hasTok, err := nn.LoadTokenizer(nn.Apply(opts), dir, LoadTokenizer)
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	src, err := safetensors.OpenModel(dir)
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	defer src.Close()
	if hasTok {
		opts = append(opts, WithTokenizer(tok))
	}
	m, err := New(cfg, src, dir, opts...)
	if err != nil {
		return nil, err
	}
	m.pooling = pooling
	if m.prompts, err = loadPrompts(dir); err != nil {
		return nil, err
	}
	return m, nil
}

// Prompts are sentence-transformers' named prompts (config_sentence_transformers.json):
// text put before the input, such as "query: ", and the one used by default.
type Prompts struct {
	Named   map[string]string
	Default string // a name in Named, or "" for none
}

// Prompt returns the text of the prompt name ("": the default prompt, or none).
func (p Prompts) Prompt(name string) (string, error) {
	if name == "" {
		name = p.Default
		if name == "" {
			return "", nil
		}
	}
	text, ok := p.Named[name]
	if !ok {
		names := slices.Sorted(maps.Keys(p.Named))
		return "", fmt.Errorf("%w: no prompt %q (the model has %q)", ErrInput, name, names)
	}
	return text, nil
}

// Prompts returns the model's named prompts.
func (m *Model) Prompts() Prompts { return m.prompts }

// loadPrompts reads config_sentence_transformers.json's prompts, when there are any.
func loadPrompts(dir string) (Prompts, error) {
	path := filepath.Join(dir, "config_sentence_transformers.json")
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Prompts{}, nil
	}
	if err != nil {
		return Prompts{}, fmt.Errorf("bert: %w", err)
	}
	var c struct {
		Prompts map[string]string `json:"prompts"`
		Default *string           `json:"default_prompt_name"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return Prompts{}, fmt.Errorf("bert: %s: %w", path, err)
	}
	p := Prompts{Named: c.Prompts}
	if c.Default != nil && *c.Default != "" {
		if _, ok := c.Prompts[*c.Default]; !ok {
			return Prompts{}, fmt.Errorf("bert: %s: default_prompt_name %q is not among the prompts", path, *c.Default)
		}
		p.Default = *c.Default
	}
	return p, nil
}

// New builds a model from cfg and tensors in HF naming (with or without the base
// model's prefix, "bert.", "roberta.", …, old LayerNorm gamma/beta names accepted,
// buffers such as position_ids ignored). Heads are loaded when their tensors are
// present. file names the checkpoint in errors.
func New(cfg Config, src safetensors.Source, file string, opts ...Option) (*Model, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	a, _ := archOf(cfg.ModelType) // validated
	set := nn.Apply(opts)
	if err := set.Refuse("bert", nn.FeatureDevice, nn.FeatureQuantization, nn.FeatureTokenizer, nn.FeatureCompute); err != nil {
		return nil, err
	}
	vb := nn.NewBuilder(src, file, nn.Options{Model: "bert", Prefixes: []string{a.prefix},
		Aliases: map[string]string{"weight": "gamma", "bias": "beta"}, Int8: set.Quantize == nn.Int8, BF16: set.Compute == nn.BF16})
	m := &Model{cfg: cfg, arch: a, pool: set.Pool()}
	m.act, _ = nn.ParseActivation(cfg.HiddenAct) // validated
	// Every tensor's presence, shape and dtype first, from the header alone.
	if err := vb.Check(func(vb *nn.Builder) { (&Model{cfg: cfg, arch: a}).readWeights(vb) }); err != nil {
		return nil, err
	}
	m.readWeights(vb)
	if err := vb.Err(); err != nil {
		return nil, err
	}
	var err error
	if m.tok, err = nn.TokenizerFor[*Tokenizer](set, cfg.VocabSize); err != nil {
		return nil, fmt.Errorf("bert: %s: %w", file, err)
	}
	if err := set.Upload(m.matrices()...); err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	return m, nil
}

// readWeights reads the checkpoint's tensors into m, as the config shapes them and
// the architecture names them, and the heads that are present.
func (m *Model) readWeights(vb *nn.Builder) {
	cfg, a := m.cfg, m.arch
	E, I, V, eps := cfg.Hidden, cfg.Intermediate, cfg.VocabSize, cfg.LayerNormEps
	m.embeddings = Embeddings{
		word:      vb.Embedding("embeddings.word_embeddings", V, E),
		position:  vb.Embedding("embeddings.position_embeddings", cfg.MaxPositions, E),
		layerNorm: vb.LayerNorm(a.embNorm, E, eps),
	}
	if a.tokenTypes {
		tt := vb.Embedding("embeddings.token_type_embeddings", cfg.TypeVocabSize, E)
		m.embeddings.tokenType = &tt
	}
	if a.relative {
		m.relativeBias = vb.F32("encoder.relative_attention_bias.weight", cfg.RelativeBuckets, cfg.Heads)
	}
	for l := 0; l < cfg.Layers && vb.Err() == nil; l++ { // a missing layer stops the loop
		ly := vb.Sub(a.layers, l)
		m.layer = append(m.layer, Layer{
			qkv: nn.Linear{
				Weight: ly.StackedMatrix([]string{a.query + ".weight", a.key + ".weight", a.value + ".weight"}, []int{E, E, E}, E),
				Bias:   append(append(ly.F32(a.query+".bias", E), ly.F32(a.key+".bias", E)...), ly.F32(a.value+".bias", E)...),
			},
			attnOutput:   ly.Linear(a.attnOut, E, E),
			attnNorm:     ly.LayerNorm(a.attnNorm, E, eps),
			intermediate: ly.Linear(a.up, I, E),
			output:       ly.Linear(a.down, E, I),
			outputNorm:   ly.LayerNorm(a.outNorm, E, eps),
		})
	}
	m.loadHeads(vb)
}

// matrices lists every packed weight present: the device uploads and releases them.
func (m *Model) matrices() []*ops.PackedB {
	var out []*ops.PackedB
	for _, l := range m.layer {
		out = append(out, l.qkv.Weight, l.attnOutput.Weight, l.intermediate.Weight, l.output.Weight)
	}
	heads := []*nn.Linear{m.pooler, m.qaOutputs, m.tokenClassifier, m.seqRelationship}
	if c := m.classifier; c != nil {
		heads = append(heads, &c.out)
		if !m.arch.preInBase {
			heads = append(heads, c.pre)
		}
	}
	for _, h := range heads {
		if h != nil {
			out = append(out, h.Weight)
		}
	}
	if m.predictions != nil {
		out = append(out, m.predictions.transform.Weight, m.predictions.decoder.Weight)
	}
	return out
}

// Config returns the configuration.
func (m *Model) Config() Config { return m.cfg }

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

// Labels returns the sequence-classification head's labels (nil without one: a
// token classifier's are TokenLabels).
func (m *Model) Labels() []string {
	if m.classifier == nil {
		return nil
	}
	return append([]string(nil), m.labels...)
}

// TokenLabels returns the token-classification head's labels (nil without one).
func (m *Model) TokenLabels() []string {
	if m.tokenClassifier == nil {
		return nil
	}
	return append([]string(nil), m.labels...)
}

// Pooling returns the sentence-embedding pooling from the model directory.
func (m *Model) Pooling() Pooling { return m.pooling }

// WorkerPool returns the pool of threads the model runs its parallel work on.
func (m *Model) WorkerPool() *ops.Pool { return m.pool }

// Close frees the weights' device copies. The pool is the caller's (or the
// process's) and stays running.
func (m *Model) Close() {
	_ = ops.ReleaseAll(m.matrices()...)
}

// scratch is one call's operator workspace and Forward's buffers, reused from call
// to call: in steady state Forward allocates only the hidden state it returns.
type scratch struct {
	ws                        *ops.Workspace
	h, qkv, ctx, up, km, bias []float32 // bias: MPNet's [heads, T, T], then its [heads, 2T−1] by offset
	pos                       []int
}

// workspace takes a scratch for one call; release gives it back.
func (m *Model) workspace() *scratch {
	if s, ok := m.works.Get().(*scratch); ok {
		return s
	}
	return &scratch{ws: ops.NewWorkspace(m.pool)}
}

func (m *Model) release(s *scratch) { m.works.Put(s) }

// grow returns buf resized to n values, reallocated only when too small.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
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
	if limit := m.ContextLength(); b.T > limit {
		return fmt.Errorf("%w: %d tokens exceed the %d positions of max_position_embeddings %d", ErrInput, b.T, limit, m.cfg.MaxPositions)
	}
	for i := 0; i < n; i++ {
		if b.IDs[i] < 0 || b.IDs[i] >= m.cfg.VocabSize {
			return fmt.Errorf("%w: token id %d outside the vocabulary [0, %d)", ErrInput, b.IDs[i], m.cfg.VocabSize)
		}
		if m.typed() && (b.Types[i] < 0 || b.Types[i] >= m.cfg.TypeVocabSize) {
			return fmt.Errorf("%w: token type %d outside [0, %d)", ErrInput, b.Types[i], m.cfg.TypeVocabSize)
		}
		if b.Mask[i] != 0 && b.Mask[i] != 1 {
			return fmt.Errorf("%w: attention mask value %d (want 0 or 1)", ErrInput, b.Mask[i])
		}
	}
	return nil
}

// typed reports whether token types are an input: models without a token-type
// table (DistilBERT, MPNet) or with one row (RoBERTa's) ignore Batch.Types, as
// their tokenizers' token_type_ids are not model inputs.
func (m *Model) typed() bool {
	return m.embeddings.tokenType != nil && m.cfg.TypeVocabSize > 1
}

// Forward runs the encoder and returns the last hidden state, B×T×hidden.
func (m *Model) Forward(b Batch) ([]float32, error) {
	if err := m.check(b); err != nil {
		return nil, err
	}
	sc := m.workspace()
	defer m.release(sc)
	ws := sc.ws
	cfg := m.cfg
	E, H, B, T := cfg.Hidden, cfg.Heads, b.B, b.T
	M := B * T
	x := make([]float32, M*E)               // [M, hidden] the hidden state (returned)
	sc.h = grow(sc.h, M*E)                  // [M, hidden] a sublayer's output
	sc.qkv = grow(sc.qkv, M*3*E)            // [M, 3·hidden] query | key | value per token
	sc.ctx = grow(sc.ctx, M*E)              // [M, hidden] attention output, heads side by side
	sc.up = grow(sc.up, M*cfg.Intermediate) // [M, intermediate]
	sc.km = grow(sc.km, M)                  // [B, T] key mask: 0, or MaskValue at padding
	if cap(sc.pos) < M {
		sc.pos = make([]int, M)
	}
	pos := sc.pos[:M] // [B, T] position ids
	h, qkv, ctx, up, keyMask := sc.h, sc.qkv, sc.ctx, sc.up, sc.km

	// Embeddings: word + position (+ token type).
	m.arch.positions(pos, b, cfg.PadTokenID)
	for i := 0; i < M; i++ {
		row := x[i*E : (i+1)*E]
		copy(row, m.embeddings.word.Row(b.IDs[i]))
		if tt := m.embeddings.tokenType; tt != nil {
			typ := 0
			if m.typed() {
				typ = b.Types[i]
			}
			ops.Add(row, row, tt.Row(typ))
		}
		ops.Add(row, row, m.embeddings.position.Row(pos[i]))
	}
	m.embeddings.layerNorm.Forward(x, x, M)
	// MPNet: the relative position bias of every (query, key) pair, [heads, T, T].
	var bias []float32
	if m.relativeBias != nil {
		// A head's bias depends on key − query only: its 2T−1 values, then each
		// query's row is the slice of them that starts at its offset.
		sc.bias = grow(sc.bias, H*T*T+H*(2*T-1))
		bias = sc.bias[:H*T*T]
		byOffset := sc.bias[H*T*T:] // [heads, 2T−1]: the bias at key − query = d − (T−1)
		for d := 0; d < 2*T-1; d++ {
			for hd, v := range m.relativeBias[relativeBucket(d-(T-1))*H:][:H] {
				byOffset[hd*(2*T-1)+d] = v
			}
		}
		for hd := 0; hd < H; hd++ {
			for i := 0; i < T; i++ {
				copy(bias[(hd*T+i)*T:][:T], byOffset[hd*(2*T-1)+T-1-i:])
			}
		}
	}
	for i, v := range b.Mask {
		keyMask[i] = 0
		if v == 0 {
			keyMask[i] = ops.MaskValue
		}
	}
	attn := ops.AttentionShape{Batch: B, Heads: H, HeadDim: E / H, Queries: T, Keys: T,
		Scale: float32(1 / math.Sqrt(float64(E/H))),
		QRow:  3 * E, QSeq: T * 3 * E, KVRow: 3 * E, KVSeq: T * 3 * E, OutRow: E, OutSeq: T * E, MaskSeq: T}
	for _, ly := range m.layer {
		// h = LayerNorm(h + attention.output.dense(attention(h)))
		ly.qkv.Forward(ws, qkv, x, M)
		ops.AttentionWithBias(ws, attn, ctx, qkv, qkv[E:], qkv[2*E:], keyMask, bias)
		ly.attnOutput.Forward(ws, h, ctx, M)
		ly.attnNorm.ForwardResidual(ws, x, h, M)
		// h = LayerNorm(h + output.dense(act(intermediate.dense(h))))
		ly.intermediate.ForwardAct(ws, up, x, M, m.act)
		ly.output.Forward(ws, h, up, M)
		ly.outputNorm.ForwardResidual(ws, x, h, M)
	}
	return x, nil
}

// loadPooling reads sentence-transformers' modules.json and its Pooling module's
// config; without them, mean pooling without normalisation.
func loadPooling(dir string, hidden int) (Pooling, error) {
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
		case "sentence_transformers.models.Dense":
			if p.Normalize {
				return Pooling{}, fmt.Errorf("bert: %s: a Dense module after Normalize is not supported", filepath.Join(dir, "modules.json"))
			}
			in := p.Modes.Count() * hidden
			if n := len(p.Dense); n > 0 {
				in = p.Dense[n-1].Linear.Out()
			}
			d, err := loadDense(filepath.Join(dir, md.Path), in)
			if err != nil {
				return Pooling{}, err
			}
			p.Dense = append(p.Dense, d)
		case "sentence_transformers.models.Pooling":
			cfgPath := filepath.Join(dir, md.Path, "config.json")
			raw, err := os.ReadFile(cfgPath)
			if err != nil {
				return Pooling{}, fmt.Errorf("bert: %w", err)
			}
			var c map[string]any
			if err := json.Unmarshal(raw, &c); err != nil {
				return Pooling{}, fmt.Errorf("bert: %s: %w", cfgPath, err)
			}
			keys := map[string]PoolMode{"pooling_mode_cls_token": PoolCLS, "pooling_mode_max_tokens": PoolMax,
				"pooling_mode_mean_tokens": PoolMean, "pooling_mode_mean_sqrt_len_tokens": PoolMeanSqrtLen,
				"pooling_mode_weightedmean_tokens": PoolWeightedMean, "pooling_mode_lasttoken": PoolLastToken}
			for key, mode := range keys {
				if on, _ := c[key].(bool); on {
					p.Modes |= mode
				}
			}
			if v, ok := c["include_prompt"].(bool); ok && !v {
				return Pooling{}, fmt.Errorf("bert: %s: include_prompt false is not supported", cfgPath)
			}
			if p.Modes == 0 {
				return Pooling{}, fmt.Errorf("bert: %s: no pooling mode is on", cfgPath)
			}
		}
	}
	return p, nil
}
