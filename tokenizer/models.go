package tokenizer

import (
	"container/heap"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// token is a model's token: its id, its text, and its byte span in the word.
type token struct {
	id         int
	value      string
	start, end int
}

// model turns one word into tokens (the WordPiece, BPE, Unigram and WordLevel
// models of Hugging Face tokenizers).
type model interface {
	tokenize(word string, out []token) ([]token, error)
	tokenToID(s string) (int, bool)
	idToToken(id int) (string, bool)
	vocabSize() int
}

// vocab maps token texts to ids and back.
type vocab struct {
	ids    map[string]int
	tokens []string // by id; "" where no token has the id
}

func newVocab(m map[string]int, component string) (vocab, error) {
	v := vocab{ids: m}
	n := 0
	for tok, id := range m {
		if id < 0 || id >= 1<<26 {
			return vocab{}, fmt.Errorf("%s: vocabulary entry %q has id %d (want 0 to %d)", component, tok, id, 1<<26-1)
		}
		n = max(n, id+1)
	}
	if n > 4*len(m)+1024 {
		return vocab{}, fmt.Errorf("%s: vocabulary of %d entries has ids up to %d", component, len(m), n-1)
	}
	v.tokens = make([]string, n)
	for tok, id := range m {
		if v.tokens[id] != "" && v.tokens[id] != tok {
			// Two texts with one id: keep the smaller text, so the choice is stable.
			if tok > v.tokens[id] {
				continue
			}
		}
		v.tokens[id] = tok
	}
	return v, nil
}

func (v *vocab) tokenToID(s string) (int, bool) { id, ok := v.ids[s]; return id, ok }
func (v *vocab) idToToken(id int) (string, bool) {
	if id < 0 || id >= len(v.tokens) {
		return "", false
	}
	if t := v.tokens[id]; t != "" {
		return t, true
	}
	return "", false
}
func (v *vocab) vocabSize() int { return len(v.ids) }

// ---- WordPiece

type wordPiece struct {
	vocab
	unk      string
	prefix   string
	maxChars int
}

func (m *wordPiece) unkToken(word string, out []token) ([]token, error) {
	id, ok := m.ids[m.unk]
	if !ok {
		return nil, fmt.Errorf("WordPiece: the unknown token %q is not in the vocabulary", m.unk)
	}
	return append(out, token{id, m.unk, 0, len(word)}), nil
}

func (m *wordPiece) tokenize(word string, out []token) ([]token, error) {
	if utf8.RuneCountInString(word) > m.maxChars {
		return m.unkToken(word, out)
	}
	mark := len(out)
	var buf []byte
	for start := 0; start < len(word); {
		end := len(word)
		found := false
		for start < end {
			var id int
			var ok bool
			if start > 0 {
				buf = append(append(buf[:0], m.prefix...), word[start:end]...)
				id, ok = m.ids[string(buf)]
				if ok {
					out = append(out, token{id, string(buf), start, end})
				}
			} else {
				id, ok = m.ids[word[start:end]]
				if ok {
					out = append(out, token{id, word[start:end], start, end})
				}
			}
			if ok {
				found = true
				break
			}
			_, w := utf8.DecodeLastRuneInString(word[start:end])
			end -= w
		}
		if !found {
			return m.unkToken(word, out[:mark])
		}
		start = end
	}
	return out, nil
}

// ---- WordLevel

type wordLevel struct {
	vocab
	unk string
}

func (m *wordLevel) tokenize(word string, out []token) ([]token, error) {
	if id, ok := m.ids[word]; ok {
		return append(out, token{id, word, 0, len(word)}), nil
	}
	if id, ok := m.ids[m.unk]; ok {
		return append(out, token{id, m.unk, 0, len(word)}), nil
	}
	return nil, fmt.Errorf("WordLevel: %q is not in the vocabulary and the unknown token %q is not either", word, m.unk)
}

// ---- BPE

type bpe struct {
	vocab
	merges       map[[2]int32]mergeTo
	unk          string // "" when none
	hasUnk       bool
	prefix       string
	suffix       string
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
	byteIDs      [256]int32 // ids of <0xHH>, -1 where missing (byte fallback)

	mu         sync.RWMutex
	cache      map[string][]token // word -> tokens, offsets within the word
	cacheBytes int
}

// mergeTo is what a pair merges into: its rank (lower first) and the new id.
type mergeTo struct{ rank, id int32 }

// BPE cache bounds: words of maxCachedWord bytes or more are never cached (they
// rarely repeat), and the cache is emptied when its keys and tokens pass
// maxCacheBytes.
const (
	maxCachedWord = 256
	maxCacheBytes = 8 << 20
)

func newBPE(v vocab, merges [][2]string, prefix string) (*bpe, error) {
	m := &bpe{vocab: v, merges: make(map[[2]int32]mergeTo, len(merges)), prefix: prefix, cache: map[string][]token{}}
	for i, mg := range merges {
		a, ok := v.ids[mg[0]]
		if !ok {
			return nil, fmt.Errorf("BPE: merge %d (%q %q): %q is not in the vocabulary", i, mg[0], mg[1], mg[0])
		}
		b, ok := v.ids[mg[1]]
		if !ok {
			return nil, fmt.Errorf("BPE: merge %d (%q %q): %q is not in the vocabulary", i, mg[0], mg[1], mg[1])
		}
		right := mg[1]
		if len(right) >= len(prefix) {
			right = right[len(prefix):]
		}
		id, ok := v.ids[mg[0]+right]
		if !ok {
			return nil, fmt.Errorf("BPE: merge %d (%q %q): the result %q is not in the vocabulary", i, mg[0], mg[1], mg[0]+right)
		}
		m.merges[[2]int32{int32(a), int32(b)}] = mergeTo{int32(i), int32(id)} // a later duplicate wins, as in HF
	}
	for b := range m.byteIDs {
		m.byteIDs[b] = -1
		if id, ok := v.ids[fmt.Sprintf("<0x%02X>", b)]; ok {
			m.byteIDs[b] = int32(id)
		}
	}
	return m, nil
}

func (m *bpe) tokenize(word string, out []token) ([]token, error) {
	if word == "" {
		return out, nil
	}
	if m.ignoreMerges {
		if id, ok := m.ids[word]; ok {
			return append(out, token{id, m.tokens[id], 0, len(word)}), nil
		}
	}
	if len(word) < maxCachedWord {
		m.mu.RLock()
		toks, ok := m.cache[word]
		m.mu.RUnlock()
		if ok {
			return append(out, toks...), nil
		}
	}
	mark := len(out)
	out, err := m.mergeWord(word, out)
	if err != nil {
		return nil, err
	}
	if len(word) < maxCachedWord {
		toks := append([]token(nil), out[mark:]...)
		m.mu.Lock()
		if m.cacheBytes += len(word) + 48*len(toks); m.cacheBytes > maxCacheBytes {
			clear(m.cache)
			m.cacheBytes = len(word) + 48*len(toks)
		}
		m.cache[word] = toks
		m.mu.Unlock()
	}
	return out, nil
}

// symbol is one part of a word during merging: its id, its byte span in the word,
// and its neighbours (-1 at the ends); len 0 once merged away.
type symbol struct {
	id         int32
	start, len int
	prev, next int
}

type bpeMerge struct {
	pos  int
	rank int32
	id   int32
}

type mergeQueue []bpeMerge

func (h mergeQueue) Len() int { return len(h) }
func (h mergeQueue) Less(i, j int) bool {
	return h[i].rank < h[j].rank || (h[i].rank == h[j].rank && h[i].pos < h[j].pos)
}
func (h mergeQueue) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeQueue) Push(x any)   { *h = append(*h, x.(bpeMerge)) }
func (h *mergeQueue) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// mergeWord is HF's merge_word and merge_all: characters to symbols (with the
// subword prefix and word suffix, byte fallback and unknown tokens), then always
// the lowest-ranked adjacent pair, leftmost first, from a heap, in O(n log n).
func (m *bpe) mergeWord(w string, out []token) ([]token, error) {
	syms := make([]symbol, 0, len(w))
	add := func(id int32, start, n int) {
		syms = append(syms, symbol{id: id, start: start, len: n, prev: len(syms) - 1, next: len(syms) + 1})
	}
	unkID, unkStart, unkLen := int32(-1), 0, 0
	var buf []byte
	for i := 0; i < len(w); {
		_, n := utf8.DecodeRuneInString(w[i:])
		s := w[i : i+n]
		if i > 0 && m.prefix != "" || i+n == len(w) && m.suffix != "" {
			buf = buf[:0]
			if i > 0 {
				buf = append(buf, m.prefix...)
			}
			buf = append(buf, s...)
			if i+n == len(w) {
				buf = append(buf, m.suffix...)
			}
			s = string(buf)
		}
		if id, ok := m.ids[s]; ok {
			if unkID >= 0 {
				add(unkID, unkStart, unkLen)
				unkID = -1
			}
			add(int32(id), i, n)
			i += n
			continue
		}
		if m.byteFallback {
			all := true
			for k := 0; k < len(s); k++ {
				if m.byteIDs[s[k]] < 0 {
					all = false
					break
				}
			}
			if all {
				// As HF: the bytes of s (prefix and suffix included), each one byte
				// long from where the character starts.
				for k := 0; k < len(s); k++ {
					add(m.byteIDs[s[k]], i+min(k, n-1), 1)
				}
				i += n
				continue
			}
		}
		if m.hasUnk {
			id, ok := m.ids[m.unk]
			if !ok {
				return nil, fmt.Errorf("BPE: the unknown token %q is not in the vocabulary", m.unk)
			}
			switch {
			case unkID >= 0 && m.fuseUnk:
				unkLen += n
			case unkID >= 0:
				add(unkID, unkStart, unkLen)
				unkID, unkStart, unkLen = int32(id), i, n
			default:
				unkID, unkStart, unkLen = int32(id), i, n
			}
		}
		i += n
	}
	if unkID >= 0 {
		add(unkID, unkStart, unkLen)
	}
	if len(syms) == 0 {
		return out, nil
	}
	// Byte-fallback symbols take one byte each from the character start; the spans
	// of the symbols that follow are recomputed from the lengths, as HF's offsets are.
	pos := 0
	for k := range syms {
		syms[k].start = pos
		pos += syms[k].len
	}
	syms[len(syms)-1].next = -1
	q := make(mergeQueue, 0, len(syms))
	for k := 0; k+1 < len(syms); k++ {
		if mt, ok := m.merges[[2]int32{syms[k].id, syms[k+1].id}]; ok {
			q = append(q, bpeMerge{k, mt.rank, mt.id})
		}
	}
	heap.Init(&q)
	for q.Len() > 0 {
		top := heap.Pop(&q).(bpeMerge)
		cur := &syms[top.pos]
		if cur.len == 0 || cur.next < 0 {
			continue
		}
		right := syms[cur.next]
		if mt, ok := m.merges[[2]int32{cur.id, right.id}]; !ok || mt.id != top.id {
			continue
		}
		cur.id = top.id
		cur.len += right.len
		syms[cur.next].len = 0
		cur.next = right.next
		if right.next >= 0 {
			syms[right.next].prev = top.pos
		}
		if cur.prev >= 0 {
			if mt, ok := m.merges[[2]int32{syms[cur.prev].id, cur.id}]; ok {
				heap.Push(&q, bpeMerge{cur.prev, mt.rank, mt.id})
			}
		}
		if cur.next >= 0 {
			if mt, ok := m.merges[[2]int32{cur.id, syms[cur.next].id}]; ok {
				heap.Push(&q, bpeMerge{top.pos, mt.rank, mt.id})
			}
		}
	}
	for k := 0; k >= 0 && k < len(syms); k = syms[k].next {
		s := syms[k]
		out = append(out, token{int(s.id), m.tokens[s.id], s.start, s.start + s.len})
	}
	return out, nil
}

