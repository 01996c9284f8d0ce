package gpt2

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/tensor"
)

// random124M builds GPT-2 124M with random weights in memory.
func random124M(b *testing.B, dt tensor.DType, half bool, opts ...Option) *Model {
	cfg, err := SizeConfig("124M")
	if err != nil {
		b.Fatal(err)
	}
	tensors, err := RandomTensors(cfg, dt, 1)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, tensors, nil); err != nil {
		b.Fatal(err)
	}
	src, err := safetensors.FromBytes(buf.Bytes(), "random-124M")
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(cfg, src, "random-124M", append([]Option{nn.WithHalfWeights(half)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkGPT2 on 124M random weights: prefill128 (128-token prompt through the
// whole model plus last-token logits) and decode (one token with 128 cached),
// threads from -cpu; int8 quantises the F32 weights' matrices at load.
func BenchmarkGPT2(b *testing.B) {
	for _, c := range []struct {
		name string
		dt   tensor.DType
		half bool
		q    nn.Quantization
	}{{"f32", tensor.F32, false, nn.NoQuantization}, {"bf16", tensor.BF16, true, nn.NoQuantization}, {"f16", tensor.F16, true, nn.NoQuantization}, {"int8", tensor.F32, false, nn.Int8}} {
		m := random124M(b, c.dt, c.half, nn.WithQuantization(c.q))
		prompt := make([]int, 128)
		for i := range prompt {
			prompt[i] = (i * 7919) % 50257
		}
		E, V := m.cfg.NEmbd, m.cfg.VocabSize
		logits := make([]float32, V)
		b.Run(c.name+"/prefill128", func(b *testing.B) {
			s, _ := m.NewState(1, 129)
			for b.Loop() {
				s.Reset()
				h, err := s.Forward(prompt, nil, 128)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Logits(logits, h[127*E:], 1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms")
		})
		b.Run(c.name+"/decode", func(b *testing.B) {
			s, _ := m.NewState(1, 256)
			if _, err := s.Forward(prompt, nil, 128); err != nil {
				b.Fatal(err)
			}
			next := []int{11}
			for b.Loop() {
				if s.Len() == 255 { // keep 128..255 positions cached (the prefill not timed)
					b.StopTimer()
					s.Reset()
					if _, err := s.Forward(prompt, nil, 128); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				h, err := s.Forward(next, nil, 1)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Logits(logits, h, 1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
		m.Close()
	}
}

// BenchmarkBatcher: N concurrent 32-token greedy completions of a 9-token prompt
// through one Batcher on 124M random F32 weights (threads from -cpu): aggregate
// tokens/s and the mean step.
func BenchmarkBatcher(b *testing.B) {
	m := random124M(b, tensor.F32, false)
	defer m.Close()
	prompt := []int{464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290}
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("seqs%d", n), func(b *testing.B) {
			bt := NewBatcher(m, decode.BatchOptions{MaxBatch: 16})
			defer bt.Close()
			tokens := 0
			for b.Loop() {
				var wg sync.WaitGroup
				counts := make([]int, n)
				for i := 0; i < n; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for _, err := range bt.Generate(context.Background(), prompt, GenerateOptions{MaxNewTokens: 32}) {
							if err != nil {
								b.Error(err)
								return
							}
							counts[i]++
						}
					}()
				}
				wg.Wait()
				for _, c := range counts {
					tokens += c
				}
			}
			st := bt.Stats()
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
			b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(st.Steps), "ms/step")
		})
	}
}
