package bert

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
)

// encoderGolden is one golden.json of tools/bert/make_encoder_goldens.py.
type encoderGolden struct {
	Arch, Head string
	Texts      []string
	IDs        [][]int     `json:"ids"`
	Mask       [][]int     `json:"mask"`
	Pair       [2]string   `json:"pair"`
	PairIDs    []int       `json:"pair_ids"`
	PairTypes  []int       `json:"pair_types"`
	Hidden     [][]float32 `json:"hidden"`
	PairHidden []float32   `json:"pair_hidden"`
	MaskRows   [][2]int    `json:"mask_rows"`
	MaskLogits [][]float32 `json:"mask_logits"`
	FillMask   [][]struct {
		Token    int     `json:"token"`
		Score    float32 `json:"score"`
		TokenStr string  `json:"token_str"`
		Sequence string  `json:"sequence"`
	} `json:"fill_mask"`
	Logits     json.RawMessage `json:"logits"`
	PairLogits []float32       `json:"pair_logits"`
	Rerank     *struct {
		Query     string    `json:"query"`
		Documents []string  `json:"documents"`
		MaxLength int       `json:"max_length"`
		Scores    []float32 `json:"scores"`
	} `json:"rerank"`
	NERText string `json:"ner_text"`
	NER     []struct {
		Group      string  `json:"entity_group"`
		Score      float32 `json:"score"`
		Word       string  `json:"word"`
		Start, End int
	} `json:"ner"`
	StartLogits  []float32   `json:"start_logits"`
	EndLogits    []float32   `json:"end_logits"`
	STEmbeddings [][]float32 `json:"st_embeddings"`
}

// encoderFixtures lists testdata/encoders/ARCH-HEAD.
func encoderFixtures(t *testing.T) []string {
	dirs, err := filepath.Glob(filepath.Join("testdata", "encoders", "*-*"))
	require.NoError(t, err)
	require.Len(t, dirs, 24, "six architectures × four heads")
	return dirs
}

func readEncoderGolden(t *testing.T, dir string) encoderGolden {
	raw, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	require.NoError(t, err)
	var g encoderGolden
	require.NoError(t, json.Unmarshal(raw, &g))
	return g
}

// closeRel is close with the tolerance scaled by the golden's largest magnitude (at
// least 1): random heads with initializer_range 0.5 make logits in the tens.
func closeRel(t *testing.T, want, got []float32, tol float64, what string) {
	t.Helper()
	scale := 1.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	close(t, want, got, tol*scale, what)
}

