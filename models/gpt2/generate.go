package gpt2

import (
	"context"
	"fmt"
	"iter"

	"github.com/lumen-ml/lumen/models/decode"
)

// GenerateOptions controls generation (decode.Options; StopAtEOS stops at
// <|endoftext|>).
type GenerateOptions = decode.Options

func validate(o GenerateOptions, cfg Config, longest int) error {
	if err := o.Validate(cfg.NPositions, longest); err != nil {
		return fmt.Errorf("%w: %w", ErrInput, err)
	}
	return nil
}

// Generate streams the new tokens for one prompt: each step yields (token, nil); an
// error (bad input, cancelled ctx) is yielded as (-1, err) and ends the stream.
func (m *Model) Generate(ctx context.Context, prompt []int, opt GenerateOptions) iter.Seq2[int, error] {
	return decode.Generate(ctx, network{m}, prompt, opt)
}

// GenerateBatch generates for several prompts at once, left-padding them as HF does
// (pad id <|endoftext|>, attention mask 0 on pads, position ids counting real tokens).
// Rows that stop at EOS are shorter.
func (m *Model) GenerateBatch(ctx context.Context, prompts [][]int, opt GenerateOptions) ([][]int, error) {
	out := make([][]int, len(prompts))
	err := m.generate(ctx, prompts, opt, func(row, tok int) bool {
		out[row] = append(out[row], tok)
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Chunk is one step of GenerateText (decode.Chunk).
type Chunk = decode.Chunk

// GenerateText streams the text generated after the prompt's token ids (from
// Encode), one Chunk per token, never splitting a UTF-8 character. It ends at
// MaxNewTokens, at <|endoftext|> when StopAtEOS is set, or just before the first of
// stop that appears in the generated text (text that might begin a stop string is held
// back until it is certain not to). An error is yielded last.
func (m *Model) GenerateText(ctx context.Context, prompt []int, opt GenerateOptions, stop []string) iter.Seq2[Chunk, error] {
	return m.text(m.Generate(ctx, prompt, opt), stop)
}

// text turns a stream of token ids into GenerateText's chunks.
func (m *Model) text(tokens iter.Seq2[int, error], stop []string) iter.Seq2[Chunk, error] {
	if m.tok == nil {
		return func(yield func(Chunk, error) bool) {
			yield(Chunk{Token: -1}, fmt.Errorf("%w: the model was loaded without a tokenizer", ErrInput))
		}
	}
	return decode.Text(tokens, m.tok.NewStreamDecoder(), stop)
}

func (m *Model) generate(ctx context.Context, prompts [][]int, opt GenerateOptions, emit func(row, tok int) bool) error {
	if len(prompts) == 0 {
		return fmt.Errorf("%w: no prompts", ErrInput)
	}
	longest := 0
	for i, p := range prompts {
		if len(p) == 0 {
			return fmt.Errorf("%w: prompt %d is empty", ErrInput, i)
		}
		longest = max(longest, len(p))
	}
	if err := validate(opt, m.cfg, longest); err != nil {
		return err
	}
	B, L, V, E := len(prompts), longest, m.cfg.VocabSize, m.cfg.NEmbd
	eos := m.eos()
	s, err := m.NewState(B, L+opt.MaxNewTokens)
	if err != nil {
		return err
	}
	ids := make([]int, B*L)
	valid := make([]bool, B*L)
	for b, p := range prompts {
		pad := L - len(p)
		for t := 0; t < L; t++ {
			if t < pad {
				ids[b*L+t] = eos
			} else {
				ids[b*L+t], valid[b*L+t] = p[t-pad], true
			}
		}
	}
	last := make([]float32, B*E)
	logits := make([]float32, B*V)
	samplers := make([]*decode.Sampler, B)
	for b := range samplers {
		samplers[b] = decode.NewSampler(opt, uint64(b))
	}
	done := make([]bool, B)
	next := make([]int, B)
	hidden, err := s.Forward(ids, valid, L)
	for step := 0; ; step++ {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		T := len(hidden) / (B * E)
		for b := 0; b < B; b++ {
			copy(last[b*E:(b+1)*E], hidden[(b*T+T-1)*E:(b*T+T)*E])
		}
		if err := s.Logits(logits, last, B); err != nil {
			return err
		}
		alive := false
		for b := 0; b < B; b++ {
			if done[b] {
				next[b] = eos
				continue
			}
			next[b] = samplers[b].Pick(logits[b*V : (b+1)*V])
			if !emit(b, next[b]) {
				return nil
			}
			if opt.StopAtEOS && next[b] == eos {
				done[b] = true
			}
			alive = alive || !done[b]
		}
		if step+1 == opt.MaxNewTokens || !alive {
			return nil
		}
		hidden, err = s.Forward(next, nil, 1)
	}
}

func (m *Model) eos() int {
	if m.cfg.EOSTokenID != nil && *m.cfg.EOSTokenID >= 0 && *m.cfg.EOSTokenID < m.cfg.VocabSize {
		return *m.cfg.EOSTokenID
	}
	return min(50256, m.cfg.VocabSize-1)
}
