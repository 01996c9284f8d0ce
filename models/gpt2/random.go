package gpt2

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/lumen-ml/lumen/loader/safetensors"
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
	if dt != tensor.F32 && dt != tensor.F16 && dt != tensor.BF16 {
		return nil, fmt.Errorf("gpt2: random weights in %v: want F32, F16 or BF16", dt)
	}
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	out := map[string]*tensor.Tensor{}
	var err error
	add := func(name string, std float64, fill float32, shape ...int) {
		if err != nil {
			return
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		vals := make([]float32, n)
		for i := range vals {
			if std > 0 {
				vals[i] = float32(r.NormFloat64() * std)
			} else {
				vals[i] = fill
			}
		}
		var t *tensor.Tensor
		switch dt {
		case tensor.F32:
			t, err = tensor.FromFloat32(vals, shape...)
		default:
			bits := make([]uint16, n)
			if dt == tensor.F16 {
				tensor.F32ToF16Slice(bits, vals)
			} else {
				tensor.F32ToBF16Slice(bits, vals)
			}
			t, err = tensor.FromUint16(dt, bits, shape...)
		}
		out[name] = t
	}
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
	return out, err
}

// WriteRandom writes config.json and model.safetensors with random weights to dir.
func WriteRandom(dir string, cfg Config, dt tensor.DType, seed uint64) error {
	tensors, err := RandomTensors(cfg, dt, seed)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("gpt2: %w", err)
	}
	if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), tensors, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	torchDtype := map[tensor.DType]string{tensor.F32: "float32", tensor.F16: "float16", tensor.BF16: "bfloat16"}[dt]
	raw, _ := json.MarshalIndent(map[string]any{
		"architectures": []string{"GPT2LMHeadModel"}, "model_type": "gpt2", "activation_function": cfg.Activation,
		"n_layer": cfg.NLayer, "n_embd": cfg.NEmbd, "n_head": cfg.NHead, "n_positions": cfg.NPositions, "n_ctx": cfg.NPositions,
		"n_inner": cfg.NInner, "vocab_size": cfg.VocabSize, "layer_norm_epsilon": cfg.LayerNormEps,
		"bos_token_id": 50256, "eos_token_id": 50256, "torch_dtype": torchDtype, "initializer_range": 0.02, "use_cache": true,
	}, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("gpt2: %w", err)
	}
	return nil
}
