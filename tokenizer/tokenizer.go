package tokenizer

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unicode/utf8"
)

// ErrUnknownID is wrapped by errors about token ids a tokenizer does not have.
var ErrUnknownID = errors.New("tokenizer: unknown token id")

// Tokenizer turns text into token ids and back, as a Hugging Face tokenizer.json
// describes: normalizer, pre-tokenizer, model, post-processor and decoder, with
// added tokens matched before the model runs.
//
// A Tokenizer is immutable once built; every method is safe for concurrent use.
// WithTruncation and WithPadding return changed copies.
type Tokenizer struct {
	normalizer normalizer    // nil: none
	pre        preTokenizer  // nil: none
	model      model         // never nil
	post       postProcessor // nil: none
	dec        decoder       // nil: tokens joined by spaces

	added     []AddedToken       // in the order of the file
	addedByID map[int]AddedToken // id -> token
	addedIDs  map[string]int     // content -> id
	rawSet    *addedSet          // tokens matched in the raw text (normalized: false)
	normSet   *addedSet          // tokens matched in the normalized text, contents normalized

	truncation *Truncation // nil: none
	padding    *Padding    // nil: none

	scratch *sync.Pool // of *scratch, shared by the copies WithTruncation makes
	// offsetFree says the pipeline's ids never depend on offsets (no Metaspace
	// with prepend_scheme "first", which looks at where a piece began), so
	// EncodeIDs may run untracked.
	offsetFree bool

	// Config is what tokenizer_config.json and the model card say about use: the
	// special tokens by role and the chat template.
	Config Config
}

// Config holds what a tokenizer's configuration (tokenizer_config.json, or a GGUF
// file's tokenizer.* keys) says beyond tokenizer.json.
type Config struct {
	BOS, EOS, PAD, UNK string // the special tokens by role; "" where none
	AddBOS, AddEOS     bool   // whether a prompt starts with BOS / ends with EOS
	ChatTemplate       string // a Jinja template for chat messages; "" where none
	ModelMaxLength     int    // 0 where unknown
}

// finish builds the added-token matchers once the components are in place.
func (t *Tokenizer) finish() {
	t.addedByID = make(map[int]AddedToken, len(t.added))
	t.addedIDs = make(map[string]int, len(t.added))
	var raw, normed []AddedToken
	var rawC, normC []string
	for _, a := range t.added {
		t.addedByID[a.ID] = a
		t.addedIDs[a.Content] = a.ID
		if a.Normalized {
			c := a.Content
			if t.normalizer != nil {
				n := newNormalized(c, 0, len(c), false)
				t.normalizer.normalize(&n)
				c = n.s
			}
			normed, normC = append(normed, a), append(normC, c)
		} else {
			raw, rawC = append(raw, a), append(rawC, a.Content)
		}
	}
	t.rawSet = newAddedSet(raw, rawC)
	t.normSet = newAddedSet(normed, normC)
	t.scratch = &sync.Pool{New: func() any { return new(scratch) }}
	t.offsetFree = !usesPieceStart(t.pre)
}

// usesPieceStart reports whether a pre-tokenizer looks at where in the input a
// piece begins (Metaspace's prepend_scheme "first").
func usesPieceStart(p preTokenizer) bool {
	switch p := p.(type) {
	case metaspace:
		return p.scheme == prependFirst
	case sequencePre:
		for _, q := range p {
			if usesPieceStart(q) {
				return true
			}
		}
	}
	return false
}

// scratch holds the working buffers of one encode, reused through Tokenizer's
// pool so that steady-state encoding allocates little beyond its result.
type scratch struct {
	spare         []piece      // the piece buffer the next split fills
	first         []piece      // the buffer an encode starts in (the other of the pair)
	norm          []normalized // one piece's parts during a split
	toks          []token      // the tokens of every piece, in order
	words         []int32      // the piece each of toks came from
	matches, cuts []match      // a pattern's matches in one piece, and a split's cuts
}

// maxScratch is the most pieces or tokens a pooled scratch keeps room for: a
// 1 MB text's buffers are dropped rather than held.
const maxScratch = 1 << 16

