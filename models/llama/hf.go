package llama

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/tensor"
	"github.com/lumen-ml/lumen/tokenizer"
)

// HFConfig is the part of a Hugging Face config.json that LlamaForCausalLM (and
// Qwen2ForCausalLM) reads.
type HFConfig struct {
	ModelType         string          `json:"model_type"`
	HiddenSize        int             `json:"hidden_size"`
	IntermediateSize  int             `json:"intermediate_size"`
	NumHiddenLayers   int             `json:"num_hidden_layers"`
	NumAttentionHeads int             `json:"num_attention_heads"`
	NumKeyValueHeads  int             `json:"num_key_value_heads"` // 0: num_attention_heads
	HeadDim           int             `json:"head_dim"`            // 0: hidden_size / num_attention_heads
	RMSNormEps        float32         `json:"rms_norm_eps"`
	RopeTheta         float32         `json:"rope_theta"` // 0: 10000
	RopeScaling       json.RawMessage `json:"rope_scaling"`
	MaxPositions      int             `json:"max_position_embeddings"`
	VocabSize         int             `json:"vocab_size"`
	TieWordEmbeddings bool            `json:"tie_word_embeddings"`
	HiddenAct         string          `json:"hidden_act"`
	AttentionBias     bool            `json:"attention_bias"`
	MLPBias           bool            `json:"mlp_bias"`
	UseSlidingWindow  bool            `json:"use_sliding_window"` // qwen2
	BOSTokenID        *int            `json:"bos_token_id"`
	EOSTokenID        json.RawMessage `json:"eos_token_id"` // an id or a list of ids
}

// config checks the HF configuration and turns it into a Config.
func (h HFConfig) config() (Config, error) {
	switch {
	case h.ModelType != "llama" && h.ModelType != "qwen2":
		return Config{}, fmt.Errorf("model_type %q is not supported (llama, qwen2 are)", h.ModelType)
	case h.UseSlidingWindow:
		return Config{}, errors.New("use_sliding_window is not supported")
	case h.HiddenAct != "" && h.HiddenAct != "silu":
		return Config{}, fmt.Errorf("hidden_act %q is not supported (silu is)", h.HiddenAct)
	case h.AttentionBias || h.MLPBias:
		return Config{}, errors.New("attention_bias and mlp_bias are not supported")
	}
	var sc struct {
		RopeType        string  `json:"rope_type"`
		Type            string  `json:"type"` // before transformers 4.45
		Factor          float64 `json:"factor"`
		LowFreqFactor   float64 `json:"low_freq_factor"`
		HighFreqFactor  float64 `json:"high_freq_factor"`
		OriginalContext int     `json:"original_max_position_embeddings"`
	}
	if len(h.RopeScaling) > 0 && string(h.RopeScaling) != "null" {
		if err := json.Unmarshal(h.RopeScaling, &sc); err != nil {
			return Config{}, fmt.Errorf("rope_scaling %s: %w", h.RopeScaling, err)
		}
		if sc.RopeType == "" {
			sc.RopeType = sc.Type
		}
		if sc.RopeType == "default" {
			sc.RopeType = ""
		}
	}
	c := Config{Arch: h.ModelType, QKVBias: h.ModelType == "qwen2", NLayer: h.NumHiddenLayers, NEmbd: h.HiddenSize, NFF: h.IntermediateSize,
		NHead: h.NumAttentionHeads, NHeadKV: h.NumKeyValueHeads, RopeTheta: h.RopeTheta, RMSEps: h.RMSNormEps,
		ContextLength: h.MaxPositions, VocabSize: h.VocabSize,
		RopeScaling: RopeScaling{Type: sc.RopeType, Factor: sc.Factor, LowFreqFactor: sc.LowFreqFactor,
			HighFreqFactor: sc.HighFreqFactor, OriginalContext: sc.OriginalContext}}
	if c.NHeadKV == 0 {
		c.NHeadKV = c.NHead
	}
	if c.RopeTheta == 0 {
		c.RopeTheta = 10000
	}
	if c.NHead > 0 {
		c.HeadDim = c.NEmbd / c.NHead
	}
	if h.HeadDim != 0 && h.HeadDim != c.HeadDim {
		return Config{}, fmt.Errorf("head_dim %d is not hidden_size / num_attention_heads = %d", h.HeadDim, c.HeadDim)
	}
	c.RopeDim = c.HeadDim
	if err := c.validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Load reads a Hugging Face LlamaForCausalLM (or Qwen2ForCausalLM) directory:
// config.json, the weights
// (model.safetensors, sharded, or the only .safetensors file; F32, F16 or BF16,
// memory-mapped and multiplied where they lie) and, when present, the tokenizer
// (tokenizer.json, with tokenizer_config.json's special tokens and chat template).
// Without a tokenizer the model runs token ids only. Close releases the files.
func Load(dir string, opts ...Option) (*Model, error) {
	if err := nn.Apply(opts).Refuse("llama", nn.FeatureQuantActivations, nn.FeatureTokenizer); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	var h HFConfig
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrFormat, path, err)
	}
	cfg, err := h.config()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrFormat, path, err)
	}
	tok, hasTok, err := nn.LoadTokenizer(nn.Apply(opts), dir, tokenizer.Load)
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	st, err := safetensors.OpenModel(dir)
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	src := &hfSource{st: st, dir: dir}
	m, err := build(cfg, src, false, opts)
	if err == nil && m.cfg.VocabSize != h.VocabSize {
		err = fmt.Errorf("%w: %s: vocab_size %d, but model.embed_tokens has %d rows", ErrFormat, path, h.VocabSize, m.cfg.VocabSize)
	}
	if err == nil && h.TieWordEmbeddings != (m.output == m.tokenEmbd) {
		err = fmt.Errorf("%w: %s: tie_word_embeddings is %v, but lm_head.weight is %s", ErrFormat, path, h.TieWordEmbeddings,
			map[bool]string{true: "absent", false: "present"}[m.output == m.tokenEmbd])
	}
	if err == nil && hasTok {
		err = m.setTokenizer(tok, "tokenizer_config.json")
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	if m.bos < 0 && h.BOSTokenID != nil && *h.BOSTokenID >= 0 && *h.BOSTokenID < m.cfg.VocabSize {
		m.bos = *h.BOSTokenID
	}
	if m.eos < 0 {
		var one int
		var many []int
		if json.Unmarshal(h.EOSTokenID, &one) == nil {
			many = []int{one}
		} else {
			_ = json.Unmarshal(h.EOSTokenID, &many)
		}
		if len(many) > 0 && many[0] >= 0 && many[0] < m.cfg.VocabSize {
			m.eos = many[0]
		}
	}
	m.closer = st
	return m, nil
}