// TestEncoderFamilyMatchesTransformers runs every architecture and head of the
// family against transformers 4.46.3 on the same random checkpoints: the tokenizer's
// ids, the last hidden state of a padded batch and of a pair, each head's outputs,
// and the pipelines built on them (fill-mask, NER with the simple aggregation,
// CrossEncoder scores, sentence-transformers embeddings).
func TestEncoderFamilyMatchesTransformers(t *testing.T) {
	ctx := context.Background()
	for _, dir := range encoderFixtures(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			g := readEncoderGolden(t, dir)
			m, err := Load(dir)
			require.NoError(t, err)
			modelType := g.Arch
			require.Equal(t, modelType, m.Config().ModelType)

			// The tokenizer: the batch's ids without padding, and the pair.
			encs, err := m.Encode(g.Texts, false)
			require.NoError(t, err)
			for i, e := range encs {
				n := 0
				for _, v := range g.Mask[i] {
					n += v
				}
				require.Equal(t, g.IDs[i][:n], e.IDs, "text %d", i)
			}
			pair, err := m.EncodePair(g.Pair[0], g.Pair[1], false)
			require.NoError(t, err)
			require.Equal(t, g.PairIDs, pair.IDs, "pair")
			if g.PairTypes != nil && m.typed() {
				require.Equal(t, g.PairTypes, pair.TypeIDs, "pair types")
			}

			// The network on the padded batch: every real token's hidden state.
			b := NewBatch(encs)
			for i := range b.IDs { // padding as transformers pads: pad_token_id, mask 0
				if b.Mask[i] == 0 {
					b.IDs[i] = m.Config().PadTokenID
				}
			}
			hidden, err := m.Forward(b)
			require.NoError(t, err)
			E := m.Config().Hidden
			for i, want := range g.Hidden {
				close(t, want, hidden[i*b.T*E:][:len(want)], 1e-4, "hidden")
			}
			pb := NewBatch([]Encoding{pair})
			pairHidden, err := m.Forward(pb)
			require.NoError(t, err)
			close(t, g.PairHidden, pairHidden, 1e-4, "pair hidden")

			switch g.Head {
			case "mlm":
				var rows []int
				for _, r := range g.MaskRows {
					rows = append(rows, r[0]*b.T+r[1])
				}
				logits, err := m.MLMLogits(hidden, rows)
				require.NoError(t, err)
				V := m.Config().VocabSize
				for i, want := range g.MaskLogits {
					closeRel(t, want, logits[i*V:(i+1)*V], 1e-4, "mask logits")
				}
				for i, text := range g.Texts {
					fills, err := m.FillMask(ctx, text, 5)
					require.NoError(t, err)
					require.Len(t, fills, 1)
					for k, want := range g.FillMask[i] {
						got := fills[0][k]
						require.Equal(t, want.Token, got.ID, "fill %d of %q", k, text)
						require.InDelta(t, want.Score, got.Score, 1e-5)
						require.Equal(t, want.TokenStr, got.Token)
						require.Equal(t, want.Sequence, got.Text)
					}
				}
			case "seq":
				var want []float32
				require.NoError(t, json.Unmarshal(g.Logits, &want))
				logits, err := m.ClassLogits(hidden, b)
				require.NoError(t, err)
				closeRel(t, want, logits, 1e-4, "logits")
				logits, err = m.ClassLogits(pairHidden, pb)
				require.NoError(t, err)
				closeRel(t, g.PairLogits, logits, 1e-4, "pair logits")
				if r := g.Rerank; r != nil {
					scores, err := m.Rerank(ctx, r.Query, r.Documents, r.MaxLength)
					require.NoError(t, err)
					close(t, r.Scores, scores, 1e-5, "CrossEncoder scores")
				}
			case "tok":
				var want [][]float32
				require.NoError(t, json.Unmarshal(g.Logits, &want))
				logits, err := m.TokenLogits(hidden, b)
				require.NoError(t, err)
				n := len(m.TokenLabels())
				require.Empty(t, m.Labels(), "no sequence labels on a token classifier")
				for i, w := range want {
					closeRel(t, w, logits[i*b.T*n:][:len(w)], 1e-4, "token logits")
				}
				ents, err := m.Entities(ctx, []string{g.NERText})
				require.NoError(t, err)
				require.Len(t, ents[0], len(g.NER))
				for i, w := range g.NER {
					e := ents[0][i]
					require.Equal(t, [3]any{w.Group, w.Start, w.End}, [3]any{e.Label, e.Start, e.End}, "entity %d", i)
					require.Equal(t, w.Word, e.Word, "entity %d", i)
					require.InDelta(t, w.Score, e.Score, 1e-5, "entity %d", i)
				}
			case "qa":
				start, end, err := m.QALogits(pairHidden, pb)
				require.NoError(t, err)
				closeRel(t, g.StartLogits, start, 1e-4, "start logits")
				closeRel(t, g.EndLogits, end, 1e-4, "end logits")
			}
			if g.STEmbeddings != nil {
				embs, err := m.EmbedWith(ctx, encs, Pooling{Modes: PoolMean, Normalize: true})
				require.NoError(t, err)
				for i, want := range g.STEmbeddings {
					close(t, want, embs[i], 1e-5, "sentence-transformers embedding")
				}
			}
		})
	}
}

// TestEncoderFamilyInt8 runs every architecture with int8 weights: each text's
// mean-pooled embedding within cosine 0.99 of transformers' float32, the criterion
// of TestInt8Accuracy (single tokens of these random networks, with weights 25 times
// a trained model's spread, fall to 0.83).
func TestEncoderFamilyInt8(t *testing.T) {
	checkEncoderPrecision(t, "int8", 0.99, nn.WithQuantization(nn.Int8))
}

// TestEncoderFamilyBF16: BF16 compute keeps every architecture's mean-pooled
// embeddings within cosine 0.999 of transformers' F32 ones; a host without BF16
// matrix units refuses the option at load, naming why.
func TestEncoderFamilyBF16(t *testing.T) {
	if ok, why := ops.BF16Available(); !ok {
		for _, dir := range encoderFixtures(t) {
			_, err := Load(dir, nn.WithCompute(nn.BF16))
			require.ErrorIs(t, err, ops.ErrNoBF16, why)
			require.ErrorIs(t, err, nn.ErrOption)
		}
		return
	}
	checkEncoderPrecision(t, "bf16", 0.999, nn.WithCompute(nn.BF16))
	_, err := Load(encoderFixtures(t)[0], nn.WithCompute(nn.BF16), nn.WithQuantization(nn.Int8))
	require.ErrorIs(t, err, nn.ErrOption)
}

