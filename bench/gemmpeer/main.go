// Command gemmpeer times Lumen's SGEMM/GEMV against OpenBLAS (cblas_sgemm, cblas_sgemv)
// and gonum (pure Go) on the same shapes in the same process, and prints ratios.
//
// OpenBLAS needs cgo and Debian's libopenblas-dev, so it is compiled only with
// -tags openblas:
//
//	OPENBLAS_CORETYPE=SkylakeX go run -tags openblas ./bench/gemmpeer -threads 1
//
// Set OPENBLAS_CORETYPE to the best kernel the CPU supports (SkylakeX for AVX-512,
// Haswell for AVX2): OpenBLAS 0.3.21 does not recognise Zen 4/5. Without the tag
// the program times Lumen and gonum only.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/ops/asm"
	"github.com/lumen-ml/lumen/tensor"
)

type shape struct{ m, k, n int }

func main() {
	threads := flag.Int("threads", 1, "threads for every implementation")
	minTime := flag.Duration("time", 500*time.Millisecond, "minimum timing per shape and implementation")
	shapesFlag := flag.String("shapes", "256x256x256,512x512x512,1024x1024x1024,1x768x2304,1x768x50257,128x768x3072,128x3072x768", "M×K×N shapes")
	skipGonum := flag.Bool("skip-gonum", false, "skip gonum (slow at large sizes)")
	flag.Parse()
	runtime.GOMAXPROCS(max(*threads, 1))
	setBLASThreads(*threads)

	var shapes []shape
	for _, s := range strings.Split(*shapesFlag, ",") {
		var sh shape
		if _, err := fmt.Sscanf(s, "%dx%dx%d", &sh.m, &sh.k, &sh.n); err != nil {
			fmt.Fprintf(os.Stderr, "bad shape %q: %v\n", s, err)
			os.Exit(2)
		}
		shapes = append(shapes, sh)
	}
	pool := ops.NewPool(*threads)
	defer pool.Close()
	ws := ops.NewWorkspace(pool)
	fmt.Printf("lumen level %s; threads %d; OpenBLAS %s (OPENBLAS_CORETYPE=%q)\n", asm.BestReason, *threads, blasName(), os.Getenv("OPENBLAS_CORETYPE"))
	tw := tabwriter.NewWriter(os.Stdout, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "shape\tlumen\tlumen packed\topenblas\tgonum\tlumen/openblas\tpacked/openblas\t")
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range shapes {
		a, b, c := randMat(r, s.m*s.k), randMat(r, s.k*s.n), make([]float32, s.m*s.n)
		flops := 2 * float64(s.m) * float64(s.k) * float64(s.n)
		lumen := gflops(flops, *minTime, func() {
			ops.Sgemm(ws, false, false, s.m, s.n, s.k, 1, a, s.k, b, s.n, 0, c, s.n)
		})
		pb, err := ops.PackB(false, s.k, s.n, b, s.n, tensor.F32)
		must(err)
		packed := gflops(flops, *minTime, func() {
			ops.SgemmPacked(ws, false, s.m, 1, a, s.k, pb, 0, c, s.n)
		})
		ob := 0.0
		if blasAvailable {
			ob = gflops(flops, *minTime, func() { blasSgemm(s.m, s.n, s.k, a, b, c) })
		}
		gn := 0.0
		if !*skipGonum {
			impl := gonum.Implementation{}
			gn = gflops(flops, *minTime, func() {
				impl.Sgemm(blas.NoTrans, blas.NoTrans, s.m, s.n, s.k, 1, a, s.k, b, s.n, 0, c, s.n)
			})
		}
		fmt.Fprintf(tw, "%dx%dx%d\t%.1f\t%.1f\t%s\t%s\t%s\t%s\t\n", s.m, s.k, s.n, lumen, packed, num(ob), num(gn), ratio(lumen, ob), ratio(packed, ob))
	}
	tw.Flush()
	fmt.Println("figures in GFLOP/s; openblas uses cblas_sgemv when M = 1")
}

func gflops(flops float64, minTime time.Duration, f func()) float64 {
	f() // warm-up
	n := 0
	start := time.Now()
	for time.Since(start) < minTime || n < 3 {
		f()
		n++
	}
	return flops * float64(n) / time.Since(start).Seconds() / 1e9
}

func num(v float64) string {
	if v == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", v)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func randMat(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
