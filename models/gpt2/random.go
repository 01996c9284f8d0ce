package gpt2

import (
	"fmt"
	"math"

	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/tensor"
)

// SizeConfig returns the configuration of a published GPT-2 size ("124M", "355M",
// "774M", "1558M") or of "tiny" (2 layers × 64, for tests and smoke runs).
func SizeConfig(size string) (Config, error) {
	eos := 50256
	c := Config{VocabSize: 50257, NPositions: 1024, LayerNormEps: 1e-5, Activation: "gelu_new", EOSTokenID: &eos}
	switch size {
	case "tiny":
		c.NLayer, c.NEmbd, c.NHead, c.NPositions = 2, 64, 4, 256
	case "124M":
		c.NLayer, c.NEmbd, c.NHead = 12, 768, 12
	case "355M":
		c.NLayer, c.NEmbd, c.NHead = 24, 1024, 16
	case "774M":
		c.NLayer, c.NEmbd, c.NHead = 36, 1280, 20
	case "1558M":
		c.NLayer, c.NEmbd, c.NHead = 48, 1600, 25
	default:
		return Config{}, fmt.Errorf("gpt2: unknown size %q (want 124M, 355M, 774M, 1558M or tiny)", size)
	}
	return c, nil
}

// RandomTensors draws weights as HF initialises GPT-2 — N(0, 0.02) for embeddings and
// projections, c_proj scaled by 1/√(2·n_layer), zero biases, unit LayerNorm weights —
// in the hub file's naming, stored as dt.
func RandomTensors(cfg Config, dt tensor.DType, seed uint64) (map[string]*tensor.Tensor, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("gpt2: %w", err)
	}
	w := nn.NewRandomWeights(dt, seed, 0x9e3779b97f4a7c15)
	add := w.Add
	E, I := cfg.NEmbd, cfg.Inner()
	proj := 0.02 / math.Sqrt(2*float64(cfg.NLayer))
	add("wte.weight", 0.02, 0, cfg.VocabSize, E)
	add("wpe.weight", 0.01, 0, cfg.NPositions, E)
	for l := 0; l < cfg.NLayer; l++ {
		p := fmt.Sprintf("h.%d.", l)
		add(p+"ln_1.weight", 0, 1, E)
		add(p+"ln_1.bias", 0, 0, E)
		add(p+"attn.c_attn.weight", 0.02, 0, E, 3*E)
		add(p+"attn.c_attn.bias", 0, 0, 3*E)
		add(p+"attn.c_proj.weight", proj, 0, E, E)
		add(p+"attn.c_proj.bias", 0, 0, E)
		add(p+"ln_2.weight", 0, 1, E)
		add(p+"ln_2.bias", 0, 0, E)
		add(p+"mlp.c_fc.weight", 0.02, 0, E, I)
		add(p+"mlp.c_fc.bias", 0, 0, I)
		add(p+"mlp.c_proj.weight", proj, 0, I, E)
		add(p+"mlp.c_proj.bias", 0, 0, E)
	}
	add("ln_f.weight", 0, 1, E)
	add("ln_f.bias", 0, 0, E)
	out, err := w.Tensors()
	if err != nil {
		return nil, fmt.Errorf("gpt2: %w", err)
	}
	return out, nil
}

// WriteRandom writes config.json and model.safetensors with random weights to dir.
func WriteRandom(dir string, cfg Config, dt tensor.DType, seed uint64) error {
	tensors, err := RandomTensors(cfg, dt, seed)
	if err != nil {
		return err
	}
	if err := nn.WriteCheckpoint(dir, tensors, map[string]any{
		"architectures": []string{"GPT2LMHeadModel"}, "model_type": "gpt2", "activation_function": cfg.Activation,
		"n_layer": cfg.NLayer, "n_embd": cfg.NEmbd, "n_head": cfg.NHead, "n_positions": cfg.NPositions, "n_ctx": cfg.NPositions,
		"n_inner": cfg.NInner, "vocab_size": cfg.VocabSize, "layer_norm_epsilon": cfg.LayerNormEps,
		"bos_token_id": 50256, "eos_token_id": 50256, "torch_dtype": nn.TorchDType(dt), "initializer_range": 0.02, "use_cache": true,
	}); err != nil {
		return fmt.Errorf("gpt2: %w", err)
	}
	return nil
}
