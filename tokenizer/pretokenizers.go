package tokenizer

import (
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// piece is one part of the text on its way to the model: a normalized piece, and
// its tokens once known (an added token's at once, the model's later).
type piece struct {
	n      normalized
	tokens []token
	done   bool // tokens is final (an added token, or already tokenized)
}

// preTokenizer cuts pieces into the words the model tokenizes one by one.
type preTokenizer interface {
	preTokenize(ps []piece, sc *scratch) []piece
}

// splitPieces replaces every piece not yet done by the pieces f cuts it into. The
// pieces go into sc's spare buffer and ps becomes the spare: the caller must not
// use ps afterwards.
func splitPieces(ps []piece, sc *scratch, f func(n *normalized, out []normalized) []normalized) []piece {
	out := sc.spare[:0]
	buf := sc.norm[:0]
	for i := range ps {
		if ps[i].done {
			out = append(out, ps[i])
			continue
		}
		buf = f(&ps[i].n, buf[:0])
		for _, n := range buf {
			if len(n.s) > 0 {
				out = append(out, piece{n: n})
			}
		}
	}
	clear(buf)
	sc.norm = buf[:0]
	clear(ps)
	sc.spare = ps[:0]
	return out
}

// bertPreTokenizer is BertPreTokenizer: whitespace removed, punctuation isolated.
type bertPreTokenizer struct{}

func (bertPreTokenizer) preTokenize(ps []piece, sc *scratch) []piece {
	return splitPieces(ps, sc, func(n *normalized, out []normalized) []normalized {
		// Words are runs of neither whitespace nor punctuation; every punctuation
		// character is a word of its own.
		s := n.s
		for i := 0; i < len(s); {
			class, w := bertClass(s[i:])
			switch class {
			case classSpace:
				i += w
				continue
			case classPunct:
				out = append(out, n.slice(i, i+w))
				i += w
				continue
			}
			j := i + w
			for j < len(s) {
				c, w := bertClass(s[j:])
				if c != classWord {
					break
				}
				j += w
			}
			out = append(out, n.slice(i, j))
			i = j
		}
		return out
	})
}

const (
	classWord = iota
	classSpace
	classPunct
)

// asciiClass is bertClass for ASCII bytes.
var asciiClass = func() (t [128]uint8) {
	for c := rune(0); c < 128; c++ {
		switch {
		case isWhitespace(c):
			t[c] = classSpace
		case isBertPunctuation(c):
			t[c] = classPunct
		}
	}
	return t
}()

// bertClass classifies the first character of s (non-empty) for BertPreTokenizer
// and returns its width.
func bertClass(s string) (int, int) {
	if s[0] < 0x80 {
		return int(asciiClass[s[0]]), 1
	}
	r, w := utf8.DecodeRuneInString(s)
	switch {
	case isWhitespace(r):
		return classSpace, w
	case isBertPunctuation(r):
		return classPunct, w
	}
	return classWord, w
}

// byteLevel is the ByteLevel pre-tokenizer: an optional leading space, GPT-2's
// split expression, and every byte mapped to a printable character.
type byteLevel struct {
	addPrefixSpace, useRegex, trimOffsets bool
	pat                                   pattern // the split expression (GPT-2's)
}

func (b byteLevel) preTokenize(ps []piece, sc *scratch) []piece {
	ps = splitPieces(ps, sc, func(n *normalized, out []normalized) []normalized {
		if b.addPrefixSpace && !strings.HasPrefix(n.s, " ") {
			n.prepend(" ")
		}
		if !b.useRegex {
			return append(out, *n)
		}
		sc.matches = b.pat.find(n.s, sc.matches[:0])
		return n.split(sc.matches, splitIsolated, out, &sc.cuts)
	})
	byteLevelTransform(ps)
	return ps
}

// byteLevelTransform maps every byte of the pieces not done to GPT-2's printable
// character for it; the characters of one multi-byte character all align with
// it. The pieces' new texts share one string (and alignments one array).
func byteLevelTransform(ps []piece) {
	size, tracked := 0, false
	for i := range ps {
		if ps[i].done {
			continue
		}
		s := ps[i].n.s
		size += len(s)
		for k := 0; k < len(s); k++ {
			if byteChars[s[k]] >= 0x80 {
				size++
			}
		}
		tracked = tracked || !ps[i].n.untracked
	}
	b := make([]byte, 0, size)
	var al []span
	if tracked {
		al = make([]span, 0, size)
	}
	ends := make([]int, 0, len(ps)) // where each transformed piece ends in b
	for i := range ps {
		if ps[i].done {
			continue
		}
		n := &ps[i].n
		for k := 0; k < len(n.s); k++ {
			c := byteChars[n.s[k]]
			w := 1
			if c < 0x80 {
				b = append(b, byte(c))
			} else {
				b = utf8.AppendRune(b, c)
				w = 2
			}
			if !n.untracked {
				for ; w > 0; w-- {
					al = append(al, n.align[k])
				}
			}
		}
		ends = append(ends, len(b))
	}
	text := string(b)
	start, j := 0, 0
	for i := range ps {
		if ps[i].done {
			continue
		}
		end := ends[j]
		j++
		n := &ps[i].n
		n.s = text[start:end]
		if !n.untracked {
			n.align = al[start:end:end]
		}
		start = end
	}
}

// byteChars is GPT-2's reversible map from bytes to printable characters, and
// charBytes its inverse.
var byteChars, charBytes = func() ([256]rune, map[rune]byte) {
	var bc [256]rune
	cb := make(map[rune]byte, 256)
	next := rune(256)
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			bc[b] = rune(b)
		} else {
			bc[b] = next
			next++
		}
		cb[bc[b]] = byte(b)
	}
	return bc, cb
}()

