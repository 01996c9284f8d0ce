package gpt2

import (
	"bufio"
	"cmp"
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// EndOfText is GPT-2's only special token.
const EndOfText = "<|endoftext|>"

// ErrToken is wrapped by errors about token ids that the vocabulary does not have.
var ErrToken = errors.New("gpt2: invalid token id")

// Tokenizer is GPT-2's byte-level BPE. It is safe for concurrent use.
type Tokenizer struct {
	encoder    map[string]int // byte-level token text -> id
	decoder    []string       // id -> byte-level token text
	ranks      map[[2]string]int
	eot        int
	byteToRune [256]rune
	runeToByte map[rune]byte

	mu         sync.RWMutex
	cache      map[string][]int // pre-token -> ids
	cacheBytes int              // keys' bytes + 8 per cached id
}

// LoadTokenizer reads vocab.json and merges.txt, or tokenizer.json, from dir.
func LoadTokenizer(dir string) (*Tokenizer, error) {
	return loadTokenizer(os.DirFS(cmp.Or(dir, ".")), dir)
}

// LoadTokenizerFS is LoadTokenizer on a file system, such as the GPT-2 tokenizer
// that package assets embeds.
func LoadTokenizerFS(fsys fs.FS) (*Tokenizer, error) { return loadTokenizer(fsys, "") }

// loadTokenizer reads the tokenizer files from fsys; dir is how errors name fsys.
func loadTokenizer(fsys fs.FS, dir string) (*Tokenizer, error) {
	vocabPath, mergesPath := filepath.Join(dir, "vocab.json"), filepath.Join(dir, "merges.txt")
	if raw, err := fs.ReadFile(fsys, "vocab.json"); !errors.Is(err, fs.ErrNotExist) {
		if err != nil {
			return nil, fmt.Errorf("gpt2: %s: %w", vocabPath, err)
		}
		vocab := map[string]int{}
		if err := json.Unmarshal(raw, &vocab); err != nil {
			return nil, fmt.Errorf("gpt2: %s: %w", vocabPath, err)
		}
		f, err := fsys.Open("merges.txt")
		if err != nil {
			return nil, fmt.Errorf("gpt2: %s: %w", mergesPath, err)
		}
		defer f.Close()
		var merges [][2]string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		line := 1
		for ; sc.Scan(); line++ {
			text := sc.Text()
			if strings.HasPrefix(text, "#version") || text == "" {
				continue
			}
			a, b, ok := strings.Cut(text, " ")
			if !ok || a == "" || b == "" || strings.Contains(b, " ") {
				return nil, fmt.Errorf("gpt2: %s:%d: want two space-separated tokens, got %q", mergesPath, line, text)
			}
			merges = append(merges, [2]string{a, b})
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("gpt2: %s:%d: %w (lines are limited to 1 MiB)", mergesPath, line, err)
		}
		return NewTokenizer(vocab, merges)
	}
	tjPath := filepath.Join(dir, "tokenizer.json")
	raw, err := fs.ReadFile(fsys, "tokenizer.json")
	if err != nil {
		return nil, fmt.Errorf("gpt2: %s holds neither vocab.json + merges.txt nor tokenizer.json: %w", cmp.Or(dir, "the tokenizer directory"), err)
	}
	var tj struct {
		Model struct {
			Type   string          `json:"type"`
			Vocab  map[string]int  `json:"vocab"`
			Merges json.RawMessage `json:"merges"`
		} `json:"model"`
	}
	if err := json.Unmarshal(raw, &tj); err != nil {
		return nil, fmt.Errorf("gpt2: %s: %w", tjPath, err)
	}
	if tj.Model.Type != "BPE" {
		return nil, fmt.Errorf("gpt2: %s: model type %q, want BPE", tjPath, tj.Model.Type)
	}
	var merges [][2]string
	var asStrings []string
	if err := json.Unmarshal(tj.Model.Merges, &asStrings); err == nil {
		for i, m := range asStrings {
			a, b, ok := strings.Cut(m, " ")
			if !ok {
				return nil, fmt.Errorf("gpt2: %s: merge %d is %q", tjPath, i, m)
			}
			merges = append(merges, [2]string{a, b})
		}
	} else if err := json.Unmarshal(tj.Model.Merges, &merges); err != nil {
		return nil, fmt.Errorf("gpt2: %s: merges: %w", tjPath, err)
	}
	return NewTokenizer(tj.Model.Vocab, merges)
}

// NewTokenizer builds a tokenizer from a vocabulary (byte-level token text to id) and
// merges in priority order.
func NewTokenizer(vocab map[string]int, merges [][2]string) (*Tokenizer, error) {
	t := &Tokenizer{encoder: vocab, ranks: make(map[[2]string]int, len(merges)), runeToByte: map[rune]byte{}, cache: map[string][]int{}}
	// Ids must be 0..len(vocab)-1, each once: checked before allocating by them, and
	// so that no id the model may generate lacks a token.
	t.decoder = make([]string, len(vocab))
	for tok, id := range vocab {
		if id < 0 || id >= len(vocab) {
			return nil, fmt.Errorf("gpt2: vocabulary entry %q has id %d; the %d entries must have ids 0..%d", tok, id, len(vocab), len(vocab)-1)
		}
		if t.decoder[id] != "" {
			return nil, fmt.Errorf("gpt2: vocabulary id %d used by %q and %q", id, t.decoder[id], tok)
		}
		t.decoder[id] = tok
	}
	for i, m := range merges {
		if _, dup := t.ranks[m]; !dup {
			t.ranks[m] = i
		}
	}
	id, ok := vocab[EndOfText]
	if !ok {
		return nil, fmt.Errorf("gpt2: vocabulary has no %s", EndOfText)
	}
	t.eot = id
	// GPT-2's reversible byte -> printable rune map.
	var next rune = 256
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			t.byteToRune[b] = rune(b)
		} else {
			t.byteToRune[b] = next
			next++
		}
		t.runeToByte[t.byteToRune[b]] = byte(b)
	}
	for b := 0; b < 256; b++ { // every byte must encode, or text would lose bytes
		if _, ok := vocab[string(t.byteToRune[b])]; !ok {
			return nil, fmt.Errorf("gpt2: the vocabulary has no token for byte %#02x (%q): a byte-level BPE vocabulary needs all 256", b, string(t.byteToRune[b]))
		}
	}
	return t, nil
}

