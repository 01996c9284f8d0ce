package tokenizer

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
	"golang.org/x/text/unicode/norm"
)

// normalizer rewrites a text before it is split, keeping every byte's alignment.
type normalizer interface {
	normalize(n *normalized)
}

// bertNormalizer is BertNormalizer: cleaning (controls removed, whitespace to
// spaces), spaces around CJK ideographs, accent stripping and lower-casing.
type bertNormalizer struct {
	cleanText, chinese, stripAccents, lowercase bool
}

func (b bertNormalizer) normalize(n *normalized) {
	if b.cleanText {
		n.mapRunes(func(out []rune, r rune) []rune {
			switch {
			case r == 0 || r == utf8.RuneError || isBertControl(r):
				return out
			case isBertWhitespace(r):
				return append(out, ' ')
			}
			return append(out, r)
		})
	}
	if b.chinese {
		n.mapRunes(func(out []rune, r rune) []rune {
			if isChineseChar(r) {
				return append(out, ' ', r, ' ')
			}
			return append(out, r)
		})
	}
	if b.stripAccents {
		// NFD, then only the non-spacing marks removed (StripAccents removes all).
		unicodeNormalizer{norm.NFD}.normalize(n)
		n.mapRunes(func(out []rune, r rune) []rune {
			if isMarkNonspacing(r) {
				return out
			}
			return append(out, r)
		})
	}
	if b.lowercase {
		lowercase{}.normalize(n)
	}
}

// unicodeNormalizer is NFC, NFD, NFKC or NFKD. Each normalisation segment's output
// characters align with its input characters in order, the surplus with the last.
type unicodeNormalizer struct{ form norm.Form }

func (u unicodeNormalizer) normalize(n *normalized) {
	if u.form.IsNormalString(n.s) {
		return
	}
	if u.form == norm.NFD || u.form == norm.NFKD {
		u.decompose(n)
		return
	}
	b := make([]byte, 0, len(n.s)+16)
	al := n.newAlign(len(n.s) + 16)
	var it norm.Iter
	it.InitString(u.form, n.s)
	var starts []int
	for !it.Done() {
		start := it.Pos()
		seg := it.Next()
		end := it.Pos()
		starts = starts[:0]
		for i := start; i < end; {
			starts = append(starts, i)
			_, w := utf8.DecodeRuneInString(n.s[i:])
			i += w
		}
		for k := 0; len(seg) > 0; k++ {
			_, w := utf8.DecodeRune(seg)
			var a span
			last, ok := al.last()
			switch {
			case len(starts) > 0:
				a = n.at(starts[min(k, len(starts)-1)])
			case start < len(n.align):
				a = n.at(start)
			case ok:
				a = last
			default:
				a = span{n.orig.start, n.orig.start}
			}
			b = append(b, seg[:w]...)
			al.add(a, w)
			seg = seg[w:]
		}
	}
	n.set(string(b), al)
}

// decompose is NFD or NFKD as HF's alignment crate does it: each character's
// decomposition is its first character in its place and the rest inserted after
// it, then runs of combining marks are put in canonical order with those tags
// moving along, and the text is rewritten from the tags in their new order.
func (u unicodeNormalizer) decompose(n *normalized) {
	type tagged struct {
		c   rune
		n   int
		ccc uint8
	}
	var out []tagged
	var buf [utf8.UTFMax * 18]byte
	runStart := 0 // where the current run of non-starters began
	for _, r := range n.s {
		d := u.form.AppendString(buf[:0], string(r))
		first := true
		for len(d) > 0 {
			c, w := utf8.DecodeRune(d)
			ccc := u.form.PropertiesString(string(c)).CCC()
			t := tagged{c, 1, ccc}
			if first {
				t.n = 0
				first = false
			}
			if ccc == 0 {
				runStart = len(out) + 1
			} else {
				// Insertion sort into the run by combining class (stable).
				k := len(out)
				out = append(out, t)
				for k > runStart && out[k-1].ccc > ccc {
					out[k] = out[k-1]
					k--
				}
				out[k] = t
				d = d[w:]
				continue
			}
			out = append(out, t)
			d = d[w:]
		}
	}
	dest := make([]change, len(out))
	for i, t := range out {
		dest[i] = change{t.c, t.n}
	}
	n.transform(dest, 0)
}

