package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/models/gpt2"
	"github.com/lumen-ml/lumen/tensor"
)

// gpt2Sizes are the published GPT-2 shapes, plus a tiny one for tests and smoke runs.
var gpt2Sizes = map[string]struct{ layers, embd, heads, positions int }{
	"tiny":  {2, 64, 4, 256},
	"124M":  {12, 768, 12, 1024},
	"355M":  {24, 1024, 16, 1024},
	"774M":  {36, 1280, 20, 1024},
	"1558M": {48, 1600, 25, 1024},
}

func newGenRandomCmd() *cobra.Command {
	var arch, size, dtype, out, tokDir string
	var seed uint64
	cmd := &cobra.Command{
		Use:   "gen-random --arch gpt2 --size 124M|355M|774M|1558M|tiny --dtype f32|f16|bf16 --out DIR",
		Short: "Write a model with random weights in Hugging Face layout (config.json + model.safetensors), for benchmarks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if arch != "gpt2" {
				return fmt.Errorf("--arch %q: only gpt2 is supported", arch)
			}
			sz, ok := gpt2Sizes[size]
			if !ok {
				return fmt.Errorf("--size %q: want 124M, 355M, 774M, 1558M or tiny", size)
			}
			dt := map[string]tensor.DType{"f32": tensor.F32, "f16": tensor.F16, "bf16": tensor.BF16}[dtype]
			if dt == tensor.Invalid {
				return fmt.Errorf("--dtype %q: want f32, f16 or bf16", dtype)
			}
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			return genRandomGPT2(cmd.ErrOrStderr(), out, tokDir, sz.layers, sz.embd, sz.heads, sz.positions, dt, seed)
		},
	}
	cmd.Flags().StringVar(&arch, "arch", "gpt2", "architecture")
	cmd.Flags().StringVar(&size, "size", "124M", "model size")
	cmd.Flags().StringVar(&dtype, "dtype", "f32", "weight dtype")
	cmd.Flags().StringVar(&out, "out", "", "output directory")
	cmd.Flags().StringVar(&tokDir, "tokenizer", "", "copy vocab.json and merges.txt from this directory")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	return cmd
}