// ---- Unigram

type unigram struct {
	pieces       []string
	scores       []float64
	ids          map[string]int
	unkID        int // -1 when none
	byteFallback bool
	fuseUnk      bool
	minScore     float64
	trie         byteTrie
}

func newUnigram(pieces []string, scores []float64, unkID int, byteFallback bool) (*unigram, error) {
	if unkID >= len(pieces) {
		return nil, fmt.Errorf("Unigram: unk_id %d is past the vocabulary of %d", unkID, len(pieces))
	}
	m := &unigram{pieces: pieces, scores: scores, ids: make(map[string]int, len(pieces)), unkID: unkID,
		byteFallback: byteFallback, fuseUnk: true, minScore: math.Inf(1)}
	for i, p := range pieces {
		m.ids[p] = i
		m.minScore = min(m.minScore, scores[i])
		m.trie.insert(p, int32(i))
	}
	return m, nil
}

func (m *unigram) tokenToID(s string) (int, bool) { id, ok := m.ids[s]; return id, ok }
func (m *unigram) idToToken(id int) (string, bool) {
	if id < 0 || id >= len(m.pieces) {
		return "", false
	}
	return m.pieces[id], true
}
func (m *unigram) vocabSize() int { return len(m.pieces) }

const unkPenalty = 10

