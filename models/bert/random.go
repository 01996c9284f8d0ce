package bert

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/tensor"
)

// SizeConfig returns the configuration of "base" (bert-base-uncased), "large"
// (bert-large-uncased), "minilm-l6" (all-MiniLM-L6-v2) or "tiny" (2 × 64, for tests).
func SizeConfig(size string) (Config, error) {
	c := Config{VocabSize: 30522, MaxPositions: 512, TypeVocabSize: 2, LayerNormEps: 1e-12, HiddenAct: "gelu"}
	switch size {
	case "tiny":
		c.Layers, c.Hidden, c.Heads, c.Intermediate, c.MaxPositions = 2, 64, 4, 128, 128
	case "base":
		c.Layers, c.Hidden, c.Heads, c.Intermediate = 12, 768, 12, 3072
	case "large":
		c.Layers, c.Hidden, c.Heads, c.Intermediate = 24, 1024, 16, 4096
	case "minilm-l6":
		c.Layers, c.Hidden, c.Heads, c.Intermediate = 6, 384, 12, 1536
	default:
		return Config{}, fmt.Errorf("bert: unknown size %q (want base, large, minilm-l6 or tiny)", size)
	}
	return c, nil
}

// RandomTensors draws BertModel weights (with pooler) as HF initialises them —
// N(0, 0.02) weights, zero biases, unit LayerNorm weights — in the no-prefix naming.
func RandomTensors(cfg Config, seed uint64) (map[string]*tensor.Tensor, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	r := rand.New(rand.NewPCG(seed, 0x51ed270b27f4a7c1))
	out := map[string]*tensor.Tensor{}
	var err error
	add := func(name string, std float64, fill float32, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = fill
			if std > 0 {
				v[i] = float32(r.NormFloat64() * std)
			}
		}
		t, e := tensor.FromFloat32(v, shape...)
		if e != nil && err == nil {
			err = e
		}
		out[name] = t
	}
	E, I := cfg.Hidden, cfg.Intermediate
	add("embeddings.word_embeddings.weight", 0.02, 0, cfg.VocabSize, E)
	add("embeddings.position_embeddings.weight", 0.02, 0, cfg.MaxPositions, E)
	add("embeddings.token_type_embeddings.weight", 0.02, 0, cfg.TypeVocabSize, E)
	add("embeddings.LayerNorm.weight", 0, 1, E)
	add("embeddings.LayerNorm.bias", 0, 0, E)
	for l := 0; l < cfg.Layers; l++ {
		p := fmt.Sprintf("encoder.layer.%d.", l)
		for _, n := range []string{"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"} {
			add(p+n+".weight", 0.02, 0, E, E)
			add(p+n+".bias", 0, 0, E)
		}
		add(p+"attention.output.LayerNorm.weight", 0, 1, E)
		add(p+"attention.output.LayerNorm.bias", 0, 0, E)
		add(p+"intermediate.dense.weight", 0.02, 0, I, E)
		add(p+"intermediate.dense.bias", 0, 0, I)
		add(p+"output.dense.weight", 0.02, 0, E, I)
		add(p+"output.dense.bias", 0, 0, E)
		add(p+"output.LayerNorm.weight", 0, 1, E)
		add(p+"output.LayerNorm.bias", 0, 0, E)
	}
	add("pooler.dense.weight", 0.02, 0, E, E)
	add("pooler.dense.bias", 0, 0, E)
	return out, err
}

// WriteRandom writes config.json and model.safetensors with random weights to dir.
func WriteRandom(dir string, cfg Config, seed uint64) error {
	tensors, err := RandomTensors(cfg, seed)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bert: %w", err)
	}
	if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), tensors, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	raw, _ := json.MarshalIndent(map[string]any{
		"architectures": []string{"BertModel"}, "model_type": "bert", "vocab_size": cfg.VocabSize,
		"hidden_size": cfg.Hidden, "num_hidden_layers": cfg.Layers, "num_attention_heads": cfg.Heads,
		"intermediate_size": cfg.Intermediate, "max_position_embeddings": cfg.MaxPositions,
		"type_vocab_size": cfg.TypeVocabSize, "layer_norm_eps": cfg.LayerNormEps, "hidden_act": cfg.HiddenAct,
		"position_embedding_type": "absolute", "pad_token_id": 0, "torch_dtype": "float32",
	}, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("bert: %w", err)
	}
	return nil
}