// whitespacePre is Whitespace: the pieces of \w+|[^\w\s]+ (Rust regex classes),
// whitespace removed.
type whitespacePre struct{}

func isRegexWord(r rune) bool {
	if r < 0x80 {
		return r == '_' || (r >= '0' && r <= '9') || (r|0x20 >= 'a' && r|0x20 <= 'z')
	}
	// Rust's regex \w: Alphabetic, marks, decimal digits, connectors, joiners.
	return unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_Alphabetic, r) ||
		unicode.IsMark(r) || unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Pc, r) || r == 0x200C || r == 0x200D
}

func (whitespacePre) preTokenize(ps []piece, sc *scratch) []piece {
	return splitPieces(ps, sc, func(n *normalized, out []normalized) []normalized {
		s := n.s
		for i := 0; i < len(s); {
			r, w := utf8.DecodeRuneInString(s[i:])
			if isWhitespace(r) {
				i += w
				continue
			}
			word := isRegexWord(r)
			j := i + w
			for j < len(s) {
				r, w := utf8.DecodeRuneInString(s[j:])
				if isWhitespace(r) || isRegexWord(r) != word {
					break
				}
				j += w
			}
			out = append(out, n.slice(i, j))
			i = j
		}
		return out
	})
}

// splitPre is WhitespaceSplit, Split, Punctuation, Digits and CharDelimiterSplit:
// a pattern and what to do with its matches.
type splitPre struct {
	pat      pattern
	behavior splitBehavior
}

func (p splitPre) preTokenize(ps []piece, sc *scratch) []piece {
	return splitPieces(ps, sc, func(n *normalized, out []normalized) []normalized {
		sc.matches = p.pat.find(n.s, sc.matches[:0])
		return n.split(sc.matches, p.behavior, out, &sc.cuts)
	})
}

// prependScheme says where Metaspace puts its replacement character.
type prependScheme int

const (
	prependAlways prependScheme = iota
	prependNever
	prependFirst
)

// metaspace is Metaspace: spaces become the replacement character (▁), which is
// put before the text too, and the text is split before each one.
type metaspace struct {
	replacement rune
	scheme      prependScheme
	split       bool
}

func (m metaspace) preTokenize(ps []piece, sc *scratch) []piece {
	rep := string(m.replacement)
	return splitPieces(ps, sc, func(n *normalized, out []normalized) []normalized {
		if strings.IndexByte(n.s, ' ') >= 0 {
			replace{stringPattern(" "), rep}.normalize(n)
		}
		switch m.scheme {
		case prependAlways:
			if !strings.HasPrefix(n.s, rep) {
				n.prepend(rep)
			}
		case prependFirst:
			if !strings.HasPrefix(n.s, rep) && n.orig.start == 0 {
				n.prepend(rep)
			}
		}
		if !m.split {
			return append(out, *n)
		}
		sc.matches = stringPattern(rep).find(n.s, sc.matches[:0])
		return n.split(sc.matches, splitMergedWithNext, out, &sc.cuts)
	})
}

// unicodeScripts is UnicodeScripts: a split wherever the script changes (spaces
// belong to any script; Hiragana, Katakana and ー count as Han).
type unicodeScripts struct{}

func (unicodeScripts) preTokenize(ps []piece, sc *scratch) []piece {
	return splitPieces(ps, sc, func(n *normalized, out []normalized) []normalized {
		const anyScript = "Any"
		var cuts []int
		last := ""
		for i, r := range n.s {
			sc := fixedScript(r)
			if sc != anyScript && last != anyScript && last != sc {
				cuts = append(cuts, i)
			}
			if sc != anyScript {
				last = sc
			}
		}
		cuts = append(cuts, len(n.s))
		for k := 0; k+1 < len(cuts); k++ {
			out = append(out, n.slice(cuts[k], cuts[k+1]))
		}
		return out
	})
}

func fixedScript(r rune) string {
	switch {
	case r == 0x30FC:
		return "Han"
	case r == ' ':
		return "Any"
	}
	switch s := scriptOf(r); s {
	case "Hiragana", "Katakana":
		return "Han"
	default:
		return s
	}
}

type scriptRange struct {
	lo, hi rune
	name   string
}

// scriptTable is every range of Go's script tables, sorted, built on first use.
var scriptTable = sync.OnceValue(func() []scriptRange {
	var t []scriptRange
	for name, tab := range unicode.Scripts {
		for _, r := range tab.R16 {
			for c := rune(r.Lo); c <= rune(r.Hi); c += rune(r.Stride) {
				if r.Stride == 1 {
					t = append(t, scriptRange{rune(r.Lo), rune(r.Hi), name})
					break
				}
				t = append(t, scriptRange{c, c, name})
			}
		}
		for _, r := range tab.R32 {
			for c := rune(r.Lo); c <= rune(r.Hi); c += rune(r.Stride) {
				if r.Stride == 1 {
					t = append(t, scriptRange{rune(r.Lo), rune(r.Hi), name})
					break
				}
				t = append(t, scriptRange{c, c, name})
			}
		}
	}
	sort.Slice(t, func(i, j int) bool { return t[i].lo < t[j].lo })
	return t
})

func scriptOf(r rune) string {
	t := scriptTable()
	i := sort.Search(len(t), func(i int) bool { return t[i].hi >= r })
	if i < len(t) && t[i].lo <= r {
		return t[i].name
	}
	return "Unknown"
}

// sequencePre applies pre-tokenizers in order.
type sequencePre []preTokenizer

func (s sequencePre) preTokenize(ps []piece, sc *scratch) []piece {
	for _, p := range s {
		ps = p.preTokenize(ps, sc)
	}
	return ps
}
