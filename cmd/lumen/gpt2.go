package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/models/bert"
	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/models/gpt2"
	"github.com/lumen-ml/lumen/models/llama"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/server"
	"github.com/lumen-ml/lumen/tensor"
	"github.com/lumen-ml/lumen/tokenizer"
)

func newGenRandomCmd() *cobra.Command {
	var arch, size, dtype, out, tokDir string
	var seed uint64
	cmd := &cobra.Command{
		Use:   "gen-random --arch gpt2|bert|llama --size SIZE --dtype f32|f16|bf16 --out DIR",
		Short: "Write a model with random weights in Hugging Face layout (config.json, model.safetensors, tokenizer), for benchmarks and smoke runs",
		Long: `gen-random writes config.json and model.safetensors with weights drawn as Hugging Face
initialises them, and the tokenizer files: by default the ones Lumen ships (GPT-2's
vocab.json + merges.txt, or bert-base-uncased's vocab.txt), so the directory runs as it
is with generate, embed or serve. --tokenizer DIR copies them from DIR instead;
--tokenizer none writes none. Lumen ships no Llama vocabulary: a random Llama runs
token ids (lumen bench) unless --tokenizer gives one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			var desc string
			var shipped fs.FS
			var check func(dir string) error
			switch arch {
			case "gpt2":
				dt := map[string]tensor.DType{"f32": tensor.F32, "f16": tensor.F16, "bf16": tensor.BF16}[dtype]
				if dt == tensor.Invalid {
					return fmt.Errorf("--dtype %q: want f32, f16 or bf16", dtype)
				}
				cfg, err := gpt2.SizeConfig(size)
				if err != nil {
					return fmt.Errorf("--size: %w", err)
				}
				if err := gpt2.WriteRandom(out, cfg, dt, seed); err != nil {
					return err
				}
				desc = fmt.Sprintf("gpt2 %s (%d layers × %d), %v", size, cfg.NLayer, cfg.NEmbd, dt)
				shipped = assets.GPT2Tokenizer()
				check = func(dir string) error { _, err := gpt2.LoadTokenizer(dir); return err }
			case "bert":
				if dtype != "f32" {
					return fmt.Errorf("--dtype %q: random BERT weights are f32 only", dtype)
				}
				cfg, err := bert.SizeConfig(size)
				if err != nil {
					return fmt.Errorf("--size: %w", err)
				}
				if err := bert.WriteRandom(out, cfg, seed); err != nil {
					return err
				}
				desc = fmt.Sprintf("bert %s (%d layers × %d), F32", size, cfg.Layers, cfg.Hidden)
				shipped = assets.BERTUncasedVocab()
				check = func(dir string) error { _, err := bert.LoadTokenizer(dir); return err }
			case "llama":
				dt := map[string]tensor.DType{"f32": tensor.F32, "f16": tensor.F16, "bf16": tensor.BF16}[dtype]
				if dt == tensor.Invalid {
					return fmt.Errorf("--dtype %q: want f32, f16 or bf16", dtype)
				}
				if !cmd.Flags().Changed("size") {
					size = "smollm2-135m"
				}
				cfg, err := llama.SizeConfig(size)
				if err != nil {
					return fmt.Errorf("--size: %w", err)
				}
				if err := llama.WriteRandom(out, cfg, dt, seed); err != nil {
					return err
				}
				desc = fmt.Sprintf("llama %s (%d layers × %d, %d/%d heads), %v", size, cfg.NumHiddenLayers, cfg.HiddenSize, cfg.NumAttentionHeads, cfg.NumKeyValueHeads, dt)
				if tokDir == "" { // Lumen ships no Llama vocabulary: token ids only
					tokDir = "none"
				}
				check = func(dir string) error { _, err := tokenizer.Load(dir); return err }
			default:
				return fmt.Errorf("--arch %q: want gpt2, bert or llama", arch)
			}
			switch tokDir {
			case "none":
				desc += ", no tokenizer"
			case "":
				if err := copyTokenizer(out, shipped); err != nil {
					return err
				}
				desc += ", the shipped tokenizer"
			default:
				if err := copyTokenizer(out, os.DirFS(tokDir)); err != nil {
					return fmt.Errorf("--tokenizer %s: %w", tokDir, err)
				}
				desc += ", tokenizer from " + tokDir
			}
			if tokDir != "none" {
				if err := check(out); err != nil {
					return fmt.Errorf("the tokenizer written to %s does not load: %w", out, err)
				}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s: %s\n", out, desc)
			return nil
		},
	}
	cmd.Flags().StringVar(&arch, "arch", "gpt2", "architecture: gpt2, bert or llama")
	cmd.Flags().StringVar(&size, "size", "124M", "gpt2: 124M, 355M, 774M, 1558M, tiny; bert: base, large, minilm-l6, tiny; llama: smollm2-135m (its default), tiny")
	cmd.Flags().StringVar(&dtype, "dtype", "f32", "weight dtype: f32, f16 or bf16 (gpt2, llama)")
	cmd.Flags().StringVar(&out, "out", "", "output directory (required)")
	cmd.Flags().StringVar(&tokDir, "tokenizer", "", `copy the tokenizer files from this directory instead of the shipped ones ("none": write none)`)
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	return cmd
}

// copyTokenizer copies the tokenizer files of a Hugging Face model directory that
// src has into dir.
func copyTokenizer(dir string, src fs.FS) error {
	tokenizerFiles := []string{"vocab.json", "merges.txt", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}
	n := 0
	for _, name := range tokenizerFiles {
		b, err := fs.ReadFile(src, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("no tokenizer files (%s)", strings.Join(tokenizerFiles, ", "))
	}
	return nil
}

func newGenerateCmd() *cobra.Command {
	var model, tokDir, prompt string
	var stops []string
	var sampling samplingFlags
	var threads int
	var half, chat bool
	var quantize quantizeFlag
	var compute computeFlag
	var qact, ggufFile string
	cmd := &cobra.Command{
		Use:   "generate --model DIR|FILE.gguf|ORG/NAME [--gguf-file FILE.gguf] --prompt TEXT",
		Short: "Generate text with GPT-2 or a Llama-family model (a directory, Hub id or GGUF file), streaming it to stdout; the token rate goes to stderr",
		Long: `generate continues --prompt, or with --chat answers it as the user's message
rendered by the model's chat template. --model is a GPT-2 or Llama directory (config.json
model_type gpt2, llama or qwen2; safetensors F32, F16 or BF16) or Hub id, or a llama.cpp GGUF
file (Llama, SmolLM, Mistral-style; Q4_0, Q4_1, Q5_x, Q8_0, K-quants, F16, BF16, F32).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if prompt == "" {
				return fmt.Errorf("--prompt is empty")
			}
			opt := sampling.options()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			pool := ops.NewPool(threads)
			defer pool.Close()
			var gen server.Completer
			var ids []int
			echo := prompt
			act, err := parseQAct(qact)
			if err != nil {
				return err
			}
			lm, dir, err := openLlama(ctx, cmd.ErrOrStderr(), model, ggufFile, tokDir, nn.WithPool(pool), nn.WithQuantActivations(act))
			if err != nil {
				return err
			}
			if lm != nil {
				defer lm.Close()
				if quantize.q != nn.NoQuantization || compute.c != nn.F32 {
					return fmt.Errorf("--quantize and --compute are for GPT-2 and BERT models; a Llama-family model runs its file's types")
				}
				if chat {
					ids, err = lm.EncodeChat([]tokenizer.Message{{Role: "user", Content: prompt}})
					echo = ""
				} else {
					ids, err = lm.Encode(prompt)
				}
				if err != nil {
					return err
				}
				gen = lm
			} else {
				if chat {
					return fmt.Errorf("--chat needs a Llama-family model with a chat template")
				}
				m, err := loadGPT2(dir, tokDir, pool, append(precisionOptions(quantize, compute), nn.WithHalfWeights(half && compute.c == nn.F32))...)
				if err != nil {
					return err
				}
				defer m.Close()
				if ids, err = m.Encode(prompt); err != nil {
					return err
				}
				gen = m
			}
			return streamGenerate(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), gen, ids, echo, stops, opt)
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "model directory (config.json, weights, tokenizer files), Hub id ORG/NAME[@REV], or GGUF file (required)")
	f.StringVar(&tokDir, "tokenizer", "", "tokenizer directory, when the model directory has none")
	f.StringVar(&prompt, "prompt", "", "prompt text (required)")
	f.BoolVar(&chat, "chat", false, "GGUF: answer --prompt as a user message, through the file's chat template")
	f.StringVar(&ggufFile, "gguf-file", "", "with --model ORG/NAME[@REV]: run this GGUF file of the Hub repository (downloaded to the cache)")
	f.StringVar(&qact, "activations", "q8", "GGUF: q8 (8-bit activation blocks, as llama.cpp) or f32 (float32 activations, weights widened per block)")
	sampling.register(f, 64, "tokens to generate at most", 0.8, 0.95, "random seed (-1: from the clock; printed to stderr)")
	f.StringArrayVar(&stops, "stop", nil, "stop when the generated text contains this string (repeatable)")
	f.IntVar(&threads, "threads", 0, "worker threads (0: all CPUs)")
	f.BoolVar(&half, "half", true, "keep F16/BF16 weights in half precision")
	quantize.register(cmd)
	compute.register(cmd)
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("prompt")
	return cmd
}

