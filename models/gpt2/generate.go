package gpt2

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode/utf8"
)

// GenerateOptions controls generation. The zero Temperature means greedy decoding.
type GenerateOptions struct {
	MaxNewTokens int
	Temperature  float32 // 0: greedy (argmax); otherwise logits are divided by it
	TopK         int     // keep the K most likely tokens (0: all)
	TopP         float32 // keep the smallest set with this much probability (0 or 1: all)
	Seed         uint64  // sampling is reproducible for a given seed
	StopAtEOS    bool    // end a row when it produces <|endoftext|>
}

func (o GenerateOptions) validate(cfg Config, longest int) error {
	switch {
	case o.MaxNewTokens <= 0:
		return fmt.Errorf("%w: MaxNewTokens must be positive, got %d", ErrInput, o.MaxNewTokens)
	case o.Temperature < 0 || o.TopK < 0 || o.TopP < 0 || o.TopP > 1 || o.Temperature != o.Temperature:
		return fmt.Errorf("%w: temperature %v, top-k %d, top-p %v", ErrInput, o.Temperature, o.TopK, o.TopP)
	case longest+o.MaxNewTokens > cfg.NPositions:
		return fmt.Errorf("%w: a %d-token prompt plus %d new tokens exceeds n_positions %d", ErrInput, longest, o.MaxNewTokens, cfg.NPositions)
	}
	return nil
}

// Generate streams the new tokens for one prompt: each step yields (token, nil); an
// error (bad input, cancelled ctx) is yielded as (-1, err) and ends the stream.
func (m *Model) Generate(ctx context.Context, prompt []int, opt GenerateOptions) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		err := m.generate(ctx, [][]int{prompt}, opt, func(_, tok int) bool { return yield(tok, nil) })
		if err != nil {
			yield(-1, err)
		}
	}
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

// Chunk is one step of GenerateText: the token generated (-1 for the final flush)
// and the text that became certain with it, possibly empty while a multi-byte
// character or a possible stop string is incomplete.
type Chunk struct {
	Token int
	Text  string
}

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
	return func(yield func(Chunk, error) bool) {
		if m.tok == nil {
			yield(Chunk{Token: -1}, fmt.Errorf("%w: the model was loaded without a tokenizer", ErrInput))
			return
		}
		dec := m.tok.NewStreamDecoder()
		var gen strings.Builder
		emitted, hold := 0, 0
		for _, s := range stop {
			hold = max(hold, len(s)-1)
		}
		take := func(upTo int) string {
			text := gen.String()[emitted:max(upTo, emitted)]
			emitted = max(upTo, emitted)
			return text
		}
		for id, err := range tokens {
			if err == nil {
				var piece string
				if piece, err = dec.Next(id); err == nil {
					gen.WriteString(piece)
				}
			}
			if err != nil {
				yield(Chunk{Token: -1}, err)
				return
			}
			text := gen.String()
			if cut, ok := firstStop(text, stop); ok {
				yield(Chunk{Token: id, Text: take(cut)}, nil)
				return
			}
			safe := max(emitted, len(text)-hold)
			for safe > emitted && safe < len(text) && !utf8.RuneStart(text[safe]) {
				safe--
			}
			if !yield(Chunk{Token: id, Text: take(safe)}, nil) {
				return
			}
		}
		gen.WriteString(dec.Flush())
		end := gen.Len()
		if cut, ok := firstStop(gen.String(), stop); ok {
			end = cut
		}
		if rest := take(end); rest != "" {
			yield(Chunk{Token: -1, Text: rest}, nil)
		}
	}
}

// firstStop returns the position of the earliest stop string in text.
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
	if err := opt.validate(m.cfg, longest); err != nil {
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
	rngs := make([]*rand.Rand, B)
	for b := range rngs {
		rngs[b] = rand.New(rand.NewPCG(opt.Seed, uint64(b)))
	}
	done := make([]bool, B)
	next := make([]int, B)
	scratch := &pickScratch{idx: make([]int, 0, V)}
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
			next[b] = pick(logits[b*V:(b+1)*V], opt, rngs[b], scratch)
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

// topK appends to idx the ids of the k largest logits and of any ties with the k-th
// (HF's top-k keeps ties), in no particular order, using a size-k min-heap.
func topK(logits []float32, k int, idx []int) []int {
	h := idx[:0]
	less := func(a, b int) bool { // heap order: smallest logit at the root
		return logits[a] < logits[b] || (logits[a] == logits[b] && a > b)
	}
	down := func(i int) {
		for {
			l, m := 2*i+1, i
			if l < len(h) && less(h[l], h[m]) {
				m = l
			}
			if r := l + 1; r < len(h) && less(h[r], h[m]) {
				m = r
			}
			if m == i {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for i := range logits {
		if len(h) < k {
			h = append(h, i)
			for j := len(h) - 1; j > 0 && less(h[j], h[(j-1)/2]); j = (j - 1) / 2 {
				h[j], h[(j-1)/2] = h[(j-1)/2], h[j]
			}
		} else if logits[i] > logits[h[0]] {
			h[0] = i
			down(0)
		}
	}
	kth := logits[h[0]]
	for i, v := range logits { // ties with the k-th value that the heap left out
		if v == kth && !slices.Contains(h, i) {
			h = append(h, i)
		}
	}
	return h
}

// pick chooses the next token from one row of logits (modified in place).
// pickScratch is reused across steps so that sampling allocates nothing per token.
type pickScratch struct {
	idx   []int
	probs []float64
}

func pick(logits []float32, opt GenerateOptions, rng *rand.Rand, scratch *pickScratch) int {
	if opt.Temperature == 0 {
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		return best
	}
	// Dividing by the temperature keeps the order, so candidates are ranked on the raw
	// logits, and the probabilities are exp((logit − max)/T) in float64: a tiny T
	// cannot overflow (once 1/T did, the probabilities became NaN and the last
	// candidate was picked), it tends to greedy.
	// Candidates in descending order of logit (ties: lower id first). With top-k only
	// the k best (and any ties with the k-th) are selected and sorted.
	better := func(a, b int) int {
		if c := cmp.Compare(logits[b], logits[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	}
	idx := scratch.idx[:0]
	topP := opt.TopP > 0 && opt.TopP < 1
	switch {
	case opt.TopK > 0 && opt.TopK < len(logits):
		idx = topK(logits, opt.TopK, idx)
		slices.SortFunc(idx, better)
	case topP: // the nucleus needs the candidates in order
		for i := range logits {
			idx = append(idx, i)
		}
		slices.SortFunc(idx, better)
	default: // plain temperature sampling needs no order: the best first, the rest by id
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		idx = append(idx, best)
		for i := range logits {
			if i != best {
				idx = append(idx, i)
			}
		}
	}
	scratch.idx = idx
	maxv, temp := float64(logits[idx[0]]), float64(opt.Temperature)
	var sum float64
	probs := slices.Grow(scratch.probs[:0], len(idx))[:len(idx)]
	scratch.probs = probs
	for i, j := range idx {
		probs[i] = math.Exp((float64(logits[j]) - maxv) / temp)
		sum += probs[i]
	}
	if topP {
		var cum float64
		for i := range probs {
			cum += probs[i] / sum
			if cum >= float64(opt.TopP) {
				idx, probs = idx[:i+1], probs[:i+1]
				break
			}
		}
		sum = 0
		for _, p := range probs {
			sum += p
		}
	}
	r := rng.Float64() * sum
	for i, p := range probs {
		if r < p {
			return idx[i]
		}
		r -= p
	}
	return idx[len(idx)-1]
}
