package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lumen-ml/lumen/models/bert"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
)

// bertFlags are the flags every BERT command shares.
type bertFlags struct {
	model, tokenizer string
	threads          int
	quantize         quantizeFlag
	compute          computeFlag
}

func (f *bertFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.model, "model", "", "model directory (config.json, weights, vocab.txt or tokenizer.json) or Hub id ORG/NAME[@REV] (required)")
	cmd.Flags().StringVar(&f.tokenizer, "tokenizer", "", "tokenizer directory, when the model directory has none")
	cmd.Flags().IntVar(&f.threads, "threads", 0, "worker threads (0: all CPUs)")
	f.quantize.register(cmd)
	f.compute.register(cmd)
	_ = cmd.MarkFlagRequired("model")
}

// load loads the model (a directory, or a Hub id through the cache) on a pool of
// --threads threads; closeAll closes both.
func (f *bertFlags) load(cmd *cobra.Command) (m *bert.Model, closeAll func(), err error) {
	dir, err := resolveModel(cmd.Context(), cmd.ErrOrStderr(), f.model)
	if err != nil {
		return nil, nil, err
	}
	dev, err := envDevice()
	if err != nil {
		return nil, nil, err
	}
	pool := ops.NewPool(f.threads)
	m, err = bert.Load(dir, nn.WithPool(pool), nn.WithTokenizerDir(f.tokenizer), nn.WithDevice(dev), f.quantize.option(), f.compute.option())
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	closeAll = func() { m.Close(); pool.Close() }
	if m.Tokenizer() == nil {
		closeAll()
		return nil, nil, fmt.Errorf("%s has no tokenizer (vocab.txt or tokenizer.json); pass --tokenizer DIR", f.model)
	}
	return m, closeAll, nil
}