// samplingFlags are the sampling options generate and chat take.
type samplingFlags struct {
	opt  decode.Options
	seed int64
}

// register adds --max-tokens, --temperature, --top-k, --top-p and --seed with the
// command's defaults.
func (s *samplingFlags) register(f *pflag.FlagSet, maxTokens int, maxHelp string, temperature, topP float32, seedHelp string) {
	f.IntVar(&s.opt.MaxNewTokens, "max-tokens", maxTokens, maxHelp)
	f.Float32Var(&s.opt.Temperature, "temperature", temperature, "sampling temperature; 0 means greedy")
	f.IntVar(&s.opt.TopK, "top-k", 40, "sample from the K most likely tokens (0: all)")
	f.Float32Var(&s.opt.TopP, "top-p", topP, "sample from the smallest set with this probability (1: all)")
	f.Int64Var(&s.seed, "seed", -1, seedHelp)
}

// options returns the options, the seed drawn from the clock when it is −1, ending
// at the model's end-of-sequence token.
func (s *samplingFlags) options() decode.Options {
	opt := s.opt
	opt.Seed = uint64(s.seed)
	if s.seed < 0 {
		opt.Seed = uint64(time.Now().UnixNano())
	}
	opt.StopAtEOS = true
	return opt
}

// parseQAct reads --activations.
func parseQAct(s string) (ops.QAct, error) {
	switch s {
	case "q8":
		return ops.QActQ8, nil
	case "f32":
		return ops.QActF32, nil
	}
	return 0, fmt.Errorf("--activations %q: want q8 or f32", s)
}

