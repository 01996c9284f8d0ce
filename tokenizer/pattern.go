package tokenizer

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// pattern finds the pieces of a text that a split or a replacement acts on.
type pattern interface {
	// find appends to ms the pieces of s in order, covering it whole, each
	// marked as matched or not (HF's Pattern::find_matches).
	find(s string, ms []match) []match
}

// runePattern matches every character for which the function is true, one match a
// character.
type runePattern func(rune) bool

func (p runePattern) find(s string, ms []match) []match {
	if s == "" {
		return append(ms, match{0, 0, false})
	}
	last := 0
	for i, r := range s {
		if p(r) {
			w := utf8.RuneLen(r)
			if last < i {
				ms = append(ms, match{last, i, false})
			}
			ms = append(ms, match{i, i + w, true})
			last = i + w
		}
	}
	if last < len(s) {
		ms = append(ms, match{last, len(s), false})
	}
	return ms
}

// stringPattern matches a literal string, leftmost first, without overlaps.
type stringPattern string

func (p stringPattern) find(s string, ms []match) []match {
	if p == "" || s == "" {
		return append(ms, match{0, len(s), false})
	}
	prev := 0
	for pos := 0; pos <= len(s); {
		i := strings.Index(s[pos:], string(p))
		if i < 0 {
			break
		}
		start := pos + i
		if prev != start {
			ms = append(ms, match{prev, start, false})
		}
		ms = append(ms, match{start, start + len(p), true})
		prev = start + len(p)
		pos = prev
	}
	if prev != len(s) {
		ms = append(ms, match{prev, len(s), false})
	}
	return ms
}

// scanPattern is a hand-written scanner for a regular expression: next returns the
// byte length of the match that starts at the beginning of s (s non-empty), where
// the expression matches every position (its last alternative is \s+ or similar).
type scanPattern struct {
	expr string
	next func(s string) int
}

func (p scanPattern) find(s string, ms []match) []match {
	if s == "" {
		return append(ms, match{0, 0, false})
	}
	for pos := 0; pos < len(s); {
		n := p.next(s[pos:])
		ms = append(ms, match{pos, pos + n, true})
		pos += n
	}
	return ms
}

// regexPattern is a general regular expression, with look-around and Unicode
// classes, run by regexp2 (a backtracking engine with .NET's syntax, which covers
// the Oniguruma constructs tokenizer.json files use).
type regexPattern struct {
	expr string
	re   *regexp2.Regexp
}

func compileRegex(expr string) (pattern, error) {
	if p, ok := scanners[expr]; ok {
		return p, nil
	}
	re, err := regexp2.Compile(expr, regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("regex %q: %w", expr, err)
	}
	return regexPattern{expr, re}, nil
}

func (p regexPattern) find(s string, ms []match) []match {
	if s == "" {
		return append(ms, match{0, 0, false})
	}
	runes := make([]rune, 0, len(s))
	at := make([]int, 0, len(s)+1) // byte offset of each rune, then len(s)
	for i, r := range s {
		runes = append(runes, r)
		at = append(at, i)
	}
	at = append(at, len(s))
	prev := 0
	m, err := p.re.FindRunesMatch(runes)
	for err == nil && m != nil {
		start, end := at[m.Index], at[m.Index+m.Length]
		if prev != start {
			ms = append(ms, match{prev, start, false})
		}
		ms = append(ms, match{start, end, true})
		prev = end
		m, err = p.re.FindNextMatch(m)
	}
	if prev != len(s) {
		ms = append(ms, match{prev, len(s), false})
	}
	return ms
}

// invertPattern flips which pieces count as matched.
type invertPattern struct{ p pattern }

func (p invertPattern) find(s string, ms []match) []match {
	k := len(ms)
	ms = p.p.find(s, ms)
	for i := k; i < len(ms); i++ {
		ms[i].hit = !ms[i].hit
	}
	return ms
}

// scanners are the hand-written forms of the split expressions that byte-level BPE
// tokenizers use most, each equal to the expression as regexp2 runs it
// (TestScanners, FuzzScanners): a scanner runs several times faster than the
// backtracking engine and allocates nothing.
var scanners = map[string]scanPattern{
	gpt2Pattern:   {gpt2Pattern, gpt2Next},
	llama3Pattern: {llama3Pattern, llama3Next(3)},
	qwen2Pattern:  {qwen2Pattern, llama3Next(1)},
}