func checkEncoderPrecision(t *testing.T, name string, minCos float64, opt nn.Option) {
	for _, dir := range encoderFixtures(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			g := readEncoderGolden(t, dir)
			m, err := Load(dir, opt)
			require.NoError(t, err)
			encs, err := m.Encode(g.Texts, false)
			require.NoError(t, err)
			b := NewBatch(encs)
			hidden, err := m.Forward(b)
			require.NoError(t, err)
			E := m.Config().Hidden
			got := SentenceEmbeddings(hidden, b, E, Pooling{})
			worst := 1.0
			for i, want := range g.Hidden {
				n := len(want) / E
				mean := make([]float32, E)
				for r := 0; r < n; r++ {
					for j := range mean {
						mean[j] += want[r*E+j] / float32(n)
					}
				}
				worst = math.Min(worst, cosine(mean, got[i*E:(i+1)*E]))
			}
			require.GreaterOrEqual(t, worst, minCos)
			t.Logf("%s %s: worst embedding cosine %.5f", filepath.Base(dir), name, worst)
		})
	}
}

// TestRelativeBucket checks MPNet's bucket of every relative position from −700 to
// 700 against transformers' relative_position_bucket.
func TestRelativeBucket(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "encoders", "mpnet_buckets.json"))
	require.NoError(t, err)
	var want []int
	require.NoError(t, json.Unmarshal(raw, &want))
	require.Len(t, want, 1401)
	for i, w := range want {
		require.Equal(t, w, relativeBucket(i-700), "relative position %d", i-700)
	}
}

// TestEncoderConfigRefused: an unknown model_type fails at load naming it and the
// supported ones; a config that does not match its checkpoint fails naming the
// tensor; architecture-specific limits are checked.
func TestEncoderConfigRefused(t *testing.T) {
	copyDir := func(t *testing.T, src string, edit func(map[string]any)) string {
		dir := t.TempDir()
		for _, f := range []string{"model.safetensors", "tokenizer.json", "config.json"} {
			raw, err := os.ReadFile(filepath.Join(src, f))
			require.NoError(t, err)
			if f == "config.json" {
				var c map[string]any
				require.NoError(t, json.Unmarshal(raw, &c))
				edit(c)
				raw, err = json.Marshal(c)
				require.NoError(t, err)
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, f), raw, 0o644))
		}
		return dir
	}
	src := filepath.Join("testdata", "encoders", "mpnet-mlm")
	for _, c := range []struct {
		name string
		edit func(map[string]any)
		want []string
	}{
		{"unknown model_type", func(c map[string]any) { c["model_type"] = "deberta-v2" },
			[]string{`model_type "deberta-v2" is not supported`, "bert, camembert, distilbert, mpnet, roberta, xlm-roberta"}},
		{"mpnet config on roberta names", func(c map[string]any) { c["model_type"] = "roberta" },
			[]string{`missing tensor "embeddings.word_embeddings.weight"`}}, // its names are mpnet.*
		{"wrong hidden size", func(c map[string]any) { c["hidden_size"] = 48 }, []string{"embeddings.word_embeddings"}},
		{"too few buckets", func(c map[string]any) { c["relative_attention_num_buckets"] = 16 }, []string{"relative_attention_num_buckets 16"}},
		{"pad outside the vocabulary", func(c map[string]any) { c["pad_token_id"] = 5000 }, []string{"pad_token_id 5000"}},
		{"no positions after the pad", func(c map[string]any) { c["max_position_embeddings"] = 2 }, []string{"leaves no position"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(copyDir(t, src, c.edit))
			require.Error(t, err)
			for _, w := range c.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
	// 66 positions with pad_token_id 1 hold 64 tokens: one more is refused, not an
	// index past the position table.
	m, err := Load(src)
	require.NoError(t, err)
	require.Equal(t, 64, m.ContextLength())
	long := Batch{B: 1, T: 65, IDs: make([]int, 65), Types: make([]int, 65), Mask: make([]int, 65)}
	for i := range long.IDs {
		long.IDs[i], long.Mask[i] = 5, 1
	}
	_, err = m.Forward(long)
	require.ErrorIs(t, err, ErrInput)
	long.B, long.T, long.IDs, long.Types, long.Mask = 1, 64, long.IDs[:64], long.Types[:64], long.Mask[:64]
	_, err = m.Forward(long)
	require.NoError(t, err)
}

// TestWriteRandomEveryArch writes a tiny random checkpoint of each architecture and
// loads it back.
func TestWriteRandomEveryArch(t *testing.T) {
	for _, mt := range SupportedModelTypes() {
		t.Run(mt, func(t *testing.T) {
			cfg, err := SizeConfig("tiny")
			require.NoError(t, err)
			cfg.ModelType, cfg.PadTokenID = mt, 1
			if mt == "mpnet" {
				cfg.RelativeBuckets = 32
			}
			if mt == "distilbert" {
				cfg.LayerNormEps = 1e-12
			}
			dir := t.TempDir()
			require.NoError(t, WriteRandom(dir, cfg, 3))
			m, err := Load(dir)
			require.NoError(t, err)
			got := m.Config()
			require.Equal(t, [6]any{mt, cfg.VocabSize, cfg.Hidden, cfg.Layers, cfg.PadTokenID, cfg.MaxPositions},
				[6]any{got.ModelType, got.VocabSize, got.Hidden, got.Layers, got.PadTokenID, got.MaxPositions})
			b := Batch{B: 1, T: 3, IDs: []int{0, 7, 2}, Types: []int{0, 0, 0}, Mask: []int{1, 1, 1}}
			h, err := m.Forward(b)
			require.NoError(t, err)
			require.Len(t, h, 3*cfg.Hidden)
		})
	}
}

// FuzzConfig: config.json of any architecture parses into a valid configuration or
// fails with an error — never a panic — and a parsed one always validates.
func FuzzConfig(f *testing.F) {
	for _, dir := range []string{"bert-seq", "roberta-mlm", "distilbert-tok", "mpnet-qa"} {
		raw, err := os.ReadFile(filepath.Join("testdata", "encoders", dir, "config.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte(`{"model_type":"mpnet","vocab_size":5,"hidden_size":4,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":4,"max_position_embeddings":3,"pad_token_id":1}`))
	f.Add([]byte(`{"model_type":"distilbert","dim":-4}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := parseConfig(raw)
		if err != nil {
			return
		}
		if err := c.validate(); err != nil {
			t.Fatalf("parsed but invalid: %v", err)
		}
		a, err := archOf(c.ModelType)
		if err != nil || a.maxTokens(c) <= 0 {
			t.Fatalf("parsed %+v: %v, %d positions", c, err, a.maxTokens(c))
		}
	})
}

// TestSpecialsPreferAddedTokens: MPNet's vocabulary keeps BERT's [PAD], [CLS] and
// [MASK] as plain words beside its special <pad>, <s> and <mask>: the tokenizer pads
// with <pad> and fills <mask>, as transformers' MPNetTokenizerFast does.
func TestSpecialsPreferAddedTokens(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "encoders", "mpnet-mlm", "tokenizer.json"))
	require.NoError(t, err)
	var j map[string]any
	require.NoError(t, json.Unmarshal(raw, &j))
	vocab := j["model"].(map[string]any)["vocab"].(map[string]any)
	next := len(vocab) + 1
	for _, w := range []string{"[PAD]", "[CLS]", "[SEP]", "[MASK]"} {
		vocab[w] = next
		next++
	}
	raw, err = json.Marshal(j)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tokenizer.json"), raw, 0o644))
	tok, err := LoadTokenizer(dir)
	require.NoError(t, err)
	want := func(name string) int {
		id, ok := tok.Engine().TokenToID(name)
		require.True(t, ok, name)
		return id
	}
	require.Equal(t, [4]int{want("<s>"), want("</s>"), want("<pad>"), want("<mask>")}, [4]int{tok.CLS, tok.SEP, tok.PAD, tok.MASK})
	require.Equal(t, "<mask>", tok.MaskToken)
}

