package bert

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// The encoder family is one network (bert.go); this file holds everything that
// differs between its architectures, as config.json's model_type names them: the
// checkpoint's module names, how positions are counted, whether token types exist,
// MPNet's relative position bias, and the shape of each task head.
//
//	              embeddings             positions            layer modules                       sequence head
//	bert          word+position+type     0, 1, …              attention.self.{query,key,value}    pooler.dense, tanh, classifier
//	roberta       word+position(+type)   pad+1, pad+2, …      attention.self.{query,key,value}    classifier.dense, tanh, classifier.out_proj
//	distilbert    word+position          0, 1, …              attention.{q,k,v}_lin               pre_classifier, relu, classifier
//	mpnet         word+position          pad+1, pad+2, …      attention.attn.{q,k,v}, + bias      classifier.dense, tanh, classifier.out_proj
//
// xlm-roberta and camembert are roberta with another tokenizer.

// arch is one architecture's differences from BERT.
type arch struct {
	prefix string // the base model's name in task checkpoints ("bert.")
	layers string // the layer stack, a format of the layer index

	// A layer's modules, under layers.
	query, key, value, attnOut, attnNorm, up, down, outNorm string

	embNorm      string // the embeddings' LayerNorm
	tokenTypes   bool   // embeddings.token_type_embeddings exists
	padPositions bool   // position ids count from pad_token_id+1, pads at pad_token_id (RoBERTa's create_position_ids_from_input_ids)
	relative     bool   // MPNet: encoder.relative_attention_bias, one table for every layer

	// The sequence-classification head on the first token: pre (a Linear), its
	// activation, then out. preInBase: pre is part of the base model (BERT's pooler).
	seqPre, seqOut string
	seqPreReLU     bool
	preInBase      bool

	// The masked-LM head: transform, activation, LayerNorm, decoder tied to the
	// word embeddings (or its own weight when stored) with bias.
	mlmDense, mlmNorm, mlmDecoder, mlmBias string
	mlmGELU                                bool // gelu whatever hidden_act says (RoBERTa's, MPNet's lm_head)

	defaults Config // config.json's defaults, as transformers' config class has them
}

var bertArch = arch{
	prefix: "bert.", layers: "encoder.layer.%d",
	query: "attention.self.query", key: "attention.self.key", value: "attention.self.value",
	attnOut: "attention.output.dense", attnNorm: "attention.output.LayerNorm",
	up: "intermediate.dense", down: "output.dense", outNorm: "output.LayerNorm",
	embNorm: "embeddings.LayerNorm", tokenTypes: true,
	seqPre: "pooler.dense", seqOut: "classifier", preInBase: true,
	mlmDense: "cls.predictions.transform.dense", mlmNorm: "cls.predictions.transform.LayerNorm",
	mlmDecoder: "cls.predictions.decoder", mlmBias: "cls.predictions.bias",
	defaults: Config{LayerNormEps: 1e-12, HiddenAct: "gelu", TypeVocabSize: 2, MaxPositions: 512},
}

var robertaArch = func() arch {
	a := bertArch
	a.prefix, a.padPositions = "roberta.", true
	a.seqPre, a.seqOut, a.preInBase = "classifier.dense", "classifier.out_proj", false
	a.mlmDense, a.mlmNorm, a.mlmDecoder, a.mlmBias, a.mlmGELU = "lm_head.dense", "lm_head.layer_norm", "lm_head.decoder", "lm_head.bias", true
	a.defaults.PadTokenID = 1
	return a
}()

// archs maps config.json's model_type to its architecture.
var archs = map[string]arch{
	"bert":        bertArch,
	"roberta":     robertaArch,
	"xlm-roberta": robertaArch,
	"camembert":   robertaArch,
	"distilbert": {
		prefix: "distilbert.", layers: "transformer.layer.%d",
		query: "attention.q_lin", key: "attention.k_lin", value: "attention.v_lin",
		attnOut: "attention.out_lin", attnNorm: "sa_layer_norm",
		up: "ffn.lin1", down: "ffn.lin2", outNorm: "output_layer_norm",
		embNorm: "embeddings.LayerNorm",
		seqPre:  "pre_classifier", seqOut: "classifier", seqPreReLU: true,
		mlmDense: "vocab_transform", mlmNorm: "vocab_layer_norm", mlmDecoder: "vocab_projector", mlmBias: "vocab_projector.bias",
		defaults: Config{LayerNormEps: 1e-12, HiddenAct: "gelu", MaxPositions: 512},
	},
	"mpnet": {
		prefix: "mpnet.", layers: "encoder.layer.%d",
		query: "attention.attn.q", key: "attention.attn.k", value: "attention.attn.v",
		attnOut: "attention.attn.o", attnNorm: "attention.LayerNorm",
		up: "intermediate.dense", down: "output.dense", outNorm: "output.LayerNorm",
		embNorm: "embeddings.LayerNorm", padPositions: true, relative: true,
		seqPre: "classifier.dense", seqOut: "classifier.out_proj",
		mlmDense: "lm_head.dense", mlmNorm: "lm_head.layer_norm", mlmDecoder: "lm_head.decoder", mlmBias: "lm_head.bias", mlmGELU: true,
		defaults: Config{LayerNormEps: 1e-12, HiddenAct: "gelu", MaxPositions: 514, PadTokenID: 1, RelativeBuckets: 32},
	},
}

