package tokenizer

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// decoder turns tokens back into text pieces (HF's decode_chain); the pieces are
// joined.
type decoder interface {
	decodeChain(toks []string) []string
}

// byteLevelDecoder maps GPT-2's printable characters back to bytes; bytes that do
// not form UTF-8 become U+FFFD.
type byteLevelDecoder struct{}

func (byteLevelDecoder) decodeChain(toks []string) []string {
	var b []byte
	for _, t := range toks {
		mark := len(b)
		ok := true
		for _, r := range t {
			c, found := charBytes[r]
			if !found {
				ok = false
				break
			}
			b = append(b, c)
		}
		if !ok {
			b = append(b[:mark], t...)
		}
	}
	return []string{lossyUTF8(b)}
}

// wordPieceDecoder joins WordPiece tokens: the continuation prefix glues a token to
// the one before, others get a space; cleanup undoes tokenization spaces.
type wordPieceDecoder struct {
	prefix  string
	cleanup bool
}

func (d wordPieceDecoder) decodeChain(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		if i != 0 {
			if strings.HasPrefix(t, d.prefix) {
				t = strings.Replace(t, d.prefix, "", 1)
			} else {
				t = " " + t
			}
		}
		if d.cleanup {
			t = cleanupSpaces(t)
		}
		out[i] = t
	}
	return out
}

// cleanupSpaces is HF's cleanup: the spaces tokenization put before punctuation
// and contractions removed.
func cleanupSpaces(s string) string {
	// Applied in HF's order, one replacement after the other.
	for _, p := range [][2]string{{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
		{" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}} {
		s = strings.ReplaceAll(s, p[0], p[1])
	}
	return s
}

// metaspaceDecoder turns the replacement character back into spaces, dropping the
// one the pre-tokenizer prepended.
type metaspaceDecoder struct {
	replacement rune
	scheme      prependScheme
}

func (d metaspaceDecoder) decodeChain(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		var b strings.Builder
		for j, r := range t {
			if r == d.replacement {
				if j == 0 && i == 0 && d.scheme != prependNever {
					continue
				}
				b.WriteByte(' ')
				continue
			}
			b.WriteRune(r)
		}
		out[i] = b.String()
	}
	return out
}

// bpeDecoder is BPEDecoder: the end-of-word suffix becomes a space (nothing after
// the last token).
type bpeDecoder struct{ suffix string }

func (d bpeDecoder) decodeChain(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		rep := " "
		if i == len(toks)-1 {
			rep = ""
		}
		out[i] = strings.ReplaceAll(t, d.suffix, rep)
	}
	return out
}

// byteFallbackDecoder turns runs of <0xHH> tokens into their bytes (U+FFFD for each
// byte when they are not UTF-8).
type byteFallbackDecoder struct{}

func (byteFallbackDecoder) decodeChain(toks []string) []string {
	var out []string
	var pending []byte
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if utf8.Valid(pending) {
			out = append(out, string(pending))
		} else {
			for range pending {
				out = append(out, "\uFFFD")
			}
		}
		pending = pending[:0]
	}
	for _, t := range toks {
		if len(t) == 6 && strings.HasPrefix(t, "<0x") && t[5] == '>' {
			if v, err := strconv.ParseUint(t[3:5], 16, 8); err == nil {
				pending = append(pending, byte(v))
				continue
			}
		}
		flush()
		out = append(out, t)
	}
	flush()
	return out
}

// fuseDecoder joins every token into one.
type fuseDecoder struct{}

func (fuseDecoder) decodeChain(toks []string) []string { return []string{strings.Join(toks, "")} }

// stripDecoder removes up to start leading and stop trailing content characters
// from every token.
type stripDecoder struct {
	content     rune
	start, stop int
}

func (d stripDecoder) decodeChain(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		for k := 0; k < d.start; k++ {
			r, w := utf8.DecodeRuneInString(t)
			if r != d.content || w == 0 {
				break
			}
			t = t[w:]
		}
		for k := 0; k < d.stop; k++ {
			r, w := utf8.DecodeLastRuneInString(t)
			if r != d.content || w == 0 {
				break
			}
			t = t[:len(t)-w]
		}
		out[i] = t
	}
	return out
}

// replaceDecoder replaces a string or regex in every token.
type replaceDecoder struct {
	pat     pattern
	content string
}

func (d replaceDecoder) decodeChain(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		var b strings.Builder
		for _, m := range d.pat.find(t, nil) {
			if m.hit {
				b.WriteString(d.content)
			} else {
				b.WriteString(t[m.start:m.end])
			}
		}
		out[i] = b.String()
	}
	return out
}

// ctcDecoder is CTC: repeats collapsed, the pad token dropped, the word delimiter
// a space, and the cleanup.
type ctcDecoder struct {
	pad, delimiter string
	cleanup        bool
}

func (d ctcDecoder) decodeChain(toks []string) []string {
	var out []string
	for i, t := range toks {
		if i > 0 && toks[i-1] == t {
			continue
		}
		t = strings.ReplaceAll(t, d.pad, "")
		if d.cleanup {
			t = strings.ReplaceAll(cleanupSpaces(t), d.delimiter, " ")
		}
		if t != "" {
			out = append(out, t)
		}
	}
	return out
}

// sequenceDecoder applies decoders in order.
type sequenceDecoder []decoder

func (s sequenceDecoder) decodeChain(toks []string) []string {
	for _, d := range s {
		toks = d.decodeChain(toks)
	}
	return toks
}

// lossyUTF8 is Rust's String::from_utf8_lossy: each maximal ill-formed
// subsequence (a lead byte and the continuation bytes that could still complete
// it) becomes one U+FFFD, as the Unicode standard recommends.
func lossyUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		r, w := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || w > 1 {
			out = append(out, b[i:i+w]...)
			i += w
			continue
		}
		out = append(out, "\uFFFD"...)
		i += illFormedLen(b[i:])
	}
	return string(out)
}

// illFormedLen is the length of the maximal ill-formed prefix of b, which does
// not start with a valid character.
func illFormedLen(b []byte) int {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c >= 0xE0 && c <= 0xEF:
		need = 2
		if c == 0xE0 {
			lo = 0xA0
		} else if c == 0xED {
			hi = 0x9F
		}
	case c >= 0xF0 && c <= 0xF4:
		need = 3
		if c == 0xF0 {
			lo = 0x90
		} else if c == 0xF4 {
			hi = 0x8F
		}
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		if b[n] < lo || b[n] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
		n++
	}
	return n
}
