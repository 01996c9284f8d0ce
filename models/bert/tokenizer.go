package bert

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ErrTokenizer is wrapped by errors about tokenizer files and inputs.
var ErrTokenizer = errors.New("bert: tokenizer")

// Tokenizer is BERT's WordPiece tokenizer, matching Hugging Face's fast
// BertTokenizer: text cleaning, CJK splitting, optional lower-casing and accent
// stripping, punctuation splitting, greedy longest-match WordPiece. It is safe for
// concurrent use.
type Tokenizer struct {
	vocab                    map[string]int
	tokens                   []string
	lower, strip             bool
	specials                 []string // matched verbatim in the raw text
	CLS, SEP, PAD, UNK, MASK int
}

// MaxWordChars is the longest word WordPiece splits; longer words become [UNK].
const MaxWordChars = 100

// LoadTokenizer reads vocab.txt (with tokenizer_config.json for casing) or
// tokenizer.json from dir.
func LoadTokenizer(dir string) (*Tokenizer, error) {
	return loadTokenizer(os.DirFS(cmp.Or(dir, ".")), dir)
}

// LoadTokenizerFS is LoadTokenizer on a file system, such as the bert-base-uncased
// vocabulary that package assets embeds.
func LoadTokenizerFS(fsys fs.FS) (*Tokenizer, error) { return loadTokenizer(fsys, "") }

// loadTokenizer reads the tokenizer files from fsys; dir is how errors name fsys.
func loadTokenizer(fsys fs.FS, dir string) (*Tokenizer, error) {
	lower, strip := true, true
	if raw, err := fs.ReadFile(fsys, "tokenizer_config.json"); err == nil {
		var c struct {
			Lower *bool `json:"do_lower_case"`
			Strip *bool `json:"strip_accents"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrTokenizer, filepath.Join(dir, "tokenizer_config.json"), err)
		}
		if c.Lower != nil {
			lower = *c.Lower
		}
		strip = lower
		if c.Strip != nil {
			strip = *c.Strip
		}
	}
	if f, err := fsys.Open("vocab.txt"); err == nil {
		defer f.Close()
		var toks []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			toks = append(toks, strings.TrimRight(sc.Text(), "\r"))
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %v (lines are limited to 1 MiB)", ErrTokenizer, filepath.Join(dir, "vocab.txt"), len(toks)+1, err)
		}
		return NewTokenizer(toks, lower, strip)
	}
	raw, err := fs.ReadFile(fsys, "tokenizer.json")
	if err != nil {
		return nil, fmt.Errorf("%w: %s has neither vocab.txt nor tokenizer.json", ErrTokenizer, cmp.Or(dir, "the tokenizer directory"))
	}
	var tj struct {
		Normalizer struct {
			Lower *bool `json:"lowercase"`
			Strip *bool `json:"strip_accents"`
		} `json:"normalizer"`
		Model struct {
			Type  string         `json:"type"`
			Vocab map[string]int `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(raw, &tj); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrTokenizer, filepath.Join(dir, "tokenizer.json"), err)
	}
	if tj.Model.Type != "WordPiece" {
		return nil, fmt.Errorf("%w: tokenizer.json model %q, want WordPiece", ErrTokenizer, tj.Model.Type)
	}
	if tj.Normalizer.Lower != nil {
		lower = *tj.Normalizer.Lower
	}
	strip = lower
	if tj.Normalizer.Strip != nil {
		strip = *tj.Normalizer.Strip
	}
	toks := make([]string, len(tj.Model.Vocab))
	for t, id := range tj.Model.Vocab {
		if id < 0 || id >= len(toks) || toks[id] != "" {
			return nil, fmt.Errorf("%w: tokenizer.json vocabulary ids are not 0..%d", ErrTokenizer, len(toks)-1)
		}
		toks[id] = t
	}
	return NewTokenizer(toks, lower, strip)
}