// lowercase is Lowercase.
type lowercase struct{}

func (lowercase) normalize(n *normalized) {
	ascii := true
	for i := 0; i < len(n.s); i++ {
		if n.s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		n.s = strings.ToLower(n.s) // one byte for one byte: the alignment stands
		return
	}
	n.mapRunes(lowerRune)
}

// strip is Strip: whitespace removed at the start, the end, or both.
type strip struct{ left, right bool }

func (s strip) normalize(n *normalized) {
	lo, hi := 0, len(n.s)
	if s.left {
		for lo < hi {
			r, w := utf8.DecodeRuneInString(n.s[lo:])
			if !isWhitespace(r) {
				break
			}
			lo += w
		}
	}
	if s.right {
		for hi > lo {
			r, w := utf8.DecodeLastRuneInString(n.s[lo:hi])
			if !isWhitespace(r) {
				break
			}
			hi -= w
		}
	}
	n.s = n.s[lo:hi]
	if !n.untracked {
		n.align = n.align[lo:hi]
	}
}

// stripAccents is StripAccents: combining marks (Mn, Mc, Me) removed, with no
// decomposition first.
type stripAccents struct{}

func (stripAccents) normalize(n *normalized) {
	n.mapRunes(func(out []rune, r rune) []rune {
		if r >= 0x300 && unicode.IsMark(r) {
			return out
		}
		return append(out, r)
	})
}

// replace is Replace: every match of a string or a regex replaced by content.
type replace struct {
	pat     pattern
	content string
}

func (rp replace) normalize(n *normalized) {
	ms := rp.pat.find(n.s, nil)
	hit := false
	for _, m := range ms {
		hit = hit || m.hit
	}
	if !hit {
		return
	}
	var b strings.Builder
	al := n.newAlign(len(n.align))
	for _, m := range ms {
		if !m.hit {
			b.WriteString(n.s[m.start:m.end])
			al.copyFrom(n, m.start, m.end)
			continue
		}
		b.WriteString(rp.content)
		n.replaceRange(m.start, m.end, rp.content, &al)
	}
	n.set(b.String(), al)
}

// prependNormalizer is Prepend: a string put before any non-empty text.
type prependNormalizer struct{ s string }

func (p prependNormalizer) normalize(n *normalized) { n.prepend(p.s) }

// nmt is Nmt: the control characters SentencePiece's nmt rules drop, and its
// spaces.
type nmt struct{}

func (nmt) normalize(n *normalized) {
	n.mapRunes(func(out []rune, r rune) []rune {
		switch {
		case (r >= 1 && r <= 8) || r == 0x0B || (r >= 0x0E && r <= 0x1F) || r == 0x7F || r == 0x8F || r == 0x9F:
			return out
		case r == 9 || r == 0xA || r == 0xC || r == 0xD || r == 0x1680 || (r >= 0x200B && r <= 0x200F) ||
			r == 0x2028 || r == 0x2029 || r == 0x2581 || r == 0xFEFF || r == 0xFFFD:
			return append(out, ' ')
		}
		return append(out, r)
	})
}

// byteLevelNormalizer is the ByteLevel normalizer: every byte to its printable
// character.
type byteLevelNormalizer struct{}

func (byteLevelNormalizer) normalize(n *normalized) {
	ps := []piece{{n: *n}}
	byteLevelTransform(ps)
	*n = ps[0].n
}

// sequenceNormalizer applies normalizers in order.
type sequenceNormalizer []normalizer

func (s sequenceNormalizer) normalize(n *normalized) {
	for _, x := range s {
		x.normalize(n)
	}
}

// precompiled is SentencePiece's precompiled character map (the Precompiled
// normalizer of XLM-R, T5 and the sentencepiece conversions): a double-array trie
// from UTF-8 strings to offsets of their replacements in a blob of NUL-terminated
// strings, applied grapheme by grapheme as spm_precompiled does.
type precompiled struct {
	trie []uint32
	blob string
	// ascii[c] is the lookup of the one-character text c, done once: an ASCII
	// character followed by another is a grapheme cluster of its own.
	ascii [128]struct {
		repl string
		ok   bool
	}
}