// SupportedModelTypes lists the model_type values Load runs.
func SupportedModelTypes() []string {
	return slices.Sorted(func(yield func(string) bool) {
		for k := range archs {
			if !yield(k) {
				return
			}
		}
	})
}

// archOf returns cfg's architecture; an unknown model_type is an error listing the
// supported ones.
func archOf(modelType string) (arch, error) {
	if modelType == "" {
		modelType = "bert" // configs written before model_type, and New's callers
	}
	a, ok := archs[modelType]
	if !ok {
		return arch{}, fmt.Errorf("model_type %q is not supported (supported: %s)", modelType, strings.Join(SupportedModelTypes(), ", "))
	}
	return a, nil
}

// distilConfig is DistilBertConfig's own spelling of the shared fields.
type distilConfig struct {
	Dim        int    `json:"dim"`
	Layers     int    `json:"n_layers"`
	Heads      int    `json:"n_heads"`
	HiddenDim  int    `json:"hidden_dim"`
	Activation string `json:"activation"`
}

// parseConfig decodes config.json for its model_type, with that architecture's
// defaults, and validates it.
func parseConfig(raw []byte) (Config, error) {
	var head struct {
		ModelType string `json:"model_type"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return Config{}, err
	}
	a, err := archOf(head.ModelType)
	if err != nil {
		return Config{}, err
	}
	c := a.defaults
	if err := json.Unmarshal(raw, &c); err != nil {
		return Config{}, err
	}
	if c.ModelType == "distilbert" {
		d := distilConfig{Activation: "gelu"}
		if err := json.Unmarshal(raw, &d); err != nil {
			return Config{}, err
		}
		// DistilBERT's position table holds sinusoids when sinusoidal_pos_embds is
		// set: transformers writes them into the checkpoint, which is read as any
		// learned table.
		c.Hidden, c.Layers, c.Heads, c.Intermediate, c.HiddenAct = d.Dim, d.Layers, d.Heads, d.HiddenDim, d.Activation
		c.LayerNormEps = 1e-12 // fixed in modeling_distilbert.py
	}
	return c, c.validate()
}

// positions writes the position ids of a batch's tokens: 0, 1, … per sequence, or,
// counting from pad_token_id+1 over the tokens that are not padding with padding at
// pad_token_id, as RoBERTa and MPNet count them.
func (a arch) positions(pos []int, b Batch, pad int) {
	for s := 0; s < b.B; s++ {
		n := 0
		for t := 0; t < b.T; t++ {
			i := s*b.T + t
			switch {
			case !a.padPositions:
				pos[i] = t
			case b.IDs[i] == pad:
				pos[i] = pad
			default:
				n++
				pos[i] = pad + n
			}
		}
	}
}

// maxTokens is the longest sequence the position table holds.
func (a arch) maxTokens(c Config) int {
	if a.padPositions {
		return c.MaxPositions - c.PadTokenID - 1
	}
	return c.MaxPositions
}

// relativeBuckets is the number of MPNet's relative position buckets: transformers
// computes the bias with 32 whatever the config says (MPNetEncoder.compute_position_bias).
const relativeBuckets = 32

// relativeBucket is MPNet's (and T5's bidirectional) bucket of a key at relative
// position rel = key − query: 16 buckets a direction, the first 8 exact, the rest
// logarithmic up to a distance of 128.
func relativeBucket(rel int) int {
	const maxDistance = 128
	half := relativeBuckets / 2
	ret, n := 0, -rel
	if n < 0 {
		ret, n = half, -n
	}
	exact := half / 2
	if n < exact {
		return ret + n
	}
	v := exact + int(math.Log(float64(n)/float64(exact))/math.Log(float64(maxDistance)/float64(exact))*float64(half-exact))
	return ret + min(v, half-1)
}