// VocabSize returns the number of ids.
func (t *Tokenizer) VocabSize() int { return len(t.decoder) }

// EOT returns the id of <|endoftext|>.
func (t *Tokenizer) EOT() int { return t.eot }

// Token is one encoded token with its span in the input, in bytes.
type Token struct {
	ID         int
	Start, End int
}

// Encode returns the ids of text. <|endoftext|> in the text is matched as the special
// token. Invalid UTF-8 is encoded byte for byte, as the bytes it is.
func (t *Tokenizer) Encode(text string) []int {
	toks := t.EncodeWithOffsets(text)
	ids := make([]int, len(toks))
	for i, tk := range toks {
		ids[i] = tk.ID
	}
	return ids
}

// EncodeWithOffsets is Encode with each token's byte span. A token that covers part
// of a multi-byte character reports the whole character's span, as HF does.
func (t *Tokenizer) EncodeWithOffsets(text string) []Token {
	var out []Token
	for pos := 0; pos < len(text); {
		seg := text[pos:]
		i := strings.Index(seg, EndOfText)
		if i < 0 {
			i = len(seg)
		}
		out = t.encodeOrdinary(out, text, pos, pos+i)
		pos += i
		if pos < len(text) {
			out = append(out, Token{ID: t.eot, Start: pos, End: pos + len(EndOfText)})
			pos += len(EndOfText)
		}
	}
	return out
}

func (t *Tokenizer) encodeOrdinary(out []Token, text string, lo, hi int) []Token {
	for pos := lo; pos < hi; {
		end := pos + preToken(text[pos:hi])
		word := text[pos:end]
		ids := t.bpe(word)
		// Spans: walk the token byte lengths, widening to character boundaries.
		b := pos
		for _, id := range ids {
			n := len(t.tokenBytes(id))
			s, e := b, b+n
			for s > pos && !utf8.RuneStart(text[s]) {
				s--
			}
			for e < end && !utf8.RuneStart(text[e]) {
				e++
			}
			out = append(out, Token{ID: id, Start: s, End: e})
			b += n
		}
		pos = end
	}
	return out
}