// hfNames maps llama.cpp's module names to transformers' (LlamaForCausalLM's
// state dict).
var hfNames = map[string]string{
	"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head",
	"attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
	"attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm",
	"ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
}

// hfName is the transformers name of a llama.cpp tensor name.
func hfName(name string) string {
	base, suffix := name, ""
	for _, kind := range []string{".weight", ".bias"} {
		if b, _, ok := strings.Cut(name, kind); ok {
			base, suffix = b, kind
		}
	}
	if rest, ok := strings.CutPrefix(base, "blk."); ok {
		layer, module, _ := strings.Cut(rest, ".")
		return "model.layers." + layer + "." + hfNames[module] + suffix
	}
	return hfNames[base] + suffix
}

// hfSource is a safetensors checkpoint in transformers' names and shapes. HF keeps
// q_proj and k_proj rows in their own order (RoPE on halves), where GGUF permutes
// them (RoPE on pairs): the model rotates as the source requires.
type hfSource struct {
	st  safetensors.Source
	dir string
}

func (h *hfSource) name() string { return h.dir }

func (h *hfSource) tensor(name string) (qtensor, bool) {
	hf := hfName(name)
	info, ok := h.st.Info(hf)
	if !ok {
		return qtensor{label: hf}, false
	}
	t := qtensor{label: hf}
	switch info.DType {
	case tensor.F32:
		t.typ = ops.QF32
	case tensor.F16:
		t.typ = ops.QF16
	case tensor.BF16:
		t.typ = ops.QBF16
	default:
		t.err = fmt.Errorf("%v, not F32, F16 or BF16", info.DType)
		return t, true
	}
	for _, d := range slices.Backward(info.Shape) {
		t.shape = append(t.shape, int64(d))
	}
	x, err := h.st.Tensor(hf)
	if err == nil {
		t.data, err = x.Bytes()
	}
	t.err = err
	return t, true
}