// genRandomGPT2 writes weights drawn as HF initialises GPT-2: N(0, 0.02) for
// embeddings and projections (c_proj scaled by 1/√(2·n_layer)), zero biases, unit
// LayerNorm weights.
func genRandomGPT2(log io.Writer, out, tokDir string, layers, embd, heads, positions int, dt tensor.DType, seed uint64) error {
	const vocab = 50257
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	tensors := map[string]*tensor.Tensor{}
	var total int64
	add := func(name string, std float64, fill float32, shape ...int) error {
		t, err := tensor.New(dt, shape...)
		if err != nil {
			return err
		}
		n := t.Len()
		vals := make([]float32, n)
		for i := range vals {
			if std > 0 {
				vals[i] = float32(r.NormFloat64() * std)
			} else {
				vals[i] = fill
			}
		}
		b, _ := t.Bytes()
		switch dt {
		case tensor.F32:
			for i, v := range vals {
				binaryPutF32(b[4*i:], v)
			}
		case tensor.F16, tensor.BF16:
			bits := make([]uint16, n)
			if dt == tensor.F16 {
				tensor.F32ToF16Slice(bits, vals)
			} else {
				tensor.F32ToBF16Slice(bits, vals)
			}
			for i, v := range bits {
				b[2*i], b[2*i+1] = byte(v), byte(v>>8)
			}
		}
		tensors[name] = t
		total += int64(n)
		return nil
	}
	proj := 0.02 / math.Sqrt(2*float64(layers))
	steps := []func() error{
		func() error { return add("wte.weight", 0.02, 0, vocab, embd) },
		func() error { return add("wpe.weight", 0.01, 0, positions, embd) },
		func() error { return add("ln_f.weight", 0, 1, embd) },
		func() error { return add("ln_f.bias", 0, 0, embd) },
	}
	for l := 0; l < layers; l++ {
		p := fmt.Sprintf("h.%d.", l)
		steps = append(steps,
			func() error { return add(p+"ln_1.weight", 0, 1, embd) },
			func() error { return add(p+"ln_1.bias", 0, 0, embd) },
			func() error { return add(p+"attn.c_attn.weight", 0.02, 0, embd, 3*embd) },
			func() error { return add(p+"attn.c_attn.bias", 0, 0, 3*embd) },
			func() error { return add(p+"attn.c_proj.weight", proj, 0, embd, embd) },
			func() error { return add(p+"attn.c_proj.bias", 0, 0, embd) },
			func() error { return add(p+"ln_2.weight", 0, 1, embd) },
			func() error { return add(p+"ln_2.bias", 0, 0, embd) },
			func() error { return add(p+"mlp.c_fc.weight", 0.02, 0, embd, 4*embd) },
			func() error { return add(p+"mlp.c_fc.bias", 0, 0, 4*embd) },
			func() error { return add(p+"mlp.c_proj.weight", proj, 0, 4*embd, embd) },
			func() error { return add(p+"mlp.c_proj.bias", 0, 0, embd) },
		)
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	if err := safetensors.WriteFile(filepath.Join(out, "model.safetensors"), tensors, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	torchDtype := map[tensor.DType]string{tensor.F32: "float32", tensor.F16: "float16", tensor.BF16: "bfloat16"}[dt]
	cfg := map[string]any{
		"architectures": []string{"GPT2LMHeadModel"}, "model_type": "gpt2", "activation_function": "gelu_new",
		"n_layer": layers, "n_embd": embd, "n_head": heads, "n_positions": positions, "n_ctx": positions, "n_inner": nil,
		"vocab_size": vocab, "layer_norm_epsilon": 1e-5, "bos_token_id": 50256, "eos_token_id": 50256,
		"torch_dtype": torchDtype, "initializer_range": 0.02, "use_cache": true,
	}
	raw, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(out, "config.json"), append(raw, '\n'), 0o644); err != nil {
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
	fmt.Fprintf(log, "wrote %s: gpt2 %d layers × %d, %d parameters, %v\n", out, layers, embd, total, dt)
	return nil
}

func binaryPutF32(b []byte, v float32) {
	u := math.Float32bits(v)
	b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
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
	m, err := gpt2.Load(dir, gpt2.WithThreads(threads), gpt2.WithHalfWeights(half))
	if err != nil {
		return err
	}
	defer m.Close()
	tok := m.Tokenizer()
	if tokDir != "" {
		if tok, err = gpt2.LoadTokenizer(tokDir); err != nil {
			return err
		}
	}
	if tok == nil {
		return fmt.Errorf("%s has no tokenizer (vocab.json + merges.txt or tokenizer.json); pass --tokenizer DIR", dir)
	}
	ids := tok.Encode(prompt)
	fmt.Fprintf(stderr, "seed %d\n", opt.Seed)
	fmt.Fprint(stdout, prompt)
	dec := tok.NewStreamDecoder()
	var gen strings.Builder
	emitted, hold := 0, 0
	for _, s := range stops {
		hold = max(hold, len(s)-1)
	}
	start := time.Now()
	var first time.Duration
	n := 0
	for id, err := range m.Generate(ctx, ids, opt) {
		if err != nil {
			return err
		}
		if n == 0 {
			first = time.Since(start)
		}
		n++
		piece, err := dec.Next(id)
		if err != nil {
			return err
		}
		gen.WriteString(piece)
		text := gen.String()
		if cut, ok := firstStop(text, stops); ok {
			fmt.Fprint(stdout, text[emitted:cut])
			emitted = len(text)
			break
		}
		// Hold back what could be the start of a stop string.
		safe := max(emitted, len(text)-hold)
		for safe > emitted && safe < len(text) && !utf8.RuneStart(text[safe]) {
			safe--
		}
		fmt.Fprint(stdout, text[emitted:safe])
		emitted = safe
	}
	if text := gen.String() + dec.Flush(); emitted < len(text) {
		if cut, ok := firstStop(text, stops); ok {
			text = text[:cut]
		}
		if emitted < len(text) {
			fmt.Fprint(stdout, text[emitted:])
		}
	}
	fmt.Fprintln(stdout)
	total := time.Since(start)
	rate := 0.0
	if n > 1 {
		rate = float64(n-1) / (total - first).Seconds()
	}
	fmt.Fprintf(stderr, "prompt %d tokens, first token after %s; %d tokens in %s: %.1f tokens/s\n", len(ids), first.Round(time.Millisecond), n, total.Round(time.Millisecond), rate)
	return nil
}

func firstStop(text string, stops []string) (int, bool) {
	best := -1
	for _, s := range stops {
		if s == "" {
			continue
		}
		if i := strings.Index(text, s); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best, best >= 0
}