func (t *Tokenizer) getScratch() *scratch {
	if t.scratch == nil {
		return new(scratch)
	}
	return t.scratch.Get().(*scratch)
}

func (t *Tokenizer) putScratch(sc *scratch, ps []piece) {
	// ps and sc.spare are the two buffers splits alternate between.
	clear(ps)
	sc.first = ps[:0]
	clear(sc.toks)
	if cap(sc.spare) > maxScratch || cap(sc.first) > maxScratch {
		sc.spare, sc.first = nil, nil
	}
	if cap(sc.toks) > maxScratch {
		sc.toks, sc.words = nil, nil
	}
	sc.toks, sc.words = sc.toks[:0], sc.words[:0]
	if t.scratch != nil {
		t.scratch.Put(sc)
	}
}

// clone returns a shallow copy to change settings on.
func (t *Tokenizer) clone() *Tokenizer {
	c := *t
	return &c
}

// WithTruncation returns a copy of t that truncates encodings as tr says (nil:
// not at all).
func (t *Tokenizer) WithTruncation(tr *Truncation) (*Tokenizer, error) {
	c := t.clone()
	if tr == nil {
		c.truncation = nil
		return c, nil
	}
	x := *tr
	switch x.Strategy {
	case "", "LongestFirst", "OnlyFirst", "OnlySecond":
	default:
		return nil, fmt.Errorf("%w: strategy %q is not one of LongestFirst, OnlyFirst, OnlySecond", ErrTruncation, x.Strategy)
	}
	switch x.Direction {
	case "", "Right", "Left":
	default:
		return nil, fmt.Errorf("%w: direction %q is not Left or Right", ErrTruncation, x.Direction)
	}
	if x.MaxLength < 0 || x.Stride < 0 {
		return nil, fmt.Errorf("%w: max_length %d and stride %d must not be negative", ErrTruncation, x.MaxLength, x.Stride)
	}
	c.truncation = &x
	return c, nil
}

// WithPadding returns a copy of t that pads encodings as p says (nil: not at all).
func (t *Tokenizer) WithPadding(p *Padding) *Tokenizer {
	c := t.clone()
	if p == nil {
		c.padding = nil
		return c
	}
	x := *p
	c.padding = &x
	return c
}

// Truncation returns the truncation settings, nil when none.
func (t *Tokenizer) Truncation() *Truncation {
	if t.truncation == nil {
		return nil
	}
	x := *t.truncation
	return &x
}

// Padding returns the padding settings, nil when none.
func (t *Tokenizer) Padding() *Padding {
	if t.padding == nil {
		return nil
	}
	x := *t.padding
	return &x
}

// VocabSize is the number of tokens, added tokens included.
func (t *Tokenizer) VocabSize() int {
	n := t.model.vocabSize()
	for _, a := range t.added {
		if _, ok := t.model.tokenToID(a.Content); !ok {
			n++
		}
	}
	return n
}

// TokenToID returns the id of a token (an added token's first).
func (t *Tokenizer) TokenToID(tok string) (int, bool) {
	if id, ok := t.addedIDs[tok]; ok {
		return id, true
	}
	return t.model.tokenToID(tok)
}

// IDToToken returns the text of a token id (an added token's first).
func (t *Tokenizer) IDToToken(id int) (string, bool) {
	if a, ok := t.addedByID[id]; ok {
		return a.Content, true
	}
	return t.model.idToToken(id)
}

// AddedTokens returns the added tokens, special ones included.
func (t *Tokenizer) AddedTokens() []AddedToken { return append([]AddedToken(nil), t.added...) }

// IsSpecial reports whether id is a special added token.
func (t *Tokenizer) IsSpecial(id int) bool { a, ok := t.addedByID[id]; return ok && a.Special }

// AddedSpecialTokens is how many tokens the post-processor adds to a single text
// (pair false) or a pair.
func (t *Tokenizer) AddedSpecialTokens(pair bool) int {
	if t.post == nil {
		return 0
	}
	return t.post.added(pair)
}