func newEmbedCmd() *cobra.Command {
	var f bertFlags
	var pooling, promptName string
	var normalize string
	cmd := &cobra.Command{
		Use:   "embed --model DIR TEXT...",
		Short: "Sentence embeddings as an OpenAI-style JSON response",
		Long: `embed prints {"object":"list","data":[{"object":"embedding","index":0,"embedding":[...]},...],"model":DIR}.
Pooling and normalisation follow the model directory's sentence-transformers files
(modules.json, 1_Pooling/config.json); plain BERT directories default to mean pooling
without normalisation. --pooling and --normalize override. The prompts of
config_sentence_transformers.json apply as sentence-transformers applies them
(--prompt-name, else the default prompt).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, texts []string) error {
			m, closeAll, err := f.load(cmd)
			if err != nil {
				return err
			}
			defer closeAll()
			p := m.Pooling()
			switch pooling {
			case "":
			default:
				p.Modes = 0
				for _, name := range strings.Split(pooling, ",") {
					mode, err := bert.ParsePoolMode(strings.TrimSpace(name))
					if err != nil {
						return fmt.Errorf("--pooling: %w", err)
					}
					p.Modes |= mode
				}
			}
			switch normalize {
			case "":
			case "true", "false":
				p.Normalize = normalize == "true"
			default:
				return fmt.Errorf("--normalize %q: want true or false", normalize)
			}
			prompt, err := m.Prompts().Prompt(promptName)
			if err != nil {
				return fmt.Errorf("--prompt-name: %w", err)
			}
			for i := range texts {
				texts[i] = prompt + texts[i]
			}
			encs, err := m.Encode(texts, true) // longer texts are truncated, as sentence-transformers does
			if err != nil {
				return err
			}
			emb, err := m.EmbedWith(cmd.Context(), encs, p)
			if err != nil {
				return err
			}
			type item struct {
				Object    string    `json:"object"`
				Index     int       `json:"index"`
				Embedding []float32 `json:"embedding"`
			}
			resp := struct {
				Object string `json:"object"`
				Data   []item `json:"data"`
				Model  string `json:"model"`
			}{Object: "list", Model: filepath.Base(f.model)}
			for i, e := range emb {
				resp.Data = append(resp.Data, item{"embedding", i, e})
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(resp)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&pooling, "pooling", "", "cls, max, mean, mean_sqrt_len_tokens, weightedmean or lasttoken; several, comma-separated, are concatenated (default: the model directory's)")
	cmd.Flags().StringVar(&promptName, "prompt-name", "", "put this prompt of config_sentence_transformers.json before each text (default: its default_prompt_name, if any)")
	cmd.Flags().StringVar(&normalize, "normalize", "", "true or false (default: the model directory's)")
	return cmd
}

func newQACmd() *cobra.Command {
	var f bertFlags
	var question, context string
	var maxAnswer int
	cmd := &cobra.Command{
		Use:   "qa --model DIR --question Q --context C",
		Short: "Extractive question answering",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, closeAll, err := f.load(cmd)
			if err != nil {
				return err
			}
			defer closeAll()
			enc, err := m.EncodePair(question, context, true) // the context loses tokens first
			if err != nil {
				return err
			}
			a, err := m.Answer(cmd.Context(), enc, context, maxAnswer)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), map[string]any{"answer": a.Text, "start": a.Start, "end": a.End, "score": a.Score})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&question, "question", "", "the question (required)")
	cmd.Flags().StringVar(&context, "context", "", "the text to find the answer in (required)")
	cmd.Flags().IntVar(&maxAnswer, "max-answer-tokens", 30, "longest answer, in tokens")
	_ = cmd.MarkFlagRequired("question")
	_ = cmd.MarkFlagRequired("context")
	return cmd
}

func newClassifyCmd() *cobra.Command {
	var f bertFlags
	cmd := &cobra.Command{
		Use:   "classify --model DIR TEXT...",
		Short: "Sequence classification: labels with softmax scores, best first",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, texts []string) error {
			m, closeAll, err := f.load(cmd)
			if err != nil {
				return err
			}
			defer closeAll()
			encs, err := m.Encode(texts, true)
			if err != nil {
				return err
			}
			res, err := m.Classify(cmd.Context(), encs)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), perText(texts, "labels", res, func(s bert.LabelScore) map[string]any {
				return map[string]any{"label": s.Label, "score": s.Score}
			}))
		},
	}
	f.register(cmd)
	return cmd
}

// perText is the JSON of per-text results: {"text": …, key: [row(item)…]} for each.
func perText[T any](texts []string, key string, res [][]T, row func(T) map[string]any) []map[string]any {
	out := make([]map[string]any, len(texts))
	for i, items := range res {
		list := make([]map[string]any, len(items))
		for j, it := range items {
			list[j] = row(it)
		}
		out[i] = map[string]any{"text": texts[i], key: list}
	}
	return out
}

func newNERCmd() *cobra.Command {
	var f bertFlags
	cmd := &cobra.Command{
		Use:   "ner --model DIR TEXT...",
		Short: "Token classification (named entities), grouped as transformers' \"simple\" aggregation",
		Long: `Labels each token of each TEXT with the model's token-classification head and
groups consecutive tokens of one entity (B-/I- tags) into spans, as transformers'
token-classification pipeline with aggregation_strategy="simple" does; "O" spans are
left out. start and end are byte offsets into the text.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, texts []string) error {
			m, closeAll, err := f.load(cmd)
			if err != nil {
				return err
			}
			defer closeAll()
			res, err := m.Entities(cmd.Context(), texts)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), perText(texts, "entities", res, func(e bert.Entity) map[string]any {
				return map[string]any{"entity_group": e.Label, "score": e.Score, "word": e.Word, "start": e.Start, "end": e.End}
			}))
		},
	}
	f.register(cmd)
	return cmd
}

func newFillMaskCmd() *cobra.Command {
	var f bertFlags
	var topK int
	cmd := &cobra.Command{
		Use:   "fill-mask --model DIR TEXT",
		Short: "Most likely tokens for each mask ([MASK], <mask>) in TEXT",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, closeAll, err := f.load(cmd)
			if err != nil {
				return err
			}
			defer closeAll()
			fills, err := m.FillMask(cmd.Context(), args[0], topK)
			if err != nil {
				return err
			}
			out := make([][]map[string]any, len(fills))
			for i, cands := range fills {
				for _, c := range cands {
					out[i] = append(out[i], map[string]any{"token": c.Token, "id": c.ID, "score": c.Score, "sequence": c.Text})
				}
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&topK, "top-k", 5, "candidates per mask")
	return cmd
}