// llama3Pattern is Llama 3's split expression (tiktoken's cl100k_base), and
// qwen2Pattern the same with single digits (Qwen2, Qwen2.5, Qwen3).
const (
	llama3Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	qwen2Pattern  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// llama3Next returns llama3Pattern as a scanner, with numbers cut every
// maxDigits characters; each branch below is one alternative of the expression,
// tried in its order.
func llama3Next(maxDigits int) func(s string) int {
	return func(s string) int {
		// (?i:'s|'t|'re|'ve|'m|'ll|'d)
		if s[0] == '\'' && len(s) > 1 {
			for _, c := range [...]string{"s", "t", "re", "ve", "m", "ll", "d"} {
				if len(s) > len(c) && strings.EqualFold(s[1:1+len(c)], c) {
					return 1 + len(c)
				}
			}
		}
		r0, w0 := utf8.DecodeRuneInString(s)
		c0 := gpt2Class(r0)
		// [^\r\n\p{L}\p{N}]?\p{L}+
		if c0 == gpt2Letter {
			return w0 + classRun(s[w0:], gpt2Letter)
		}
		if c0 != gpt2Number && r0 != '\r' && r0 != '\n' && w0 < len(s) {
			if r1, _ := utf8.DecodeRuneInString(s[w0:]); gpt2Class(r1) == gpt2Letter {
				return w0 + classRun(s[w0:], gpt2Letter)
			}
		}
		// \p{N}{1,maxDigits}
		if c0 == gpt2Number {
			n := w0
			for k := 1; k < maxDigits && n < len(s); k++ {
				r, w := utf8.DecodeRuneInString(s[n:])
				if gpt2Class(r) != gpt2Number {
					break
				}
				n += w
			}
			return n
		}
		// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
		start := 0
		if r0 == ' ' && len(s) > 1 {
			if r1, _ := utf8.DecodeRuneInString(s[1:]); gpt2Class(r1) == gpt2Other {
				start = 1
			}
		}
		if start == 1 || c0 == gpt2Other {
			n := start + classRun(s[start:], gpt2Other)
			for n < len(s) && (s[n] == '\r' || s[n] == '\n') {
				n++
			}
			return n
		}
		// Here s starts with whitespace.
		n, last, afterBreak := whitespaceRun(s)
		switch {
		case afterBreak > 0: // \s*[\r\n]+
			return afterBreak
		case n < len(s) && n > last: // \s+(?!\S)
			return n - last
		}
		return n // \s+
	}
}

// whitespaceRun measures the run of whitespace at the start of s: its byte
// length n, the length of its last character, and the end of its last \r or \n
// (0 if none).
func whitespaceRun(s string) (n, last, afterBreak int) {
	for n < len(s) {
		r, w := utf8.DecodeRuneInString(s[n:])
		if !isWhitespace(r) {
			break
		}
		last = w
		n += w
		if r == '\r' || r == '\n' {
			afterBreak = n
		}
	}
	return n, last, afterBreak
}

// classRun is the byte length of the run of characters of gpt2Class class at
// the start of s.
func classRun(s string, class int) int {
	n := 0
	for n < len(s) {
		r, w := utf8.DecodeRuneInString(s[n:])
		if gpt2Class(r) != class {
			break
		}
		n += w
	}
	return n
}

// gpt2Pattern is GPT-2's split expression (the ByteLevel pre-tokenizer's).
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// gpt2Next is gpt2Pattern as a scanner: the byte length of the first piece of s.
func gpt2Next(s string) int {
	if s[0] == '\'' && len(s) > 1 {
		for _, c := range [...]string{"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"} {
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
	if start == 1 || !isWhitespace(r) {
		// ' ?\p{L}+', ' ?\p{N}+' and ' ?[^\s\p{L}\p{N}]+'.
		if class := gpt2Class(r); class != gpt2Space {
			n := start
			for n < len(s) {
				r, w := utf8.DecodeRuneInString(s[n:])
				if gpt2Class(r) != class {
					break
				}
				n += w
			}
			if n > start {
				return n
			}
		}
	}
	// \s+(?!\S) then \s+: a whitespace run, leaving its last character to the next
	// piece when a non-space follows.
	n, last, _ := whitespaceRun(s)
	if n < len(s) && n > last {
		return n - last
	}
	return n
}

const (
	gpt2Letter = iota
	gpt2Number
	gpt2Other
	gpt2Space
)

func gpt2Class(r rune) int {
	switch {
	case r < 0x80:
		return int(asciiGPT2[r])
	case unicode.IsLetter(r):
		return gpt2Letter
	case unicode.IsNumber(r):
		return gpt2Number
	case isWhitespace(r):
		return gpt2Space
	}
	return gpt2Other
}

var asciiGPT2 = func() (t [128]uint8) {
	for c := range t {
		r := rune(c)
		switch {
		case unicode.IsLetter(r):
			t[c] = gpt2Letter
		case unicode.IsNumber(r):
			t[c] = gpt2Number
		case isWhitespace(r):
			t[c] = gpt2Space
		default:
			t[c] = gpt2Other
		}
	}
	return t
}()