// tokenBytes returns the raw bytes a token stands for.
func (t *Tokenizer) tokenBytes(id int) []byte {
	s := t.decoder[id]
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if c, ok := t.runeToByte[r]; ok {
			b = append(b, c)
		} else { // special tokens are literal text
			b = utf8.AppendRune(b, r)
		}
	}
	return b
}

// Cache bounds: words longer than maxCachedWord bytes are never cached (they rarely
// repeat), and the cache is emptied when its keys and ids exceed maxCacheBytes.
const (
	maxCachedWord = 256
	maxCacheBytes = 8 << 20
)

// bpe turns one pre-token into ids, through the cache.
func (t *Tokenizer) bpe(word string) []int {
	t.mu.RLock()
	ids, ok := t.cache[word]
	t.mu.RUnlock()
	if ok {
		return ids
	}
	for _, p := range t.merge(word) {
		if id, ok := t.encoder[p]; ok {
			ids = append(ids, id)
			continue
		}
		// A symbol the vocabulary lacks (never for GPT-2's, which has every merge
		// result): its single bytes, which NewTokenizer checked are all there.
		for _, r := range p {
			ids = append(ids, t.encoder[string(r)])
		}
	}
	if len(word) <= maxCachedWord {
		t.mu.Lock()
		if t.cacheBytes += len(word) + 8*len(ids); t.cacheBytes > maxCacheBytes {
			clear(t.cache)
			t.cacheBytes = len(word) + 8*len(ids)
		}
		t.cache[word] = ids
		t.mu.Unlock()
	}
	return ids
}

// symbol is one part of a word during merging: bytes [start, end) of the mapped
// word, linked to its neighbours (-1 at the ends); start < 0 once merged away.
type symbol struct{ start, end, prev, next int }

// candidate is a possible merge of symbol left with its right neighbour, valid while
// both still have the lengths they had when it was found.
type candidate struct{ rank, left, llen, rlen int }

type candidates []candidate

func (h candidates) Len() int { return len(h) }
func (h candidates) Less(i, j int) bool {
	return h[i].rank < h[j].rank || (h[i].rank == h[j].rank && h[i].left < h[j].left)
}
func (h candidates) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *candidates) Push(x any)   { *h = append(*h, x.(candidate)) }
func (h *candidates) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// merge applies the BPE merges to word's bytes: always the lowest-ranked adjacent
// pair, leftmost first, as Hugging Face's tokenizers do, with a heap of candidate
// pairs, so a word of n bytes takes O(n log n) rather than O(n²).
func (t *Tokenizer) merge(word string) []string {
	var sb strings.Builder
	sb.Grow(2 * len(word))
	syms := make([]symbol, len(word))
	for i := 0; i < len(word); i++ {
		start := sb.Len()
		sb.WriteRune(t.byteToRune[word[i]])
		syms[i] = symbol{start: start, end: sb.Len(), prev: i - 1, next: i + 1}
	}
	if len(syms) == 0 {
		return nil
	}
	syms[len(syms)-1].next = -1
	w := sb.String()
	text := func(s symbol) string { return w[s.start:s.end] }
	var h candidates
	consider := func(l int) {
		r := syms[l].next
		if r < 0 {
			return
		}
		if rank, ok := t.ranks[[2]string{text(syms[l]), text(syms[r])}]; ok {
			heap.Push(&h, candidate{rank, l, syms[l].end - syms[l].start, syms[r].end - syms[r].start})
		}
	}
	for i := range syms {
		consider(i)
	}
	for h.Len() > 0 {
		c := heap.Pop(&h).(candidate)
		l := &syms[c.left]
		if l.start < 0 || l.next < 0 || l.end-l.start != c.llen {
			continue
		}
		r := &syms[l.next]
		if r.end-r.start != c.rlen {
			continue
		}
		l.end, l.next = r.end, r.next
		if r.next >= 0 {
			syms[r.next].prev = c.left
		}
		r.start = -1
		if l.prev >= 0 {
			consider(l.prev)
		}
		consider(c.left)
	}
	var parts []string
	for i := 0; i >= 0; i = syms[i].next {
		parts = append(parts, text(syms[i]))
	}
	return parts
}

