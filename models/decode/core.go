package decode

import (
	"context"
	"fmt"
	"iter"
	"math"

	"github.com/lumen-ml/lumen/ops"
)

// The decode core: what GPT-2, Llama and the next decoder share below sampling.
// A model supplies a Network (its shapes and a Runner, its forward pass with its
// own scratch); the core owns the KV caches (KVCache), describes each forward pass
// over the new tokens of one or many sequences (Pass), runs the self-attention of
// every layer against each sequence's own cache (Pass.Attend), and drives the
// passes: State for one sequence (Model.Generate), Batcher for many (continuous
// batching). So one attention call, one cache type and one token check serve every
// decoder, alone or batched.

// Network is a decoder as the core sees it. Its methods are safe for concurrent use.
type Network interface {
	// Layout is the KV cache's shape: layers, and the key (= value) values per
	// position of one layer (key/value heads × head size).
	Layout() (layers, width int)
	VocabSize() int
	ContextLength() int
	// EOS is the end-of-sequence token, or -1 when the model has none.
	EOS() int
	// InputError is the model's sentinel for bad requests (its ErrInput), which
	// the core's errors wrap.
	InputError() error
	// NewRunner returns a forward pass with its own scratch.
	NewRunner() Runner
	// Threads is the size of the worker pool the runners use.
	Threads() int
}

// Runner is a Network's forward pass with its scratch; it is not safe for
// concurrent use.
type Runner interface {
	// Run feeds ids (one per row of p, in p's order, at the positions p.Pos) through
	// the network, appends the rows' keys and values to their segments' caches
	// (Pass.Attend does, in every layer) and writes the logits after the last row
	// of each segment that samples, in order, to logits (vocabulary-sized rows).
	Run(p *Pass, ids []int, logits []float32)
}

// KVCache is one sequence's keys and values, every layer: positions [0, Len) are
// filled. Width is a position's values in one layer.
type KVCache struct {
	K, V  [][]float32 // per layer: [Cap, Width]
	Width int
	Cap   int
	Len   int
}

// NewKVCache allocates a cache for capacity positions.
func NewKVCache(layers, width, capacity int) *KVCache {
	c := &KVCache{K: make([][]float32, layers), V: make([][]float32, layers), Width: width, Cap: capacity}
	for l := range c.K {
		c.K[l] = make([]float32, capacity*width)
		c.V[l] = make([]float32, capacity*width)
	}
	return c
}

// CacheBytes is the size of a cache of capacity positions.
func CacheBytes(layers, width, capacity int) int64 {
	return 8 * int64(layers) * int64(width) * int64(capacity)
}

// Segment is one sequence's share of a pass: rows [Row, Row+N), appended to Cache
// at Cache.Len.
type Segment struct {
	Cache  *KVCache
	Row, N int
	Sample bool      // the runner writes logits after the segment's last row
	Mask   []float32 // nil, or [Cache.Cap] additive key masks (0, or ops.MaskValue at padding)
}

// Pass is one forward pass over the new tokens of one or more sequences, their rows
// side by side: Rows rows, Pos[r] the position of row r.
type Pass struct {
	Segs []Segment
	Rows int
	Pos  []int // [Rows]
}

// Reset empties the pass, keeping its memory.
func (p *Pass) Reset() { p.Segs, p.Rows, p.Pos = p.Segs[:0], 0, p.Pos[:0] }

// Add appends a segment of n rows at its cache's next positions.
func (p *Pass) Add(c *KVCache, n int, sample bool) {
	p.Segs = append(p.Segs, Segment{Cache: c, Row: p.Rows, N: n, Sample: sample})
	for t := range n {
		p.Pos = append(p.Pos, c.Len+t)
	}
	p.Rows += n
}

// Samples counts the segments that sample.
func (p *Pass) Samples() int {
	n := 0
	for _, s := range p.Segs {
		if s.Sample {
			n++
		}
	}
	return n
}

// GatherSamples copies the last row of each segment that samples, in order, from x
// (rows of width values) to dst, grown as needed, and returns them.
func (p *Pass) GatherSamples(dst, x []float32, width int) []float32 {
	dst = dst[:0]
	for _, s := range p.Segs {
		if s.Sample {
			r := s.Row + s.N - 1
			dst = append(dst, x[r*width:(r+1)*width]...)
		}
	}
	return dst
}

// Advance moves every segment's cache past its new rows; a runner calls it after
// its last layer.
func (p *Pass) Advance() {
	for _, s := range p.Segs {
		s.Cache.Len += s.N
	}
}

// Rows is a matrix of rows in a larger buffer: row r at Data[r·Stride:].
type Rows struct {
	Data   []float32
	Stride int
}

// Heads is the attention's geometry.
type Heads struct {
	Heads, KVHeads, HeadDim int // KVHeads ≤ Heads: grouped-query attention
}

