// Command lumen is Lumen's command-line tool.
//
//	lumen lenet eval [--model DIR] [--data DIR]   LeNet accuracy, throughput and latency on idx data (default: the shipped model and MNIST test set)
//	lumen lenet train --data DIR --out DIR        train LeNet-5 (SGD or Adam) on idx data; writes model.safetensors + config.json
//	lumen generate --model DIR --prompt TEXT      stream GPT-2 text; the token rate to stderr
//	lumen embed --model DIR TEXT...               sentence embeddings (OpenAI-style JSON)
//	lumen qa --model DIR --question Q --context C extractive question answering
//	lumen classify --model DIR TEXT...            sequence classification
//	lumen fill-mask --model DIR TEXT              candidates for each [MASK]
//	lumen serve --model NAME=DIR ...              the HTTP server (completions, embeddings, classify, qa, metrics)
//	lumen load --url URL --endpoint PATH ...      a loopback-only load generator for serve
//	lumen bench [--suite paper|quick] ...         the benchmark suite across Lumen, gonum, PyTorch and candle
//	lumen gen-random --arch gpt2|bert --out DIR   a random-weight model in Hugging Face layout, with the shipped tokenizer
//	lumen inspect PATH                            the tensors, metadata and config of a checkpoint
//	lumen version                                 version, Go, kernel level and why, cache sizes used for blocking
//
// (bench-worker is the hidden worker process that lumen bench starts.) --threads
// means the same in every command: the worker threads of the one pool the command
// runs on, all CPUs by default. LUMEN_CPU=generic|avx2|avx512|neon lowers the kernel
// level; a value that is unknown or unsupported here is reported on stderr.
// Errors are printed as "error: …" on standard error, with exit status 1.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/lumen-ml/lumen/ops/asm"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run executes the CLI with args and returns the process exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if asm.BestWarning != "" {
		fmt.Fprintf(stderr, "warning: %s\n", asm.BestWarning)
	}
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
	return 0
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "lumen",
		Short:         "Lumen: a pure-Go inference engine for LeNet, GPT-2 and BERT, and tokenizers for every tokenizer.json",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newInspectCmd(), newLeNetCmd(), newGenRandomCmd(), newGenerateCmd(), newChatCmd(), newEmbedCmd(), newQACmd(), newClassifyCmd(), newNERCmd(), newFillMaskCmd(), newRerankCmd(), newTokenizeCmd(), newDetokenizeCmd(), newServeCmd(), newPullCmd(), newLoadCmd(), newBenchCmd(), newBenchWorkerCmd(), newVersionCmd())
	return root
}