// Encode tokenizes one text; addSpecial adds the post-processor's special tokens
// ([CLS] and [SEP], <s>, ...). Bytes of text that are not UTF-8 are read as
// U+FFFD, each spanning the one byte it replaces.
func (t *Tokenizer) Encode(text string, addSpecial bool) (Encoding, error) {
	e, err := t.encodeSequence(text, 0)
	if err != nil {
		return Encoding{}, err
	}
	return t.postProcess(e, nil, addSpecial)
}

// EncodePair tokenizes a pair of texts (a question and its context, a query and a
// passage) as one input.
func (t *Tokenizer) EncodePair(a, b string, addSpecial bool) (Encoding, error) {
	ea, err := t.encodeSequence(a, 0)
	if err != nil {
		return Encoding{}, err
	}
	eb, err := t.encodeSequence(b, 1)
	if err != nil {
		return Encoding{}, err
	}
	return t.postProcess(ea, &eb, addSpecial)
}

// EncodeBatch tokenizes texts in parallel over GOMAXPROCS goroutines and pads
// them together when padding is set. It stops early when ctx is done.
func (t *Tokenizer) EncodeBatch(ctx context.Context, texts []string, addSpecial bool) ([]Encoding, error) {
	return t.encodeBatch(ctx, len(texts), func(i int) (Encoding, error) {
		e, err := t.encodeSequence(texts[i], 0)
		if err != nil {
			return Encoding{}, err
		}
		return t.postProcessUnpadded(e, nil, addSpecial)
	})
}

// EncodePairBatch tokenizes pairs (a[i], b[i]) as EncodeBatch does texts.
func (t *Tokenizer) EncodePairBatch(ctx context.Context, a, b []string, addSpecial bool) ([]Encoding, error) {
	if len(a) != len(b) {
		return nil, fmt.Errorf("tokenizer: %d first texts but %d second texts", len(a), len(b))
	}
	return t.encodeBatch(ctx, len(a), func(i int) (Encoding, error) {
		ea, err := t.encodeSequence(a[i], 0)
		if err != nil {
			return Encoding{}, err
		}
		eb, err := t.encodeSequence(b[i], 1)
		if err != nil {
			return Encoding{}, err
		}
		return t.postProcessUnpadded(ea, &eb, addSpecial)
	})
}

func (t *Tokenizer) encodeBatch(ctx context.Context, n int, one func(i int) (Encoding, error)) ([]Encoding, error) {
	out := make([]Encoding, n)
	errs := make([]error, n)
	workers := min(runtime.GOMAXPROCS(0), n)
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				out[i], errs[i] = one(i)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("text %d: %w", i, err)
		}
	}
	if t.padding != nil {
		target := t.padding.padTarget(out)
		for i := range out {
			out[i].pad(target, t.padding)
		}
	}
	for i := range out {
		out[i].finish()
	}
	return out, nil
}

// pieces runs one text through added tokens, normalizer, pre-tokenizer and model
// (HF's encode_single_sequence up to the model), leaving the tokens in sc.toks
// and the piece each came from in sc.words.
func (t *Tokenizer) pieces(text string, sc *scratch, untracked bool) ([]piece, error) {
	ps := append(sc.first[:0], piece{n: newNormalized(text, 0, len(text), untracked)})
	ps = splitAdded(ps, sc, t.rawSet, nil)
	ps = splitAdded(ps, sc, t.normSet, t.normalizer)
	if t.pre != nil {
		ps = t.pre.preTokenize(ps, sc)
	}
	toks, words := sc.toks[:0], sc.words[:0]
	var err error
	for w := range ps {
		p := &ps[w]
		k := len(toks)
		if p.done {
			toks = append(toks, p.tokens...)
		} else if toks, err = t.model.tokenize(p.n.s, toks); err != nil {
			sc.toks, sc.words = toks, words
			return ps, err
		}
		for ; k < len(toks); k++ {
			words = append(words, int32(w))
		}
	}
	sc.toks, sc.words = toks, words
	return ps, nil
}