// Attend runs layer l's causal self-attention for every segment of the pass: it
// writes the rows' keys and values (k, v: Pass.Rows rows of KVHeads·HeadDim) to
// the segment's cache after its Len positions, then attends the rows' queries (q:
// rows of Heads·HeadDim) over the cache, each query seeing its own and earlier
// positions (and not the masked ones), into out (rows of Heads·HeadDim). Scores
// are scaled by 1/√HeadDim.
func (p *Pass) Attend(ws *ops.Workspace, l int, h Heads, out, q, k, v Rows) {
	W, D := h.KVHeads*h.HeadDim, h.Heads*h.HeadDim
	for _, s := range p.Segs {
		c := s.Cache
		if c.Width != W || c.Len+s.N > c.Cap {
			panic(fmt.Sprintf("decode: a cache of width %d with %d of %d positions filled, for %d rows of width %d", c.Width, c.Len, c.Cap, s.N, W))
		}
		kc, vc := c.K[l], c.V[l]
		for t := range s.N {
			r, dst := s.Row+t, (c.Len+t)*W
			copy(kc[dst:dst+W], k.Data[r*k.Stride:][:W])
			copy(vc[dst:dst+W], v.Data[r*v.Stride:][:W])
		}
		shape := ops.AttentionShape{
			Batch: 1, Heads: h.Heads, KVHeads: h.KVHeads, HeadDim: h.HeadDim, Queries: s.N, Keys: c.Len + s.N,
			Causal: true, Past: c.Len, Scale: float32(1 / math.Sqrt(float64(h.HeadDim))),
			QRow: q.Stride, QSeq: s.N * q.Stride, KVRow: W, KVSeq: len(kc), OutRow: out.Stride, OutSeq: s.N * out.Stride,
		}
		var mask []float32
		if s.Mask != nil {
			mask, shape.MaskSeq = s.Mask, len(s.Mask)
		}
		ops.Attention(ws, shape, out.Data[s.Row*out.Stride:][:(s.N-1)*out.Stride+D],
			q.Data[s.Row*q.Stride:][:(s.N-1)*q.Stride+D], kc, vc, mask)
	}
}

// CheckTokens reports the first id outside [0, vocab), wrapping errInput.
func CheckTokens(errInput error, ids []int, vocab int) error {
	for _, id := range ids {
		if id < 0 || id >= vocab {
			return fmt.Errorf("%w: token id %d outside the vocabulary [0, %d)", errInput, id, vocab)
		}
	}
	return nil
}

// CheckRequest validates a generation request for net: a non-empty prompt of valid
// ids and options that fit the context.
func CheckRequest(net Network, prompt []int, opt Options) error {
	if len(prompt) == 0 {
		return fmt.Errorf("%w: the prompt is empty", net.InputError())
	}
	if err := CheckTokens(net.InputError(), prompt, net.VocabSize()); err != nil {
		return err
	}
	if err := opt.Validate(net.ContextLength(), len(prompt)); err != nil {
		return fmt.Errorf("%w: %w", net.InputError(), err)
	}
	return nil
}

// maxStateBytes bounds the KV cache one State may ask for.
const maxStateBytes = 1 << 34

// PrefillChunk bounds the tokens of one forward pass of a State: a long prompt
// runs in chunks, so that the scratch (attention scores are chunk × keys) stays
// small.
const PrefillChunk = 256

// State is one sequence's run state: its KV cache and a runner. Step feeds tokens
// and returns the logits after the last. It is not safe for concurrent use; the
// Network it came from is.
type State struct {
	net    Network
	run    Runner
	cache  *KVCache
	pass   Pass
	logits []float32 // [vocab] after the last new token
}

// NewState allocates a sequence of up to maxLen positions (at most the context).
func NewState(net Network, maxLen int) (*State, error) {
	layers, width := net.Layout()
	if maxLen <= 0 || maxLen > net.ContextLength() {
		return nil, fmt.Errorf("%w: a state of %d positions (the model has %d)", net.InputError(), maxLen, net.ContextLength())
	}
	if b := CacheBytes(layers, width, maxLen); b > maxStateBytes {
		return nil, fmt.Errorf("%w: a KV cache of %d positions needs %d bytes", net.InputError(), maxLen, b)
	}
	return &State{net: net, run: net.NewRunner(), cache: NewKVCache(layers, width, maxLen), logits: make([]float32, net.VocabSize())}, nil
}

// Len is the number of cached positions.
func (s *State) Len() int { return s.cache.Len }

// Reset empties the cache so the State can serve a new sequence.
func (s *State) Reset() { s.cache.Len = 0 }

// Step appends ids to the sequence and returns the logits after the last of them
// (vocabulary-sized, valid until the next Step). It checks ctx between chunks of
// a long prompt; a cancelled Step leaves the chunks it ran in the cache (Reset to
// start over). Bad ids or too many of them are refused before anything runs.
func (s *State) Step(ctx context.Context, ids []int) ([]float32, error) {
	errInput := s.net.InputError()
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no tokens", errInput)
	}
	if s.cache.Len+len(ids) > s.cache.Cap {
		return nil, fmt.Errorf("%w: %d cached and %d new positions exceed the state's %d", errInput, s.cache.Len, len(ids), s.cache.Cap)
	}
	if err := CheckTokens(errInput, ids, s.net.VocabSize()); err != nil {
		return nil, err
	}
	for len(ids) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := min(len(ids), PrefillChunk)
		s.pass.Reset()
		s.pass.Add(s.cache, n, n == len(ids))
		s.run.Run(&s.pass, ids[:n], s.logits)
		ids = ids[n:]
	}
	return s.logits, nil
}

// Collect gathers a token stream: the tokens, and the error that ended it.
func Collect(tokens iter.Seq2[int, error]) ([]int, error) {
	var out []int
	for tok, err := range tokens {
		if err != nil {
			return out, err
		}
		out = append(out, tok)
	}
	return out, nil
}

// Generate streams the new tokens after prompt on a fresh State: (token, nil) per
// step; an error (bad input, cancelled ctx) is yielded as (-1, err) and ends the
// stream.
func Generate(ctx context.Context, net Network, prompt []int, opt Options) iter.Seq2[int, error] {
	if err := CheckRequest(net, prompt, opt); err != nil {
		return func(yield func(int, error) bool) { yield(-1, err) }
	}
	s, err := NewState(net, len(prompt)+opt.MaxNewTokens)
	if err != nil {
		return func(yield func(int, error) bool) { yield(-1, err) }
	}
	return Stream(ctx, s, prompt, opt, net.EOS())
}