// NewTokenizer builds a tokenizer from the vocabulary in id order.
func NewTokenizer(tokens []string, lower, stripAccents bool) (*Tokenizer, error) {
	t := &Tokenizer{vocab: make(map[string]int, len(tokens)), tokens: tokens, lower: lower, strip: stripAccents}
	for i, tok := range tokens {
		if _, dup := t.vocab[tok]; !dup {
			t.vocab[tok] = i
		}
	}
	for _, s := range []struct {
		name string
		id   *int
	}{{"[CLS]", &t.CLS}, {"[SEP]", &t.SEP}, {"[PAD]", &t.PAD}, {"[UNK]", &t.UNK}, {"[MASK]", &t.MASK}} {
		id, ok := t.vocab[s.name]
		if !ok {
			return nil, fmt.Errorf("%w: vocabulary has no %s", ErrTokenizer, s.name)
		}
		*s.id = id
		t.specials = append(t.specials, s.name)
	}
	return t, nil
}

// VocabSize returns the number of ids.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// Token returns the text of id ("" when out of range).
func (t *Tokenizer) Token(id int) string {
	if id < 0 || id >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// Piece is one token of a text: its id and its byte span in the original text
// ([0, 0] for the added [CLS]/[SEP]).
type Piece struct {
	ID         int
	Start, End int
}

// normRune is one normalised rune with the byte span of the original rune it came from.
type normRune struct {
	r          rune
	start, end int
}

// Tokenize splits text into WordPiece tokens (no [CLS]/[SEP]) with byte offsets.
func (t *Tokenizer) Tokenize(text string) []Piece {
	var out []Piece
	// at[k] is where special k next occurs at or after pos (len(text): nowhere); each
	// is searched again only once pos has passed it, so the scan stays linear.
	at := make([]int, len(t.specials))
	for k := range at {
		at[k] = -1
	}
	for pos := 0; pos < len(text); {
		next, special := len(text), ""
		for k, s := range t.specials {
			if at[k] < pos && at[k] != len(text) {
				at[k] = len(text)
				if i := strings.Index(text[pos:], s); i >= 0 {
					at[k] = pos + i
				}
			}
			if at[k] < next {
				next, special = at[k], s
			}
		}
		out = t.tokenizePlain(out, text, pos, next)
		if special == "" {
			break
		}
		out = append(out, Piece{ID: t.vocab[special], Start: next, End: next + len(special)})
		pos = next + len(special)
	}
	return out
}

func (t *Tokenizer) tokenizePlain(out []Piece, text string, lo, hi int) []Piece {
	// Normalise rune by rune, remembering where each rune came from.
	var runes []normRune
	for i := lo; i < hi; {
		r, w := utf8.DecodeRuneInString(text[i:])
		start, end := i, i+w
		i += w
		if r == 0 || r == utf8.RuneError || isControl(r) {
			continue
		}
		if isWhitespace(r) {
			runes = append(runes, normRune{' ', start, end})
			continue
		}
		if isCJK(r) {
			runes = append(runes, normRune{' ', start, end}, normRune{r, start, end}, normRune{' ', start, end})
			continue
		}
		chars := []rune{r}
		if t.strip {
			chars = chars[:0]
			for _, d := range norm.NFD.String(string(r)) {
				if !unicode.Is(unicode.Mn, d) {
					chars = append(chars, d)
				}
			}
		}
		for _, c := range chars {
			if t.lower {
				for _, lc := range lowerRune(c) {
					runes = append(runes, normRune{lc, start, end})
				}
			} else {
				runes = append(runes, normRune{c, start, end})
			}
		}
	}
	// Split on whitespace and isolate punctuation, then WordPiece each word.
	for i := 0; i < len(runes); {
		if runes[i].r == ' ' || isWhitespace(runes[i].r) {
			i++
			continue
		}
		j := i + 1
		if !isPunct(runes[i].r) {
			for j < len(runes) && runes[j].r != ' ' && !isWhitespace(runes[j].r) && !isPunct(runes[j].r) {
				j++
			}
		}
		out = t.wordPiece(out, runes[i:j])
		i = j
	}
	return out
}

// lowerRune lower-cases like Rust's char::to_lowercase, which maps İ to "i̇".
func lowerRune(r rune) []rune {
	if r == 'İ' {
		return []rune{'i', '\u0307'}
	}
	return []rune{unicode.ToLower(r)}
}

func (t *Tokenizer) wordPiece(out []Piece, word []normRune) []Piece {
	if len(word) > MaxWordChars {
		return append(out, Piece{ID: t.UNK, Start: word[0].start, End: word[len(word)-1].end})
	}
	mark := len(out)
	for start := 0; start < len(word); {
		end := len(word)
		found := -1
		for ; end > start; end-- {
			var sb strings.Builder
			if start > 0 {
				sb.WriteString("##")
			}
			for _, nr := range word[start:end] {
				sb.WriteRune(nr.r)
			}
			if id, ok := t.vocab[sb.String()]; ok {
				found = id
				break
			}
		}
		if found < 0 {
			return append(out[:mark], Piece{ID: t.UNK, Start: word[0].start, End: word[len(word)-1].end})
		}
		out = append(out, Piece{ID: found, Start: word[start].start, End: word[end-1].end})
		start = end
	}
	return out
}

// isControl is the fast tokenizer's test: categories Cc, Cf, Co, Cs but not the
// unassigned Cn (which end up as [UNK]), and not tab, newline or carriage return.
func isControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

func isWhitespace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || unicode.IsSpace(r)
}