// encodeSequence is HF's encode_single_sequence: the tokens of one text with
// their offsets, words and the type id given.
func (t *Tokenizer) encodeSequence(text string, typeID int) (Encoding, error) {
	sc := t.getScratch()
	ps, err := t.pieces(text, sc, false)
	if err != nil {
		t.putScratch(sc, ps)
		return Encoding{}, err
	}
	n := len(sc.toks)
	ints := make([]int, 5*n)
	offs := make([][2]int, 2*n)
	e := Encoding{
		IDs: ints[0:n:n], TypeIDs: ints[n : 2*n : 2*n], WordIDs: ints[2*n : 3*n : 3*n],
		SpecialTokensMask: ints[3*n : 4*n : 4*n], AttentionMask: ints[4*n : 5*n : 5*n],
		Tokens: make([]string, n), Offsets: offs[0:n:n], CharOffsets: offs[n : 2*n : 2*n],
	}
	chars := newCharIndex(text)
	for i, tk := range sc.toks {
		w := int(sc.words[i])
		o := ps[w].n.original(tk.start, tk.end)
		off := [2]int{o.start, o.end}
		e.IDs[i], e.TypeIDs[i], e.WordIDs[i], e.AttentionMask[i] = tk.id, typeID, w, 1
		e.Tokens[i], e.Offsets[i], e.CharOffsets[i] = tk.value, off, chars.convert(off)
	}
	t.putScratch(sc, ps)
	return e, nil
}

// EncodeIDs returns the ids Encode(text, addSpecial) would, without the rest of
// the Encoding: no offsets are tracked (where the pipeline allows it), and no
// truncation or padding applies. It is the fast path for generation prompts and
// token counting.
func (t *Tokenizer) EncodeIDs(text string, addSpecial bool) ([]int, error) {
	if t.truncation != nil || t.padding != nil {
		e, err := t.Encode(text, addSpecial)
		return e.IDs, err
	}
	sc := t.getScratch()
	ps, err := t.pieces(text, sc, t.offsetFree)
	if err != nil {
		t.putScratch(sc, ps)
		return nil, err
	}
	ids := make([]int, len(sc.toks))
	for i, tk := range sc.toks {
		ids[i] = tk.id
	}
	t.putScratch(sc, ps)
	if addSpecial && t.post != nil {
		ids = t.post.singleIDs(ids)
	}
	return ids, nil
}

// postProcess is HF's post_process: truncation, special tokens, padding.
func (t *Tokenizer) postProcess(a Encoding, b *Encoding, addSpecial bool) (Encoding, error) {
	e, err := t.postProcessUnpadded(a, b, addSpecial)
	if err != nil {
		return Encoding{}, err
	}
	if t.padding != nil {
		encs := []Encoding{e}
		e.pad(t.padding.padTarget(encs), t.padding)
	}
	e.finish()
	return e, nil
}

func (t *Tokenizer) postProcessUnpadded(a Encoding, b *Encoding, addSpecial bool) (Encoding, error) {
	if tr := t.truncation; tr != nil {
		maxLen := tr.MaxLength
		if addSpecial {
			n := t.AddedSpecialTokens(b != nil)
			if n > maxLen {
				return Encoding{}, fmt.Errorf("%w: max_length %d is less than the %d special tokens the post-processor adds", ErrTruncation, maxLen, n)
			}
			maxLen -= n
		}
		if err := truncatePair(&a, b, tr, maxLen); err != nil {
			return Encoding{}, err
		}
	}
	encs := []Encoding{a}
	if b != nil {
		encs = append(encs, *b)
	}
	if t.post == nil {
		// As HF without a post-processor: the first text is sequence 0, the
		// pair's second becomes sequence 1 once merged; the overflowing
		// windows get no sequence ranges (so read as all 0, or None past the
		// first text's part).
		if len(encs) == 2 {
			encs[0].setSequenceID(0)
			n := encs[0].Len()
			e := mergeEncodings(encs)
			e.setRange(seqRange{1, n, e.Len()})
			return e, nil
		}
		return mergeEncodings(encs), nil
	}
	return mergeEncodings(t.post.process(encs, addSpecial)), nil
}