func newPrecompiled(b64 string) (*precompiled, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("precompiled_charsmap is not base64: %w", err)
	}
	if len(raw) == 0 {
		return &precompiled{}, nil
	}
	if len(raw) < 4 {
		return nil, fmt.Errorf("precompiled_charsmap holds %d bytes, too few for its trie size", len(raw))
	}
	size := int(binary.LittleEndian.Uint32(raw))
	if size%4 != 0 || size > len(raw)-4 {
		return nil, fmt.Errorf("precompiled_charsmap: trie of %d bytes in a map of %d", size, len(raw))
	}
	p := &precompiled{trie: make([]uint32, size/4), blob: string(raw[4+size:])}
	for i := range p.trie {
		p.trie[i] = binary.LittleEndian.Uint32(raw[4+4*i:])
	}
	for c := range p.ascii {
		p.ascii[c].repl, p.ascii[c].ok = p.lookup(string(rune(c)))
	}
	return p, nil
}

// lookup returns the replacement of the shortest trie key that prefixes key
// (spm_precompiled's transform takes the first common-prefix result).
func (p *precompiled) lookup(key string) (string, bool) {
	if len(p.trie) == 0 {
		return "", false
	}
	pos := 0
	unit := p.trie[pos]
	pos ^= dartsOffset(unit)
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c == 0 {
			break
		}
		pos ^= int(c)
		if pos < 0 || pos >= len(p.trie) {
			return "", false
		}
		unit = p.trie[pos]
		if int(unit&(1<<31|0xFF)) != int(c) {
			return "", false
		}
		pos ^= dartsOffset(unit)
		if pos < 0 || pos >= len(p.trie) {
			return "", false
		}
		if unit>>8&1 == 1 {
			v := int(p.trie[pos] & (1<<31 - 1))
			if v >= len(p.blob) {
				return "", false
			}
			end := strings.IndexByte(p.blob[v:], 0)
			if end < 0 {
				end = len(p.blob) - v
			}
			return p.blob[v : v+end], true
		}
	}
	return "", false
}

func dartsOffset(unit uint32) int { return int((unit >> 10) << ((unit & (1 << 9)) >> 6)) }

func (p *precompiled) normalize(n *normalized) {
	// dest is built from the first change on (nil until then: the text up to
	// there is copied in one go).
	var dest []change
	modified := false
	replaceWith := func(at int, old, repl string) {
		if !modified {
			modified = true
			dest = make([]change, 0, len(n.s)+8)
			for _, c := range n.s[:at] {
				dest = append(dest, change{c, 0})
			}
		}
		oldCount, newCount := utf8.RuneCountInString(old), utf8.RuneCountInString(repl)
		for _, c := range repl {
			dest = append(dest, change{c, 0})
		}
		switch diff := newCount - oldCount; {
		case diff > 0:
			for i := len(dest) - diff; i < len(dest); i++ {
				dest[i].n = 1
			}
		case diff < 0 && len(dest) > 0:
			dest[len(dest)-1].n += diff
		}
	}
	keep := func(c rune) {
		if modified {
			dest = append(dest, change{c, 0})
		}
	}
	s := n.s
	for i := 0; i < len(s); {
		if c := s[i]; c < 0x80 && (i+1 == len(s) || (s[i+1] < 0x80 && !(c == '\r' && s[i+1] == '\n'))) {
			if a := &p.ascii[c]; a.ok {
				replaceWith(i, s[i:i+1], a.repl)
			} else {
				keep(rune(c))
			}
			i++
			continue
		}
		cluster, _, _, _ := uniseg.FirstGraphemeClusterInString(s[i:], -1)
		if len(cluster) < 6 {
			if repl, ok := p.lookup(cluster); ok {
				replaceWith(i, cluster, repl)
				i += len(cluster)
				continue
			}
		}
		for k, c := range cluster {
			part := cluster[k : k+utf8.RuneLen(c)]
			if repl, ok := p.lookup(part); ok {
				replaceWith(i+k, part, repl)
			} else {
				keep(c)
			}
		}
		i += len(cluster)
	}
	if modified {
		n.transform(dest, 0)
	}
}
