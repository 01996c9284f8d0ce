package llama

import (
	"fmt"
	"math"

	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/tensor"
)

// SizeConfig returns the HF configuration of a named size: "tiny" (2 layers × 64,
// grouped-query 4/2 heads, for tests and smoke runs) or "smollm2-135m" (SmolLM2-135M's
// shape: 30 layers × 576, 9/3 heads, 49,152 tokens, tied embeddings).
func SizeConfig(size string) (HFConfig, error) {
	bos, eos := 1, []byte("2")
	c := HFConfig{ModelType: "llama", HiddenAct: "silu", RMSNormEps: 1e-5, RopeTheta: 10000, BOSTokenID: &bos, EOSTokenID: eos}
	switch size {
	case "tiny":
		c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads = 64, 96, 2, 4, 2
		c.MaxPositions, c.VocabSize = 256, 320
	case "smollm2-135m":
		c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads = 576, 1536, 30, 9, 3
		c.MaxPositions, c.VocabSize, c.RopeTheta, c.TieWordEmbeddings = 8192, 49152, 100000, true
	default:
		return HFConfig{}, fmt.Errorf("llama: unknown size %q (tiny, smollm2-135m)", size)
	}
	return c, nil
}

// RandomTensors draws LlamaForCausalLM's weights for c in transformers' names, as
// it initialises them (normal, std 0.02; norms 1).
func RandomTensors(c HFConfig, dt tensor.DType, seed uint64) (map[string]*tensor.Tensor, error) {
	cfg, err := c.config()
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	w := nn.NewRandomWeights(dt, seed, 0x2545f4914f6cdd1d)
	E, F, KV := cfg.NEmbd, cfg.NFF, cfg.NHeadKV*cfg.HeadDim
	// Projections into the residual stream scaled down with depth, as GPT-2's, so
	// that deep random models keep their activations in range.
	proj := 0.02 / math.Sqrt(2*float64(cfg.NLayer))
	w.Add("model.embed_tokens.weight", 0.02, 0, cfg.VocabSize, E)
	for l := range cfg.NLayer {
		p := fmt.Sprintf("model.layers.%d.", l)
		w.Add(p+"input_layernorm.weight", 0, 1, E)
		w.Add(p+"self_attn.q_proj.weight", 0.02, 0, E, E)
		w.Add(p+"self_attn.k_proj.weight", 0.02, 0, KV, E)
		w.Add(p+"self_attn.v_proj.weight", 0.02, 0, KV, E)
		w.Add(p+"self_attn.o_proj.weight", proj, 0, E, E)
		w.Add(p+"post_attention_layernorm.weight", 0, 1, E)
		w.Add(p+"mlp.gate_proj.weight", 0.02, 0, F, E)
		w.Add(p+"mlp.up_proj.weight", 0.02, 0, F, E)
		w.Add(p+"mlp.down_proj.weight", proj, 0, E, F)
	}
	w.Add("model.norm.weight", 0, 1, E)
	if !c.TieWordEmbeddings {
		w.Add("lm_head.weight", 0.02, 0, cfg.VocabSize, E)
	}
	out, err := w.Tensors()
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	return out, nil
}

// WriteRandom writes config.json and model.safetensors with random weights to dir:
// a directory Load reads, and transformers too.
func WriteRandom(dir string, c HFConfig, dt tensor.DType, seed uint64) error {
	tensors, err := RandomTensors(c, dt, seed)
	if err != nil {
		return err
	}
	cfg := map[string]any{
		"architectures": []string{"LlamaForCausalLM"}, "model_type": "llama", "hidden_act": "silu",
		"hidden_size": c.HiddenSize, "intermediate_size": c.IntermediateSize, "num_hidden_layers": c.NumHiddenLayers,
		"num_attention_heads": c.NumAttentionHeads, "num_key_value_heads": c.NumKeyValueHeads,
		"max_position_embeddings": c.MaxPositions, "vocab_size": c.VocabSize, "rms_norm_eps": c.RMSNormEps,
		"rope_theta": c.RopeTheta, "rope_scaling": nil, "tie_word_embeddings": c.TieWordEmbeddings,
		"attention_bias": false, "mlp_bias": false, "bos_token_id": c.BOSTokenID, "eos_token_id": c.EOSTokenID,
		"torch_dtype":       map[tensor.DType]string{tensor.F32: "float32", tensor.F16: "float16", tensor.BF16: "bfloat16"}[dt],
		"initializer_range": 0.02, "use_cache": true,
	}
	if err := nn.WriteCheckpoint(dir, tensors, cfg); err != nil {
		return fmt.Errorf("llama: %w", err)
	}
	return nil
}
