package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/klauspost/cpuid/v2"
	"github.com/spf13/cobra"

	"github.com/lumen-ml/lumen/ops/asm"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "The version, Go version, the kernel level with why it was chosen, and the cache sizes used for blocking",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			printVersion(cmd.OutOrStdout())
			return nil
		},
	}
}

func printVersion(w io.Writer) {
	version, revision := buildVersion()
	bl := asm.BlockingFor(asm.Best)
	l1, l2, l3 := asm.CacheSizes()
	fmt.Fprintf(w, "lumen    %s%s\n", version, revision)
	fmt.Fprintf(w, "go       %s %s/%s, %d CPUs (GOMAXPROCS %d)\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "cpu      %s\n", cpuid.CPU.BrandName)
	fmt.Fprintf(w, "kernels  %s; supported: %v\n", asm.BestReason, asm.Supported())
	fmt.Fprintf(w, "bf16     --compute bf16: %v (%s)\n", asm.BestBF16, asm.BF16Reason)
	fmt.Fprintf(w, "int8     --quantize int8: %s\n", asm.I8Kernels(asm.Best))
	fmt.Fprintf(w, "caches   L1d %d KiB, L2 %d KiB, L3 %d KiB\n", l1>>10, l2>>10, l3>>10)
	fmt.Fprintf(w, "blocking MR %d, NR %d, KC %d, MC %d, NC %d\n", bl.MR, bl.NR, bl.KC, bl.MC, bl.NC)
}

// buildVersion returns the module version and " REVISION[ (modified)]" from the
// build information.
func buildVersion() (version, revision string) {
	version = "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = " " + s.Value
			case "vcs.modified":
				if s.Value == "true" {
					revision += " (modified)"
				}
			}
		}
	}
	return version, revision
}
