package bert

import (
	"fmt"

	"github.com/lumen-ml/lumen/models/nn"
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
	w := nn.NewRandomWeights(tensor.F32, seed, 0x51ed270b27f4a7c1)
	add := w.Add
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
	out, err := w.Tensors()
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	return out, nil
}

// WriteRandom writes config.json and model.safetensors with random weights to dir.
func WriteRandom(dir string, cfg Config, seed uint64) error {
	tensors, err := RandomTensors(cfg, seed)
	if err != nil {
		return err
	}
	if err := nn.WriteCheckpoint(dir, tensors, map[string]any{
		"architectures": []string{"BertModel"}, "model_type": "bert", "vocab_size": cfg.VocabSize,
		"hidden_size": cfg.Hidden, "num_hidden_layers": cfg.Layers, "num_attention_heads": cfg.Heads,
		"intermediate_size": cfg.Intermediate, "max_position_embeddings": cfg.MaxPositions,
		"type_vocab_size": cfg.TypeVocabSize, "layer_norm_eps": cfg.LayerNormEps, "hidden_act": cfg.HiddenAct,
		"position_embedding_type": "absolute", "pad_token_id": 0, "torch_dtype": "float32",
	}); err != nil {
		return fmt.Errorf("bert: %w", err)
	}
	return nil
}