// TestEncoderTasksOnHostileInputs: empty and oversize texts, two masks, and heads a
// checkpoint lacks get answers or ErrInput, never a panic.
func TestEncoderTasksOnHostileInputs(t *testing.T) {
	ctx := context.Background()
	ner, err := Load(filepath.Join("testdata", "encoders", "roberta-tok"))
	require.NoError(t, err)
	ents, err := ner.Entities(ctx, []string{""})
	require.NoError(t, err)
	require.Empty(t, ents[0], "an empty text has no entities")
	_, err = ner.Entities(ctx, []string{strings.Repeat("Berlin ", 200)})
	require.ErrorIs(t, err, ErrInput, "longer than the positions")
	_, err = ner.Entities(ctx, nil)
	require.ErrorIs(t, err, ErrInput)
	_, err = ner.FillMask(ctx, "no head <mask>", 3)
	require.ErrorIs(t, err, ErrInput)
	_, err = ner.Rerank(ctx, "q", []string{"d"}, 0)
	require.ErrorIs(t, err, ErrInput, "a token classifier is no cross-encoder")

	mlm, err := Load(filepath.Join("testdata", "encoders", "xlm-roberta-mlm"))
	require.NoError(t, err)
	fills, err := mlm.FillMask(ctx, "<mask> and <mask>", 2)
	require.NoError(t, err)
	require.Len(t, fills, 2)
	for _, f := range fills {
		require.Contains(t, f[0].Text, "<mask>", "with several masks the others stay, as transformers keeps them")
	}
	_, err = mlm.Entities(ctx, []string{"x"})
	require.ErrorIs(t, err, ErrInput)
	ctxDone, cancel := context.WithCancel(ctx)
	cancel()
	_, err = mlm.FillMask(ctxDone, "<mask>", 1)
	require.ErrorIs(t, err, context.Canceled)
}
