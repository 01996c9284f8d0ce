package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/lumen-ml/lumen/models/bert"
	"github.com/lumen-ml/lumen/models/gpt2"
	"github.com/lumen-ml/lumen/tensor"
)

func newGenRandomCmd() *cobra.Command {
	var arch, size, dtype, out, tokDir string
	var seed uint64
	cmd := &cobra.Command{
		Use:   "gen-random --arch gpt2|bert --size SIZE --dtype f32|f16|bf16 --out DIR",
		Short: "Write a model with random weights in Hugging Face layout (config.json + model.safetensors), for benchmarks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if arch == "bert" {
				cfg, err := bert.SizeConfig(size)
				if err != nil {
					return fmt.Errorf("--size: %w", err)
				}
				if out == "" {
					return fmt.Errorf("--out is required")
				}
				if err := bert.WriteRandom(out, cfg, seed); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s: bert %s (%d layers × %d), F32\n", out, size, cfg.Layers, cfg.Hidden)
				return nil
			}
			if arch != "gpt2" {
				return fmt.Errorf("--arch %q: want gpt2 or bert", arch)
			}
			dt := map[string]tensor.DType{"f32": tensor.F32, "f16": tensor.F16, "bf16": tensor.BF16}[dtype]
			if dt == tensor.Invalid {
				return fmt.Errorf("--dtype %q: want f32, f16 or bf16", dtype)
			}
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			cfg, err := gpt2.SizeConfig(size)
			if err != nil {
				return fmt.Errorf("--size: %w", err)
			}
			if err := gpt2.WriteRandom(out, cfg, dt, seed); err != nil {
				return err
			}
			if tokDir != "" {
				for _, f := range []string{"vocab.json", "merges.txt"} {
					b, err := os.ReadFile(filepath.Join(tokDir, f))
					if err != nil {
						return err
					}
					if err := os.WriteFile(filepath.Join(out, f), b, 0o644); err != nil {
						return err
					}
				}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s: gpt2 %s (%d layers × %d), %v\n", out, size, cfg.NLayer, cfg.NEmbd, dt)
			return nil
		},
	}
	cmd.Flags().StringVar(&arch, "arch", "gpt2", "architecture")
	cmd.Flags().StringVar(&size, "size", "124M", "gpt2: 124M, 355M, 774M, 1558M, tiny; bert: base, large, minilm-l6, tiny")
	cmd.Flags().StringVar(&dtype, "dtype", "f32", "weight dtype")
	cmd.Flags().StringVar(&out, "out", "", "output directory")
	cmd.Flags().StringVar(&tokDir, "tokenizer", "", "copy vocab.json and merges.txt from this directory")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	return cmd
}

func newGenerateCmd() *cobra.Command {
	var model, tokDir, prompt string
	var stops []string
	var opt gpt2.GenerateOptions
	var seed int64
	var threads int
	var half bool
	cmd := &cobra.Command{
		Use:   "generate --model DIR --prompt TEXT",
		Short: "Generate text with GPT-2, streaming it to stdout; the token rate goes to stderr",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if prompt == "" {
				return fmt.Errorf("--prompt is empty")
			}
			opt.Seed = uint64(seed)
			if seed < 0 {
				opt.Seed = uint64(time.Now().UnixNano())
			}
			opt.StopAtEOS = true
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runGenerate(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), model, tokDir, prompt, stops, opt, threads, half)
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "model directory: config.json, weights, tokenizer files (required)")
	f.StringVar(&tokDir, "tokenizer", "", "tokenizer directory, when the model directory has none")
	f.StringVar(&prompt, "prompt", "", "prompt text (required)")
	f.IntVar(&opt.MaxNewTokens, "max-tokens", 64, "tokens to generate at most")
	f.Float32Var(&opt.Temperature, "temperature", 0.8, "sampling temperature; 0 means greedy")
	f.IntVar(&opt.TopK, "top-k", 40, "sample from the K most likely tokens (0: all)")
	f.Float32Var(&opt.TopP, "top-p", 0.95, "sample from the smallest set with this probability (1: all)")
	f.Int64Var(&seed, "seed", -1, "random seed (-1: from the clock; printed to stderr)")
	f.StringArrayVar(&stops, "stop", nil, "stop when the generated text contains this string (repeatable)")
	f.IntVar(&threads, "threads", 0, "worker threads (0: all CPUs)")
	f.BoolVar(&half, "half", true, "keep F16/BF16 weights in half precision")
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("prompt")
	return cmd
}

func runGenerate(ctx context.Context, stdout, stderr io.Writer, dir, tokDir, prompt string, stops []string, opt gpt2.GenerateOptions, threads int, half bool) error {
	dev, err := envDevice()
	if err != nil {
		return err
	}
	m, err := gpt2.Load(dir, gpt2.WithThreads(threads), gpt2.WithHalfWeights(half), gpt2.WithTokenizerDir(tokDir), gpt2.WithDevice(dev))
	if err != nil {
		return err
	}
	defer m.Close()
	if m.Tokenizer() == nil {
		return fmt.Errorf("%s has no tokenizer (vocab.json + merges.txt or tokenizer.json); pass --tokenizer DIR", dir)
	}
	fmt.Fprintf(stderr, "seed %d\n", opt.Seed)
	fmt.Fprint(stdout, prompt)
	start := time.Now()
	var first time.Duration
	tokens := 0
	for c, err := range m.GenerateText(ctx, prompt, opt, stops) {
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
		len(m.Tokenizer().Encode(prompt)), first.Round(time.Millisecond), tokens, total.Round(time.Millisecond), rate)
	return nil
}