// tokenize is HF's encode_optimized: the best-scoring segmentation by Viterbi over
// the pieces that start at each character, unknown characters at the lowest score
// minus 10, consecutive unknowns fused.
func (m *unigram) tokenize(s string, out []token) ([]token, error) {
	if s == "" {
		return out, nil
	}
	type node struct {
		id       int
		score    float64
		startsAt int // -1: not reached
	}
	// Words are short: their lattice and segments live on the stack.
	var bestBuf [64]node
	var best []node
	if len(s) < len(bestBuf) {
		best = bestBuf[:len(s)+1]
	} else {
		best = make([]node, len(s)+1)
	}
	for i := range best {
		best[i].startsAt = -1
	}
	unkScore := m.minScore - unkPenalty
	var hitsBuf [32]int32
	hits := hitsBuf[:0]
	for start := 0; start < len(s); {
		here := best[start].score
		_, mblen := utf8.DecodeRuneInString(s[start:])
		single := false
		hits = m.trie.prefixes(s[start:], hits[:0])
		for _, id := range hits {
			end := start + len(m.pieces[id])
			cand := m.scores[id] + here
			if t := &best[end]; t.startsAt < 0 || cand > t.score {
				t.score, t.startsAt, t.id = cand, start, int(id)
			}
			if end-start == mblen {
				single = true
			}
		}
		if !single {
			if m.unkID < 0 {
				return nil, fmt.Errorf("Unigram: %q is not in the vocabulary and the model has no unk_id", s[start:start+mblen])
			}
			cand := unkScore + here
			if t := &best[start+mblen]; t.startsAt < 0 || cand > t.score {
				t.score, t.startsAt, t.id = cand, start, m.unkID
			}
		}
		start += mblen
	}
	// Walk back, fusing runs of unknowns.
	type seg struct{ start, end int }
	var segsBuf [32]seg
	segs := segsBuf[:0]
	pendingEnd := -1
	for end := len(s); end > 0; {
		n := best[end]
		if n.startsAt < 0 {
			return nil, fmt.Errorf("Unigram: no segmentation reaches byte %d of %q", end, s)
		}
		if m.fuseUnk && m.unkID >= 0 && n.id == m.unkID {
			if pendingEnd < 0 {
				pendingEnd = end
			}
		} else {
			if pendingEnd >= 0 {
				segs = append(segs, seg{end, pendingEnd})
				pendingEnd = -1
			}
			segs = append(segs, seg{n.startsAt, end})
		}
		end = n.startsAt
	}
	if pendingEnd >= 0 {
		segs = append(segs, seg{0, pendingEnd})
	}
	for k := len(segs) - 1; k >= 0; k-- {
		text := s[segs[k].start:segs[k].end]
		if id, ok := m.ids[text]; ok {
			out = append(out, token{id, text, segs[k].start, segs[k].end})
			continue
		}
		if m.byteFallback {
			ok := true
			mark := len(out)
			for b := 0; b < len(text); b++ {
				name := fmt.Sprintf("<0x%02X>", text[b])
				id, found := m.ids[name]
				if !found {
					ok = false
					break
				}
				out = append(out, token{id, name, segs[k].start, segs[k].end})
			}
			if ok {
				continue
			}
			out = out[:mark]
		}
		if m.unkID < 0 {
			return nil, fmt.Errorf("Unigram: %q is not in the vocabulary and the model has no unk_id", text)
		}
		out = append(out, token{m.unkID, text, segs[k].start, segs[k].end})
	}
	return out, nil
}