// Decode turns ids back into text: special tokens dropped when skipSpecial, the
// decoder applied. An id the tokenizer does not have is an error wrapping
// ErrUnknownID (Python's tokenizers drops it silently).
func (t *Tokenizer) Decode(ids []int, skipSpecial bool) (string, error) {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		if a, ok := t.addedByID[id]; ok {
			if !(skipSpecial && a.Special) {
				toks = append(toks, a.Content)
			}
			continue
		}
		s, ok := t.model.idToToken(id)
		if !ok {
			return "", fmt.Errorf("%w: %d (vocabulary of %d)", ErrUnknownID, id, t.VocabSize())
		}
		if skipSpecial {
			if sid, ok := t.addedIDs[s]; ok && t.addedByID[sid].Special {
				continue
			}
		}
		toks = append(toks, s)
	}
	return t.decodeTokens(toks), nil
}

func (t *Tokenizer) decodeTokens(toks []string) string {
	if t.dec == nil {
		return joinTokens(toks)
	}
	parts := t.dec.decodeChain(toks)
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = append(b, p...)
	}
	return string(b)
}

// StreamDecoder turns ids into text one at a time, for printing a generation as
// it goes: each call returns the text the new id completes, holding back bytes
// that do not yet form a character (HF's DecodeStream). It decodes a window that
// starts at the last id already printed, so decoders that treat the first token
// of a text differently (Metaspace's leading space) see a middle token as one.
// Not safe for concurrent use; one per stream.
type StreamDecoder struct {
	t           *Tokenizer
	skipSpecial bool
	ids         []int  // the window: the last printed id (if any), then those held back
	prefix      string // the text of the printed part of the window
}

// NewStreamDecoder returns a decoder for one stream of ids.
func (t *Tokenizer) NewStreamDecoder(skipSpecial bool) *StreamDecoder {
	return &StreamDecoder{t: t, skipSpecial: skipSpecial}
}

// Next adds one id and returns the text it completes ("" when it completes none).
func (d *StreamDecoder) Next(id int) (string, error) {
	if _, ok := d.t.IDToToken(id); !ok {
		return "", fmt.Errorf("%w: %d (vocabulary of %d)", ErrUnknownID, id, d.t.VocabSize())
	}
	d.ids = append(d.ids, id)
	s, err := d.t.Decode(d.ids, d.skipSpecial)
	if err != nil {
		return "", err
	}
	if len(s) <= len(d.prefix) || endsInReplacement(s) {
		return "", nil
	}
	out := s[len(d.prefix):]
	if s[:len(d.prefix)] != d.prefix {
		// The decoder rewrote the printed text; what was printed stays printed.
		out = s[commonPrefix(s, d.prefix):]
	}
	d.ids = append(d.ids[:0], id)
	d.prefix, _ = d.t.Decode(d.ids, d.skipSpecial)
	return out, nil
}

// Flush returns what is held back (as U+FFFD where it is not UTF-8) and starts
// the stream over.
func (d *StreamDecoder) Flush() string {
	s, _ := d.t.Decode(d.ids, d.skipSpecial)
	out := ""
	if len(s) > len(d.prefix) {
		out = s[commonPrefix(s, d.prefix):]
	}
	d.ids, d.prefix = d.ids[:0], ""
	return out
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func endsInReplacement(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r == utf8.RuneError
}

// charIndex converts byte offsets of a text to character offsets, each byte that
// is not UTF-8 counting as one character.
type charIndex struct {
	ascii bool
	of    []int32 // of[b]: the character byte b is in; of[len]: the count
}

func newCharIndex(text string) charIndex {
	ascii := true
	for i := 0; i < len(text); i++ {
		if text[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return charIndex{ascii: true}
	}
	of := make([]int32, len(text)+1)
	c := int32(0)
	for i := 0; i < len(text); {
		_, w := utf8.DecodeRuneInString(text[i:])
		for k := 0; k < w; k++ {
			of[i+k] = c
		}
		c++
		i += w
	}
	of[len(text)] = c
	return charIndex{of: of}
}

// convert is HF's BytesToCharOffsetConverter: a start maps to its character, an
// end to one past the character of its last byte.
func (c charIndex) convert(off [2]int) [2]int {
	if c.ascii || off[1] <= off[0] {
		if c.ascii {
			return off
		}
		return [2]int{int(c.of[off[0]]), int(c.of[off[0]])}
	}
	return [2]int{int(c.of[off[0]]), int(c.of[off[1]-1]) + 1}
}
