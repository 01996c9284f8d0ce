package llama

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
)

// benchPrompt is the prompt of the SmolLM2 benchmarks, the same formula as
// bench/python/llamacpp_smollm2.py's: token i is 1000 + 7919·i mod 40000.
func benchPrompt(n int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = 1000 + 7919*i%40000
	}
	return ids
}

// BenchmarkSmolLM2 times the real SmolLM2-135M-Instruct Q4_1 on one and two
// threads: prefill of 128 tokens (tokens/s of prompt), and greedy decoding of 64
// tokens after a 32-token prompt (tokens/s of decode alone). Compare with
// bench/python/llamacpp_smollm2.py (llama.cpp, same prompts, --threads N).
func BenchmarkSmolLM2(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) { benchSmolLM2(b, threads) })
	}
}

func benchSmolLM2(b *testing.B, threads int) {
	pool := ops.NewPool(threads)
	defer pool.Close()
	for _, act := range []ops.QAct{ops.QActQ8, ops.QActF32} {
		m := smolLM2(b, nn.WithPool(pool), nn.WithQuantActivations(act))
		s, err := m.NewState(256)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.Run("prefill128/"+act.String(), func(b *testing.B) {
			ids := benchPrompt(128)
			for b.Loop() {
				s.Reset()
				if _, err := s.Step(ctx, ids); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(128*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
		b.Run("decode64/"+act.String(), func(b *testing.B) {
			ids := benchPrompt(32)
			var decoded float64
			for b.Loop() {
				b.StopTimer()
				s.Reset()
				logits, err := s.Step(ctx, ids)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				greedy := decode.NewSampler(GenerateOptions{}, 0)
				for range 64 {
					if logits, err = s.Step(ctx, []int{greedy.Pick(logits)}); err != nil {
						b.Fatal(err)
					}
				}
				decoded += 64
			}
			b.ReportMetric(decoded/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkSmolLM2Clients times N concurrent clients on one Batcher (continuous
// batching), each generating 32 tokens after its own 32-token prompt: tokens/s of
// all clients together, prefill included. Clients=1 is the baseline of the
// "16 clients ≥ 6× one" target.
func BenchmarkSmolLM2Clients(b *testing.B) {
	for _, threads := range []int{1, 2} {
		pool := ops.NewPool(threads)
		m := smolLM2(b, nn.WithPool(pool))
		for _, clients := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("threads=%d/clients=%d", threads, clients), func(b *testing.B) {
				bt := NewBatcher(m, decode.BatchOptions{})
				defer bt.Close()
				var made atomic.Int64
				for b.Loop() {
					var wg sync.WaitGroup
					for c := range clients {
						wg.Go(func() {
							prompt := benchPrompt(33)[1:] // a different prompt per client
							prompt[0] += c
							for _, err := range bt.Generate(context.Background(), prompt, GenerateOptions{MaxNewTokens: 32}) {
								if err != nil {
									b.Error(err)
									return
								}
								made.Add(1)
							}
						})
					}
					wg.Wait()
				}
				b.ReportMetric(float64(made.Load())/b.Elapsed().Seconds(), "tokens/s")
			})
		}
		pool.Close()
	}
}