func isPunct(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	return unicode.IsPunct(r)
}

func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) || (r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) || (r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}

// Encoding is a model input: ids, token types, attention mask and offsets.
type Encoding struct {
	IDs, TypeIDs, Mask []int
	Offsets            [][2]int // byte spans in the original text(s); [0, 0] for added specials
	SequenceIDs        []int    // 0 or 1 for text tokens, -1 for added specials
}

// Encode builds [CLS] text [SEP], truncated to maxLen tokens (0: no limit).
func (t *Tokenizer) Encode(text string, maxLen int) (Encoding, error) {
	return t.encode(text, "", false, maxLen)
}

// EncodePair builds [CLS] a [SEP] b [SEP] (token type 1 for b's part), truncating
// the longer text first to fit maxLen (0: no limit).
func (t *Tokenizer) EncodePair(a, b string, maxLen int) (Encoding, error) {
	return t.encode(a, b, true, maxLen)
}

func (t *Tokenizer) encode(a, b string, pair bool, maxLen int) (Encoding, error) {
	pa, pb := t.Tokenize(a), t.Tokenize(b)
	specials := 2
	if pair {
		specials = 3
	}
	if maxLen > 0 {
		if maxLen < specials {
			return Encoding{}, fmt.Errorf("%w: max length %d leaves no room for the %d special tokens", ErrTokenizer, maxLen, specials)
		}
		for len(pa)+len(pb)+specials > maxLen { // longest first
			if len(pa) >= len(pb) {
				pa = pa[:len(pa)-1]
			} else {
				pb = pb[:len(pb)-1]
			}
		}
	}
	var e Encoding
	add := func(id, typ, seq int, off [2]int) {
		e.IDs = append(e.IDs, id)
		e.TypeIDs = append(e.TypeIDs, typ)
		e.Mask = append(e.Mask, 1)
		e.Offsets = append(e.Offsets, off)
		e.SequenceIDs = append(e.SequenceIDs, seq)
	}
	add(t.CLS, 0, -1, [2]int{})
	for _, p := range pa {
		add(p.ID, 0, 0, [2]int{p.Start, p.End})
	}
	add(t.SEP, 0, -1, [2]int{})
	if pair {
		for _, p := range pb {
			add(p.ID, 1, 1, [2]int{p.Start, p.End})
		}
		add(t.SEP, 1, -1, [2]int{})
	}
	return e, nil
}

// Pad right-pads encodings to the longest with [PAD] (mask 0), as a batch needs.
func (t *Tokenizer) Pad(encs []Encoding) int {
	longest := 0
	for _, e := range encs {
		longest = max(longest, len(e.IDs))
	}
	for i := range encs {
		for len(encs[i].IDs) < longest {
			encs[i].IDs = append(encs[i].IDs, t.PAD)
			encs[i].TypeIDs = append(encs[i].TypeIDs, 0)
			encs[i].Mask = append(encs[i].Mask, 0)
			encs[i].Offsets = append(encs[i].Offsets, [2]int{})
			encs[i].SequenceIDs = append(encs[i].SequenceIDs, -1)
		}
	}
	return longest
}