// loadGPT2 loads a GPT-2 directory with its tokenizer.
func loadGPT2(dir, tokDir string, pool *ops.Pool, load ...nn.Option) (*gpt2.Model, error) {
	dev, err := envDevice()
	if err != nil {
		return nil, err
	}
	m, err := gpt2.Load(dir, append([]nn.Option{nn.WithPool(pool), nn.WithTokenizerDir(tokDir), nn.WithDevice(dev)}, load...)...)
	if err != nil {
		return nil, err
	}
	if m.Tokenizer() == nil {
		m.Close()
		return nil, fmt.Errorf("%s has no tokenizer (vocab.json + merges.txt or tokenizer.json); pass --tokenizer DIR", dir)
	}
	return m, nil
}

// streamGenerate writes echo, then the generated text as it comes; the token rate
// goes to stderr.
func streamGenerate(ctx context.Context, stdout, stderr io.Writer, m server.Completer, ids []int, echo string, stops []string, opt decode.Options) error {
	fmt.Fprintf(stderr, "seed %d\n", opt.Seed)
	fmt.Fprint(stdout, echo)
	start := time.Now()
	var first time.Duration
	tokens := 0
	for c, err := range m.GenerateText(ctx, ids, opt, stops) {
		if err != nil {
			return err
		}
		if c.Token >= 0 {
			if tokens == 0 {
				first = time.Since(start)
			}
			tokens++
		}
		fmt.Fprint(stdout, c.Text)
	}
	fmt.Fprintln(stdout)
	total := time.Since(start)
	rate := 0.0
	if tokens > 1 {
		rate = float64(tokens-1) / (total - first).Seconds()
	}
	fmt.Fprintf(stderr, "prompt %d tokens, first token after %s; %d tokens in %s: %.1f tokens/s\n",
		len(ids), first.Round(time.Millisecond), tokens, total.Round(time.Millisecond), rate)
	return nil
}
