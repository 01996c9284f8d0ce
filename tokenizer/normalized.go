package tokenizer

import (
	"unicode/utf8"
)

// span is a byte range [start, end) of the input text.
type span struct{ start, end int }

// normalized is a piece of the input after normalisation: its text and, for every
// byte of it, the span of the input that byte came from (Hugging Face's
// NormalizedString, with spans kept absolute rather than relative to the piece).
type normalized struct {
	s     string
	align []span // len(align) == len(s)
	// orig is the span of the input the piece covers; an inserted character at the
	// very start of an empty-aligned piece aligns to orig.start, as HF's (0, 0).
	orig span
	// untracked pieces keep no alignment (align is nil, orig zero): EncodeIDs,
	// which reports no offsets, skips the 16 bytes per byte it costs.
	untracked bool
}

// at returns the alignment of byte i (the zero span when untracked).
func (n *normalized) at(i int) span {
	if n.untracked || i < 0 || i >= len(n.align) {
		return span{}
	}
	return n.align[i]
}

// alignBuf collects the alignment of a rewritten text; it records nothing for an
// untracked piece.
type alignBuf struct {
	spans []span
	off   bool
}

func (n *normalized) newAlign(capacity int) alignBuf {
	if n.untracked {
		return alignBuf{off: true}
	}
	return alignBuf{spans: make([]span, 0, capacity)}
}

// add appends k copies of a.
func (b *alignBuf) add(a span, k int) {
	if b.off {
		return
	}
	for ; k > 0; k-- {
		b.spans = append(b.spans, a)
	}
}

// copyFrom appends the alignment of bytes [lo, hi) of n.
func (b *alignBuf) copyFrom(n *normalized, lo, hi int) {
	if !b.off {
		b.spans = append(b.spans, n.align[lo:hi]...)
	}
}

// last returns the alignment of the last byte collected, and false if none.
func (b *alignBuf) last() (span, bool) {
	if len(b.spans) == 0 {
		return span{}, false
	}
	return b.spans[len(b.spans)-1], true
}

// set replaces the text and its alignment.
func (n *normalized) set(s string, b alignBuf) { n.s, n.align = s, b.spans }

// newNormalized wraps text[lo:hi]. Bytes that are not valid UTF-8 become U+FFFD,
// each aligned to the one byte it replaces, so every later stage sees valid text
// and offsets still point into the caller's bytes.
func newNormalized(text string, lo, hi int, untracked bool) normalized {
	s := text[lo:hi]
	n := normalized{orig: span{lo, hi}, untracked: untracked}
	if untracked {
		n.orig = span{}
		if utf8.ValidString(s) {
			n.s = s
		} else {
			b := make([]byte, 0, len(s)+8)
			for i := 0; i < len(s); {
				r, w := utf8.DecodeRuneInString(s[i:])
				if r == utf8.RuneError && w == 1 {
					b = utf8.AppendRune(b, utf8.RuneError)
				} else {
					b = append(b, s[i:i+w]...)
				}
				i += w
			}
			n.s = string(b)
		}
		return n
	}
	if utf8.ValidString(s) {
		n.s = s
		n.align = make([]span, len(s))
		for i := 0; i < len(s); {
			_, w := utf8.DecodeRuneInString(s[i:])
			for k := 0; k < w; k++ {
				n.align[i+k] = span{lo + i, lo + i + w}
			}
			i += w
		}
		return n
	}
	b := make([]byte, 0, len(s)+8)
	n.align = make([]span, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
			for k := 0; k < 3; k++ {
				n.align = append(n.align, span{lo + i, lo + i + 1})
			}
			i++
			continue
		}
		b = append(b, s[i:i+w]...)
		for k := 0; k < w; k++ {
			n.align = append(n.align, span{lo + i, lo + i + w})
		}
		i += w
	}
	n.s = string(b)
	return n
}

// change is one character of a transformation, as HF's transform takes it: n is 0
// when c replaces the next character, 1 when c is inserted, -k when c replaces the
// next character and the k characters after it are removed.
type change struct {
	c rune
	n int
}

// transform rewrites the whole text from a list of changes (HF's transform_range
// over the full range); initial is the number of characters removed at the start.
func (n *normalized) transform(dest []change, initial int) {
	offset := 0
	for k := 0; k < initial && offset < len(n.s); k++ {
		_, w := utf8.DecodeRuneInString(n.s[offset:])
		offset += w
	}
	b := make([]byte, 0, len(n.s)+8)
	al := n.newAlign(len(n.s) + 8)
	for _, ch := range dest {
		idx := offset
		var a span
		switch {
		case ch.n > 0 && idx < 1:
			a = span{n.orig.start, n.orig.start}
		case ch.n > 0:
			a = n.at(min(idx, len(n.align)) - 1)
		case idx < len(n.align):
			a = n.at(idx)
		case len(n.align) > 0:
			a = n.at(len(n.align) - 1)
		default:
			a = span{n.orig.start, n.orig.start}
		}
		if ch.n <= 0 && offset < len(n.s) {
			_, w := utf8.DecodeRuneInString(n.s[offset:])
			offset += w
		}
		for k := 0; k < -ch.n && offset < len(n.s); k++ {
			_, w := utf8.DecodeRuneInString(n.s[offset:])
			offset += w
		}
		w := len(b)
		b = utf8.AppendRune(b, ch.c)
		al.add(a, len(b)-w)
	}
	n.set(string(b), al)
}