// byteTrie finds every vocabulary piece that is a prefix of a text. Nodes keep
// their edges sorted by byte; the root has a table of 256.
type byteTrie struct {
	root  [256]int32 // child node + 1, 0 for none
	nodes []trieNode
}

type trieNode struct {
	value int32 // piece id, -1 for none
	edges []trieEdge
}

type trieEdge struct {
	b    byte
	node int32
}

func (t *byteTrie) insert(key string, value int32) {
	if key == "" {
		return
	}
	c := t.root[key[0]] - 1
	if c < 0 {
		t.nodes = append(t.nodes, trieNode{value: -1})
		c = int32(len(t.nodes) - 1)
		t.root[key[0]] = c + 1
	}
	for i := 1; i < len(key); i++ {
		n := &t.nodes[c]
		k := sort.Search(len(n.edges), func(j int) bool { return n.edges[j].b >= key[i] })
		if k < len(n.edges) && n.edges[k].b == key[i] {
			c = n.edges[k].node
			continue
		}
		t.nodes = append(t.nodes, trieNode{value: -1})
		child := int32(len(t.nodes) - 1)
		n = &t.nodes[c]
		n.edges = append(n.edges, trieEdge{})
		copy(n.edges[k+1:], n.edges[k:])
		n.edges[k] = trieEdge{key[i], child}
		c = child
	}
	if t.nodes[c].value < 0 {
		t.nodes[c].value = value
	} else {
		t.nodes[c].value = value // a later duplicate wins, as HF's map does
	}
}

// prefixes appends the values of the keys that prefix s, shortest first.
func (t *byteTrie) prefixes(s string, out []int32) []int32 {
	if s == "" {
		return out
	}
	c := t.root[s[0]] - 1
	for i := 1; c >= 0; i++ {
		n := &t.nodes[c]
		if n.value >= 0 {
			out = append(out, n.value)
		}
		if i >= len(s) {
			break
		}
		e := n.edges
		lo, hi := 0, len(e)
		for lo < hi {
			mid := (lo + hi) / 2
			if e[mid].b < s[i] {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		if lo == len(e) || e[lo].b != s[i] {
			break
		}
		c = e[lo].node
	}
	return out
}

// joinTokens is the text of tokens without a decoder: joined by spaces.
func joinTokens(toks []string) string { return strings.Join(toks, " ") }