// preToken returns the byte length of the first pre-token of s (s non-empty),
// following GPT-2's pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// whose look-ahead Go's regexp cannot express. Invalid UTF-8 bytes count as "other".
func preToken(s string) int {
	if s[0] == '\'' && len(s) > 1 {
		for _, c := range []string{"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"} {
			if strings.HasPrefix(s, c) {
				return len(c)
			}
		}
	}
	start := 0
	if s[0] == ' ' && len(s) > 1 {
		start = 1
	}
	r, _ := utf8.DecodeRuneInString(s[start:])
	if start == 1 || !isSpace(r) {
		class := classOf(r)
		if class != classSpace {
			n := start
			for n < len(s) {
				r, w := utf8.DecodeRuneInString(s[n:])
				if classOf(r) != class {
					break
				}
				n += w
			}
			if n > start {
				return n
			}
		}
		if start == 1 {
			start = 0 // a lone space before whitespace: fall through to the runs
		}
	}
	// \s+(?!\S) then \s+: a whitespace run, leaving its last character to the next
	// token when a non-space follows.
	n, last := 0, 0
	for n < len(s) {
		r, w := utf8.DecodeRuneInString(s[n:])
		if !isSpace(r) {
			break
		}
		last = w
		n += w
	}
	if n < len(s) && n > last {
		return n - last
	}
	return n
}

const (
	classLetter = iota
	classNumber
	classOther
	classSpace
)

func classOf(r rune) int {
	switch {
	case r == utf8.RuneError:
		return classOther
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	case isSpace(r):
		return classSpace
	}
	return classOther
}

func isSpace(r rune) bool { return r != utf8.RuneError && unicode.IsSpace(r) }

// Decode returns the text of ids. Bytes that do not form valid UTF-8 become U+FFFD,
// as HF's decode does.
func (t *Tokenizer) Decode(ids []int) (string, error) {
	var b []byte
	for _, id := range ids {
		if id < 0 || id >= len(t.decoder) || t.decoder[id] == "" {
			return "", fmt.Errorf("%w: %d (vocabulary has %d)", ErrToken, id, len(t.decoder))
		}
		b = append(b, t.tokenBytes(id)...)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD"), nil
}

// StreamDecoder turns a stream of ids into text without ever emitting part of a
// multi-byte character: bytes of an incomplete character wait for the next token.
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte
}

// NewStreamDecoder starts a stream.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder { return &StreamDecoder{t: t} }

// Next adds one id and returns the text that is now complete.
func (d *StreamDecoder) Next(id int) (string, error) {
	if id < 0 || id >= len(d.t.decoder) || d.t.decoder[id] == "" {
		return "", fmt.Errorf("%w: %d (vocabulary has %d)", ErrToken, id, len(d.t.decoder))
	}
	d.pending = append(d.pending, d.t.tokenBytes(id)...)
	// Emit up to the last position that cannot be the start of an unfinished character.
	cut := len(d.pending)
	for back := 1; back <= 3 && back <= len(d.pending); back++ {
		c := d.pending[len(d.pending)-back]
		if utf8.RuneStart(c) {
			if !utf8.FullRune(d.pending[len(d.pending)-back:]) {
				cut = len(d.pending) - back
			}
			break
		}
	}
	out := strings.ToValidUTF8(string(d.pending[:cut]), "\uFFFD")
	d.pending = append(d.pending[:0], d.pending[cut:]...)
	return out, nil
}

// Flush returns whatever is left (an incomplete character becomes U+FFFD).
func (d *StreamDecoder) Flush() string {
	out := strings.ToValidUTF8(string(d.pending), "\uFFFD")
	d.pending = d.pending[:0]
	return out
}
