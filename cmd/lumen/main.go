// Command lumen is Lumen's command-line tool.
//
//	lumen inspect PATH                       list the tensors, metadata and config of a checkpoint
//	lumen lenet eval --model DIR --data DIR  accuracy, throughput and latency of LeNet on idx data
//
// Errors are printed as "error: …" on standard error, with exit status 1.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run executes the CLI with args and returns the process exit status.
func run(args []string, stdout, stderr io.Writer) int {
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
		Short:         "Lumen: a pure-Go inference engine for LeNet, GPT-2 and BERT",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newInspectCmd(), newLeNetCmd(), newGenRandomCmd(), newGenerateCmd(), newEmbedCmd(), newQACmd(), newClassifyCmd(), newFillMaskCmd(), newServeCmd(), newLoadCmd(), newBenchCmd(), newBenchWorkerCmd())
	return root
}
