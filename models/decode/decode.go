// Package decode is what every autoregressive model in Lumen shares around its
// network: the KV cache, the self-attention over it, the forward passes over one
// sequence (State) or many (Batcher, continuous batching), the generation options,
// sampling (greedy, temperature, top-k, top-p), the decoding loop, and the
// streaming of generated tokens as text with stop strings. A model supplies a
// Network (core.go): its shapes and its forward pass. GPT-2 and Llama both
// generate through it; it knows nothing of either.
package decode

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

// Options controls generation. The zero Temperature means greedy decoding.
type Options struct {
	MaxNewTokens int
	Temperature  float32 // 0: greedy (argmax); otherwise logits are divided by it
	TopK         int     // keep the K most likely tokens (0: all)
	TopP         float32 // keep the smallest set with this much probability (0 or 1: all)
	Seed         uint64  // sampling is reproducible for a given seed
	StopAtEOS    bool    // end a sequence when it produces the model's end-of-sequence token
}

// Validate checks the options for a prompt of promptLen tokens on a model of
// contextLength positions. The model wraps the error in its own ErrInput.
func (o Options) Validate(contextLength, promptLen int) error {
	switch {
	case o.MaxNewTokens <= 0:
		return fmt.Errorf("MaxNewTokens must be positive, got %d", o.MaxNewTokens)
	case o.Temperature < 0 || o.TopK < 0 || o.TopP < 0 || o.TopP > 1 || o.Temperature != o.Temperature:
		return fmt.Errorf("temperature %v, top-k %d, top-p %v", o.Temperature, o.TopK, o.TopP)
	case promptLen+o.MaxNewTokens > contextLength:
		return fmt.Errorf("a %d-token prompt plus %d new tokens exceeds the context of %d positions", promptLen, o.MaxNewTokens, contextLength)
	}
	return nil
}

// Sampler picks tokens from logits under Options, reproducibly: sequence i of a
// request seeded s draws from PCG(s, i). It reuses its scratch, so that sampling
// allocates nothing per token. A Sampler is not safe for concurrent use.
type Sampler struct {
	opt   Options
	rng   *rand.Rand
	idx   []int
	probs []float64
}

// NewSampler returns the sampler of sequence stream of a request.
func NewSampler(opt Options, stream uint64) *Sampler {
	return &Sampler{opt: opt, rng: rand.New(rand.NewPCG(opt.Seed, stream))}
}

// Pick chooses the next token from one row of logits.
func (s *Sampler) Pick(logits []float32) int {
	opt := s.opt
	if opt.Temperature == 0 {
		return argmax(logits)
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
	idx := s.idx[:0]
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
		best := argmax(logits)
		idx = append(idx, best)
		for i := range logits {
			if i != best {
				idx = append(idx, i)
			}
		}
	}
	s.idx = idx
	maxv, temp := float64(logits[idx[0]]), float64(opt.Temperature)
	var sum float64
	probs := slices.Grow(s.probs[:0], len(idx))[:len(idx)]
	s.probs = probs
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
	r := s.rng.Float64() * sum
	for i, p := range probs {
		if r < p {
			return idx[i]
		}
		r -= p
	}
	return idx[len(idx)-1]
}

// argmax is the first index of the largest logit.
func argmax(logits []float32) int {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return best
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

// Stepper is one sequence of a model: Step appends tokens to its cache and returns
// the logits after the last of them (vocabulary-sized, valid until the next Step).
type Stepper interface {
	Step(ctx context.Context, ids []int) ([]float32, error)
}

// Stream runs a sequence: it feeds the prompt, then each token it picks, and yields
// the new tokens, (token, nil) per step, until MaxNewTokens, eos (with StopAtEOS;
// eos < 0: none), the caller stopping, or an error, yielded last as (-1, err).
// The caller validates the options against its model (Options.Validate).
func Stream(ctx context.Context, s Stepper, prompt []int, opt Options, eos int) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		sm := NewSampler(opt, 0)
		logits, err := s.Step(ctx, prompt)
		for made := 0; ; {
			if err == nil {
				err = ctx.Err()
			}
			if err != nil {
				yield(-1, err)
				return
			}
			tok := sm.Pick(logits)
			made++
			if !yield(tok, nil) || made == opt.MaxNewTokens || (opt.StopAtEOS && tok == eos) {
				return
			}
			logits, err = s.Step(ctx, []int{tok})
		}
	}
}

// Decoder turns token ids into text incrementally, never splitting a UTF-8
// character (tokenizer.StreamDecoder).
type Decoder interface {
	Next(id int) (string, error)
	Flush() string
}

// Chunk is one step of a text stream: the token generated (-1 for the final flush)
// and the text that became certain with it, possibly empty while a multi-byte
// character or a possible stop string is incomplete.
type Chunk struct {
	Token int
	Text  string
}

// Text turns a stream of token ids into text chunks, one per token, decoded by dec.
// It ends where tokens ends or just before the first of stop that appears in the
// text (text that might begin a stop string is held back until it is certain not
// to). An error from tokens or dec is yielded last, with Token −1.
func Text(tokens iter.Seq2[int, error], dec Decoder, stop []string) iter.Seq2[Chunk, error] {
	return func(yield func(Chunk, error) bool) {
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