// mapRunes rewrites every character into zero or more characters, each aligned with
// the character it came from (HF's map, filter and lowercase, and the per-character
// expansions of BertNormalizer). f appends the replacement of r to out. Nothing is
// allocated until a character changes, and the alignment is kept as it is while
// every change is one character for one of the same length.
func (n *normalized) mapRunes(f func(out []rune, r rune) []rune) {
	var buf [8]rune
	var b []byte
	var al alignBuf
	building, sameAlign := false, true
	for i := 0; i < len(n.s); {
		r, w := utf8.DecodeRuneInString(n.s[i:])
		out := f(buf[:0], r)
		if len(out) == 1 && out[0] == r {
			if building {
				b = append(b, n.s[i:i+w]...)
				if !sameAlign {
					al.copyFrom(n, i, i+w)
				}
			}
			i += w
			continue
		}
		if !building {
			building = true
			b = make([]byte, i, len(n.s)+8)
			copy(b, n.s[:i])
		}
		if sameAlign && !(len(out) == 1 && utf8.RuneLen(out[0]) == w) {
			sameAlign = false
			al = n.newAlign(len(n.s) + 8)
			al.copyFrom(n, 0, len(b))
		}
		a := n.at(i)
		for _, c := range out {
			k := len(b)
			b = utf8.AppendRune(b, c)
			if !sameAlign {
				al.add(a, len(b)-k)
			}
		}
		i += w
	}
	switch {
	case !building:
	case sameAlign:
		n.s = string(b)
	default:
		n.set(string(b), al)
	}
}

// replaceRange replaces bytes [start, end) of the text with content, every byte of
// which aligns with the last byte replaced (HF's replace: the content is inserted
// after the removed characters); it appends the alignment to al.
func (n *normalized) replaceRange(start, end int, content string, al *alignBuf) {
	a := span{n.orig.start, n.orig.start}
	if end >= 1 {
		a = n.at(end - 1)
	}
	al.add(a, len(content))
}

// prepend puts s before the text, aligned with its first character (HF's prepend).
func (n *normalized) prepend(s string) {
	if len(n.s) == 0 || s == "" {
		return
	}
	if !n.untracked {
		a := n.align[0]
		al := make([]span, len(s), len(s)+len(n.align))
		for i := range al {
			al[i] = a
		}
		n.align = append(al, n.align...)
	}
	n.s = s + n.s
}

// slice returns bytes [start, end) of the text as a piece of its own.
func (n *normalized) slice(start, end int) normalized {
	p := normalized{s: n.s[start:end], untracked: n.untracked}
	if n.untracked {
		return p
	}
	p.align = n.align[start:end]
	if start < end {
		p.orig = span{p.align[0].start, p.align[end-start-1].end}
	} else if start < len(n.align) {
		p.orig = span{n.align[start].start, n.align[start].start}
	} else {
		p.orig = span{n.orig.end, n.orig.end}
	}
	return p
}

// original returns the span of the input that bytes [start, end) of the text came
// from (HF's convert_offsets from normalized to original); zero when untracked.
func (n *normalized) original(start, end int) span {
	if n.untracked {
		return span{}
	}
	if start >= end {
		if start < len(n.align) {
			return span{n.align[start].start, n.align[start].start}
		}
		return span{n.orig.end, n.orig.end}
	}
	return span{n.align[start].start, n.align[end-1].end}
}

// match is one piece of a text cut by a pattern: bytes [start, end), and whether
// the pattern matched it.
type match struct {
	start, end int
	hit        bool
}

// splitBehavior says what a split does with the pieces its pattern matched.
type splitBehavior int

const (
	splitRemoved splitBehavior = iota
	splitIsolated
	splitMergedWithPrevious
	splitMergedWithNext
	splitContiguous
)

var splitBehaviorNames = map[string]splitBehavior{
	"Removed": splitRemoved, "Isolated": splitIsolated, "MergedWithPrevious": splitMergedWithPrevious,
	"MergedWithNext": splitMergedWithNext, "Contiguous": splitContiguous,
}

// split cuts the text where ms (covering it whole, in order) says, as HF's
// NormalizedString::split does for each behaviour; empty pieces are dropped.
//
// buf is scratch space for the cuts, kept for the next call.
func (n *normalized) split(ms []match, behavior splitBehavior, out []normalized, buf *[]match) []normalized {
	type piece = match // hit means removed
	ps := (*buf)[:0]
	defer func() { *buf = ps[:0] }()
	switch behavior {
	case splitIsolated:
		for _, m := range ms {
			ps = append(ps, piece{m.start, m.end, false})
		}
	case splitRemoved:
		for _, m := range ms {
			ps = append(ps, piece{m.start, m.end, m.hit})
		}
	case splitContiguous:
		prev := false
		for _, m := range ms {
			if m.hit == prev && len(ps) > 0 {
				ps[len(ps)-1].end = m.end
			} else {
				ps = append(ps, piece{m.start, m.end, false})
			}
			prev = m.hit
		}
	case splitMergedWithPrevious:
		prev := false
		for _, m := range ms {
			if m.hit && !prev && len(ps) > 0 {
				ps[len(ps)-1].end = m.end
			} else {
				ps = append(ps, piece{m.start, m.end, false})
			}
			prev = m.hit
		}
	case splitMergedWithNext:
		prev := false
		for i := len(ms) - 1; i >= 0; i-- {
			m := ms[i]
			if m.hit && !prev && len(ps) > 0 {
				ps[len(ps)-1].start = m.start
			} else {
				ps = append(ps, piece{m.start, m.end, false})
			}
			prev = m.hit
		}
		for i, j := 0, len(ps)-1; i < j; i, j = i+1, j-1 {
			ps[i], ps[j] = ps[j], ps[i]
		}
	}
	for _, p := range ps {
		if !p.hit && p.end > p.start {
			out = append(out, n.slice(p.start, p.end))
		}
	}
	return out
}
