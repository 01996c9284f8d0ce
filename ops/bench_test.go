package ops

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/lumen-ml/lumen/tensor"
)

// BenchShapes are the M×K×N shapes of the GEMM issue: square sizes, GPT-2 decode
// (QKV projection and LM head at M = 1) and a 128-token prefill (MLP up and down).
var benchShapes = [][3]int{
	{256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024},
	{1, 768, 2304}, {1, 768, 50257}, {128, 768, 3072}, {128, 3072, 768},
	{4, 768, 3072}, {16, 768, 3072}, {16, 768, 50257}, {18, 768, 50257}, {24, 768, 50257}, {48, 768, 50257}, // decode steps of a batch
}

func reportGFLOPS(b *testing.B, m, k, n int) {
	b.ReportMetric(2*float64(m)*float64(k)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkSgemm: C = A·B with B unpacked (packed inside each call), threads from -cpu.
func BenchmarkSgemm(b *testing.B) {
	p := NewPool(runtime.GOMAXPROCS(0))
	defer p.Close()
	ws := NewWorkspace(p)
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range benchShapes {
		m, k, n := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("%dx%dx%d", m, k, n), func(b *testing.B) {
			a, bb, c := randMat(r, m*k), randMat(r, k*n), make([]float32, m*n)
			for b.Loop() {
				Sgemm(ws, false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
			}
			reportGFLOPS(b, m, k, n)
		})
	}
}

// BenchmarkSgemmPacked: C = A·W with W packed once, as models use their weights
// (I8: int8 weights, each call quantising A; GFLOP/s counts the same 2·M·K·N).
func BenchmarkSgemmPacked(b *testing.B) {
	p := NewPool(runtime.GOMAXPROCS(0))
	defer p.Close()
	ws := NewWorkspace(p)
	r := rand.New(rand.NewPCG(2, 2))
	for _, wt := range []tensor.DType{tensor.F32, tensor.BF16, tensor.F16, tensor.I8} {
		for _, s := range benchShapes {
			m, k, n := s[0], s[1], s[2]
			if wt != tensor.F32 && m > 128 {
				continue
			}
			b.Run(fmt.Sprintf("%v/%dx%dx%d", wt, m, k, n), func(b *testing.B) {
				a, c := randMat(r, m*k), make([]float32, m*n)
				pb, err := PackB(false, k, n, randMat(r, k*n), n, wt)
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					SgemmPacked(ws, false, m, 1, a, k, pb, 0, c, n)
				}
				reportGFLOPS(b, m, k, n)
				b.ReportMetric(float64(pb.Bytes())*float64(b.N)/b.Elapsed().Seconds()/1e9, "weight-GB/s")
			})
		}
	}
}
