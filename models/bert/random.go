package bert

import (
	"cmp"
	"fmt"

	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/tensor"
)

// SizeConfig returns the configuration of "base" (bert-base-uncased), "large"
// (bert-large-uncased), "minilm-l6" (all-MiniLM-L6-v2), "mpnet-base"
// (all-mpnet-base-v2's MPNet), "xlmr-base" (xlm-roberta-base, 250 002 tokens) or
// "tiny" (2 × 64, for tests).
func SizeConfig(size string) (Config, error) {
	c := Config{ModelType: "bert", VocabSize: 30522, MaxPositions: 512, TypeVocabSize: 2, LayerNormEps: 1e-12, HiddenAct: "gelu"}
	switch size {
	case "tiny":
		c.Layers, c.Hidden, c.Heads, c.Intermediate, c.MaxPositions = 2, 64, 4, 128, 128
	case "base":
		c.Layers, c.Hidden, c.Heads, c.Intermediate = 12, 768, 12, 3072
	case "large":
		c.Layers, c.Hidden, c.Heads, c.Intermediate = 24, 1024, 16, 4096
	case "minilm-l6":
		c.Layers, c.Hidden, c.Heads, c.Intermediate = 6, 384, 12, 1536
	case "mpnet-base":
		c = Config{ModelType: "mpnet", VocabSize: 30527, MaxPositions: 514, PadTokenID: 1, RelativeBuckets: 32, LayerNormEps: 1e-5,
			HiddenAct: "gelu", Layers: 12, Hidden: 768, Heads: 12, Intermediate: 3072}
	case "xlmr-base":
		c = Config{ModelType: "xlm-roberta", VocabSize: 250002, MaxPositions: 514, PadTokenID: 1, TypeVocabSize: 1, LayerNormEps: 1e-5,
			HiddenAct: "gelu", Layers: 12, Hidden: 768, Heads: 12, Intermediate: 3072}
	default:
		return Config{}, fmt.Errorf("bert: unknown size %q (want base, large, minilm-l6, mpnet-base, xlmr-base or tiny)", size)
	}
	return c, nil
}

// RandomTensors draws the base model's weights (with pooler, except DistilBERT's)
// as HF initialises them — N(0, 0.02) weights, zero biases, unit LayerNorm weights —
// in the no-prefix naming of cfg's architecture.
func RandomTensors(cfg Config, seed uint64) (map[string]*tensor.Tensor, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	a, _ := archOf(cfg.ModelType)
	w := nn.NewRandomWeights(tensor.F32, seed, 0x51ed270b27f4a7c1)
	add := w.Add
	linear := func(name string, out, in int) {
		add(name+".weight", 0.02, 0, out, in)
		add(name+".bias", 0, 0, out)
	}
	norm := func(name string, n int) {
		add(name+".weight", 0, 1, n)
		add(name+".bias", 0, 0, n)
	}
	E, I := cfg.Hidden, cfg.Intermediate
	add("embeddings.word_embeddings.weight", 0.02, 0, cfg.VocabSize, E)
	add("embeddings.position_embeddings.weight", 0.02, 0, cfg.MaxPositions, E)
	if a.tokenTypes {
		add("embeddings.token_type_embeddings.weight", 0.02, 0, cfg.TypeVocabSize, E)
	}
	norm(a.embNorm, E)
	if a.relative {
		add("encoder.relative_attention_bias.weight", 0.02, 0, cfg.RelativeBuckets, cfg.Heads)
	}
	for l := 0; l < cfg.Layers; l++ {
		p := fmt.Sprintf(a.layers, l) + "."
		for _, n := range []string{a.query, a.key, a.value, a.attnOut} {
			linear(p+n, E, E)
		}
		norm(p+a.attnNorm, E)
		linear(p+a.up, I, E)
		linear(p+a.down, E, I)
		norm(p+a.outNorm, E)
	}
	if cfg.ModelType != "distilbert" {
		linear("pooler.dense", E, E)
	}
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
	mt := cmp.Or(cfg.ModelType, "bert")
	config := map[string]any{
		"architectures": []string{archClass[mt] + "Model"}, "model_type": mt, "vocab_size": cfg.VocabSize,
		"hidden_size": cfg.Hidden, "num_hidden_layers": cfg.Layers, "num_attention_heads": cfg.Heads,
		"intermediate_size": cfg.Intermediate, "max_position_embeddings": cfg.MaxPositions,
		"type_vocab_size": cfg.TypeVocabSize, "layer_norm_eps": cfg.LayerNormEps, "hidden_act": cfg.HiddenAct,
		"position_embedding_type": "absolute", "pad_token_id": cfg.PadTokenID, "torch_dtype": "float32",
	}
	switch mt {
	case "mpnet":
		delete(config, "type_vocab_size")
		config["relative_attention_num_buckets"] = cfg.RelativeBuckets
	case "distilbert":
		config = map[string]any{"architectures": []string{"DistilBertModel"}, "model_type": mt, "vocab_size": cfg.VocabSize,
			"dim": cfg.Hidden, "n_layers": cfg.Layers, "n_heads": cfg.Heads, "hidden_dim": cfg.Intermediate,
			"max_position_embeddings": cfg.MaxPositions, "activation": cfg.HiddenAct, "pad_token_id": cfg.PadTokenID,
			"torch_dtype": "float32"}
	}
	if err := nn.WriteCheckpoint(dir, tensors, config); err != nil {
		return fmt.Errorf("bert: %w", err)
	}
	return nil
}

// archClass is transformers' class-name stem of each model_type.
var archClass = map[string]string{"bert": "Bert", "roberta": "Roberta", "xlm-roberta": "XLMRoberta", "camembert": "Camembert",
	"distilbert": "DistilBert", "mpnet": "MPNet"}
