package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ErrFormat is wrapped by every error about a tokenizer file that cannot be read:
// malformed JSON, a missing field, a value out of range, a component this package
// does not support.
var ErrFormat = errors.New("tokenizer: bad tokenizer file")

// FromJSON builds a tokenizer from the contents of a tokenizer.json file.
func FromJSON(data []byte) (*Tokenizer, error) {
	var f struct {
		AddedTokens   []AddedToken    `json:"added_tokens"`
		Normalizer    json.RawMessage `json:"normalizer"`
		PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
		Model         json.RawMessage `json:"model"`
		PostProcessor json.RawMessage `json:"post_processor"`
		Decoder       json.RawMessage `json:"decoder"`
		Truncation    *struct {
			Truncation
		} `json:"truncation"`
		Padding *struct {
			Strategy        json.RawMessage `json:"strategy"`
			Direction       string          `json:"direction"`
			PadToMultipleOf *int            `json:"pad_to_multiple_of"`
			PadID           int             `json:"pad_id"`
			PadTypeID       int             `json:"pad_type_id"`
			PadToken        string          `json:"pad_token"`
		} `json:"padding"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	t := &Tokenizer{added: f.AddedTokens}
	for i, a := range t.added {
		if a.Content == "" {
			return nil, fmt.Errorf("%w: added_tokens[%d] (id %d) has no content", ErrFormat, i, a.ID)
		}
		if a.ID < 0 {
			return nil, fmt.Errorf("%w: added_tokens[%d] %q has id %d", ErrFormat, i, a.Content, a.ID)
		}
	}
	var err error
	if t.normalizer, err = parseNormalizer(f.Normalizer, "normalizer"); err != nil {
		return nil, err
	}
	if t.pre, err = parsePreTokenizer(f.PreTokenizer, "pre_tokenizer"); err != nil {
		return nil, err
	}
	if t.model, err = parseModel(f.Model); err != nil {
		return nil, err
	}
	if t.post, err = parsePostProcessor(f.PostProcessor, "post_processor"); err != nil {
		return nil, err
	}
	if t.dec, err = parseDecoder(f.Decoder, "decoder"); err != nil {
		return nil, err
	}
	if f.Truncation != nil {
		if t, err = t.WithTruncation(&f.Truncation.Truncation); err != nil {
			return nil, fmt.Errorf("%w: truncation: %w", ErrFormat, err)
		}
	}
	if p := f.Padding; p != nil {
		pd := Padding{Direction: p.Direction, PadID: p.PadID, PadTypeID: p.PadTypeID, PadToken: p.PadToken}
		if p.PadToMultipleOf != nil {
			pd.PadToMultipleOf = *p.PadToMultipleOf
		}
		var fixed struct {
			Fixed *int `json:"Fixed"`
		}
		var name string
		switch {
		case json.Unmarshal(p.Strategy, &name) == nil && name == "BatchLongest":
		case json.Unmarshal(p.Strategy, &fixed) == nil && fixed.Fixed != nil && *fixed.Fixed >= 0:
			pd.Length = *fixed.Fixed
		default:
			return nil, fmt.Errorf("%w: padding strategy %s is not \"BatchLongest\" or {\"Fixed\": n}", ErrFormat, p.Strategy)
		}
		if pd.PadToMultipleOf < 0 {
			return nil, fmt.Errorf("%w: padding pad_to_multiple_of %d is negative", ErrFormat, pd.PadToMultipleOf)
		}
		t = t.WithPadding(&pd)
	}
	t.finish()
	return t, nil
}

// component is the part of every component's JSON that names its type.
type component struct {
	Type string `json:"type"`
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// decode unmarshals raw into v, naming the component in errors.
func decode(raw json.RawMessage, where, typ string, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrFormat, where, typ, err)
	}
	return nil
}

func unsupported(where, typ string) error {
	return fmt.Errorf("%w: %s type %q is not supported", ErrFormat, where, typ)
}

// jsonPattern is a pattern as tokenizer.json writes one: {"String": s} or
// {"Regex": r}.
type jsonPattern struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

func (p jsonPattern) compile(where string) (pattern, error) {
	switch {
	case p.String != nil:
		return stringPattern(*p.String), nil
	case p.Regex != nil:
		pat, err := compileRegex(*p.Regex)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrFormat, where, err)
		}
		return pat, nil
	}
	return nil, fmt.Errorf("%w: %s: pattern is neither {\"String\": ...} nor {\"Regex\": ...}", ErrFormat, where)
}

// parseSequence reads the list under field of a Sequence component, each
// element with parse; null elements are dropped.
func parseSequence[T any](raw json.RawMessage, at, field string, parse func(json.RawMessage, string) (T, error)) ([]T, error) {
	var v map[string]json.RawMessage
	if err := decode(raw, at, "", &v); err != nil {
		return nil, err
	}
	var list []json.RawMessage
	if err := json.Unmarshal(v[field], &list); err != nil {
		return nil, fmt.Errorf("%w: %s: %s is not a list: %w", ErrFormat, at, field, err)
	}
	var seq []T
	for i, r := range list {
		x, err := parse(r, fmt.Sprintf("%s[%d]", at, i))
		if err != nil {
			return nil, err
		}
		if any(x) != nil { // a comparison with nil only: T's values may be slices
			seq = append(seq, x)
		}
	}
	return seq, nil
}

func parseNormalizer(raw json.RawMessage, where string) (normalizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	var c component
	if err := decode(raw, where, "", &c); err != nil {
		return nil, err
	}
	where = fmt.Sprintf("%s %s", where, c.Type)
	switch c.Type {
	case "BertNormalizer":
		var v struct {
			CleanText    *bool `json:"clean_text"`
			Chinese      *bool `json:"handle_chinese_chars"`
			StripAccents *bool `json:"strip_accents"`
			Lowercase    *bool `json:"lowercase"`
		}
		if err := decode(raw, where, "", &v); err != nil {
			return nil, err
		}
		b := bertNormalizer{cleanText: true, chinese: true, lowercase: true}
		if v.CleanText != nil {
			b.cleanText = *v.CleanText
		}
		if v.Chinese != nil {
			b.chinese = *v.Chinese
		}
		if v.Lowercase != nil {
			b.lowercase = *v.Lowercase
		}
		b.stripAccents = b.lowercase // strip_accents null follows lowercase
		if v.StripAccents != nil {
			b.stripAccents = *v.StripAccents
		}
		return b, nil
	case "NFC":
		return unicodeNormalizer{norm.NFC}, nil
	case "NFD":
		return unicodeNormalizer{norm.NFD}, nil
	case "NFKC":
		return unicodeNormalizer{norm.NFKC}, nil
	case "NFKD":
		return unicodeNormalizer{norm.NFKD}, nil
	case "Lowercase":
		return lowercase{}, nil
	case "StripAccents":
		return stripAccents{}, nil
	case "Nmt":
		return nmt{}, nil
	case "ByteLevel":
		return byteLevelNormalizer{}, nil
	case "Strip":
		var v struct {
			Left  bool `json:"strip_left"`
			Right bool `json:"strip_right"`
		}
		if err := decode(raw, where, "", &v); err != nil {
			return nil, err
		}
		return strip{v.Left, v.Right}, nil
	case "Replace":
		pat, content, err := parseReplace(raw, where)
		if err != nil {
			return nil, err
		}
		return replace{pat, content}, nil
	case "Prepend":
		var v struct {
			Prepend string `json:"prepend"`
		}
		if err := decode(raw, where, "", &v); err != nil {
			return nil, err
		}
		return prependNormalizer{v.Prepend}, nil
	case "Precompiled":
		var v struct {
			Charsmap *string `json:"precompiled_charsmap"`
		}
		if err := decode(raw, where, "", &v); err != nil {
			return nil, err
		}
		if v.Charsmap == nil || *v.Charsmap == "" {
			return sequenceNormalizer(nil), nil // an empty charsmap changes nothing
		}
		p, err := newPrecompiled(*v.Charsmap)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrFormat, where, err)
		}
		return p, nil
	case "Sequence":
		seq, err := parseSequence(raw, where, "normalizers", parseNormalizer)
		return sequenceNormalizer(seq), err
	}
	return nil, unsupported(strings.TrimSuffix(where, " "+c.Type), c.Type)
}

// parseReplace reads the fields of the Replace normalizer and decoder.
func parseReplace(raw json.RawMessage, at string) (pattern, string, error) {
	var v struct {
		Pattern jsonPattern `json:"pattern"`
		Content string      `json:"content"`
	}
	if err := decode(raw, at, "", &v); err != nil {
		return nil, "", err
	}
	pat, err := v.Pattern.compile(at)
	return pat, v.Content, err
}

func parseBehavior(s, where string, def splitBehavior) (splitBehavior, error) {
	if s == "" {
		return def, nil
	}
	b, ok := splitBehaviorNames[s]
	if !ok {
		return 0, fmt.Errorf("%w: %s: behavior %q is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous", ErrFormat, where, s)
	}
	return b, nil
}

// metaspaceJSON is Metaspace's fields in the pre-tokenizer and the decoder, the
// old ones (add_prefix_space, str_rep) included.
type metaspaceJSON struct {
	Replacement    *string `json:"replacement"`
	StrRep         *string `json:"str_rep"`
	PrependScheme  *string `json:"prepend_scheme"`
	AddPrefixSpace *bool   `json:"add_prefix_space"`
	Split          *bool   `json:"split"`
}

func (v metaspaceJSON) parse(where string) (metaspace, error) {
	m := metaspace{replacement: '▁', scheme: prependAlways, split: true}
	rep := v.Replacement
	if rep == nil {
		rep = v.StrRep
	}
	if rep != nil {
		r, w := utf8.DecodeRuneInString(*rep)
		if w == 0 || w != len(*rep) || r == utf8.RuneError {
			return m, fmt.Errorf("%w: %s: replacement %q is not one character", ErrFormat, where, *rep)
		}
		m.replacement = r
	}
	if v.AddPrefixSpace != nil && !*v.AddPrefixSpace {
		m.scheme = prependNever
	}
	if v.PrependScheme != nil {
		switch *v.PrependScheme {
		case "always":
			m.scheme = prependAlways
		case "never":
			m.scheme = prependNever
		case "first":
			m.scheme = prependFirst
		default:
			return m, fmt.Errorf("%w: %s: prepend_scheme %q is not always, never or first", ErrFormat, where, *v.PrependScheme)
		}
	}
	if v.Split != nil {
		m.split = *v.Split
	}
	return m, nil
}

func parsePreTokenizer(raw json.RawMessage, where string) (preTokenizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	var c component
	if err := decode(raw, where, "", &c); err != nil {
		return nil, err
	}
	at := fmt.Sprintf("%s %s", where, c.Type)
	switch c.Type {
	case "BertPreTokenizer":
		return bertPreTokenizer{}, nil
	case "Whitespace":
		return whitespacePre{}, nil
	case "WhitespaceSplit":
		return splitPre{runePattern(isWhitespace), splitRemoved}, nil
	case "UnicodeScripts":
		return unicodeScripts{}, nil
	case "ByteLevel":
		var v struct {
			AddPrefixSpace *bool `json:"add_prefix_space"`
			TrimOffsets    *bool `json:"trim_offsets"`
			UseRegex       *bool `json:"use_regex"`
		}
		if err := decode(raw, at, "", &v); err != nil {
			return nil, err
		}
		b := byteLevel{addPrefixSpace: true, useRegex: true, trimOffsets: true, pat: scanners[gpt2Pattern]}
		setBool(&b.addPrefixSpace, v.AddPrefixSpace)
		setBool(&b.trimOffsets, v.TrimOffsets)
		setBool(&b.useRegex, v.UseRegex)
		return b, nil
	case "Metaspace":
		var v metaspaceJSON
		if err := decode(raw, at, "", &v); err != nil {
			return nil, err
		}
		return v.parse(at)
	case "Split":
		var v struct {
			Pattern  jsonPattern `json:"pattern"`
			Behavior string      `json:"behavior"`
			Invert   bool        `json:"invert"`
		}
		if err := decode(raw, at, "", &v); err != nil {
			return nil, err
		}
		pat, err := v.Pattern.compile(at)
		if err != nil {
			return nil, err
		}
		if v.Behavior == "" {
			return nil, fmt.Errorf("%w: %s: behavior is missing", ErrFormat, at)
		}
		b, err := parseBehavior(v.Behavior, at, splitRemoved)
		if err != nil {
			return nil, err
		}
		if v.Invert {
			pat = invertPattern{pat}
		}
		return splitPre{pat, b}, nil
	case "Punctuation":
		var v struct {
			Behavior string `json:"behavior"`
		}
		if err := decode(raw, at, "", &v); err != nil {
			return nil, err
		}
		b, err := parseBehavior(v.Behavior, at, splitIsolated)
		if err != nil {
			return nil, err
		}
		return splitPre{runePattern(isBertPunctuation), b}, nil
	case "Digits":
		var v struct {
			Individual bool `json:"individual_digits"`
		}
		if err := decode(raw, at, "", &v); err != nil {
			return nil, err
		}
		if v.Individual {
			return splitPre{runePattern(isNumeric), splitIsolated}, nil
		}
		return splitPre{runePattern(isNumeric), splitContiguous}, nil
	case "CharDelimiterSplit":
		var v struct {
			Delimiter string `json:"delimiter"`
		}
		if err := decode(raw, at, "", &v); err != nil {
			return nil, err
		}
		r, w := utf8.DecodeRuneInString(v.Delimiter)
		if w == 0 || w != len(v.Delimiter) {
			return nil, fmt.Errorf("%w: %s: delimiter %q is not one character", ErrFormat, at, v.Delimiter)
		}
		return splitPre{runePattern(func(c rune) bool { return c == r }), splitRemoved}, nil
	case "Sequence":
		seq, err := parseSequence(raw, at, "pretokenizers", parsePreTokenizer)
		return sequencePre(seq), err
	}
	return nil, unsupported(where, c.Type)
}

func setBool(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}

// mergesJSON reads merges in both forms tokenizer.json uses: "a b" strings and
// ["a", "b"] pairs.
type mergesJSON [][2]string

func (m *mergesJSON) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make([][2]string, len(raw))
	for i, r := range raw {
		var s string
		if err := json.Unmarshal(r, &s); err == nil {
			a, b, ok := strings.Cut(s, " ")
			if !ok || strings.Contains(b, " ") {
				return fmt.Errorf("merge %d %q is not two tokens separated by one space", i, s)
			}
			out[i] = [2]string{a, b}
			continue
		}
		var p []string
		if err := json.Unmarshal(r, &p); err != nil || len(p) != 2 {
			return fmt.Errorf("merge %d %s is not \"a b\" or [\"a\", \"b\"]", i, r)
		}
		out[i] = [2]string{p[0], p[1]}
	}
	*m = out
	return nil
}

func parseModel(raw json.RawMessage) (model, error) {
	if isNull(raw) {
		return nil, fmt.Errorf("%w: model is missing", ErrFormat)
	}
	var v struct {
		Type                    string          `json:"type"`
		Vocab                   json.RawMessage `json:"vocab"`
		Merges                  mergesJSON      `json:"merges"`
		UnkToken                *string         `json:"unk_token"`
		UnkID                   *int            `json:"unk_id"`
		ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
		MaxInputCharsPerWord    *int            `json:"max_input_chars_per_word"`
		Dropout                 *float64        `json:"dropout"`
		FuseUnk                 bool            `json:"fuse_unk"`
		ByteFallback            bool            `json:"byte_fallback"`
		IgnoreMerges            bool            `json:"ignore_merges"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%w: model: %w", ErrFormat, err)
	}
	typ := v.Type
	if typ == "" {
		// Old files name no type: tell the models apart by their fields.
		switch {
		case v.Merges != nil:
			typ = "BPE"
		case v.ContinuingSubwordPrefix != nil || v.MaxInputCharsPerWord != nil:
			typ = "WordPiece"
		case v.UnkID != nil:
			typ = "Unigram"
		case v.UnkToken != nil:
			typ = "WordLevel"
		default:
			return nil, fmt.Errorf("%w: model has no type and its fields match none", ErrFormat)
		}
	}
	where := "model " + typ
	str := func(p *string, def string) string {
		if p != nil {
			return *p
		}
		return def
	}
	switch typ {
	case "WordPiece", "WordLevel", "BPE":
		var m map[string]int
		if err := json.Unmarshal(v.Vocab, &m); err != nil {
			return nil, fmt.Errorf("%w: %s: vocab: %w", ErrFormat, where, err)
		}
		voc, err := newVocab(m, where)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrFormat, err)
		}
		switch typ {
		case "WordPiece":
			mc := 100
			if v.MaxInputCharsPerWord != nil {
				mc = *v.MaxInputCharsPerWord
			}
			return &wordPiece{vocab: voc, unk: str(v.UnkToken, "[UNK]"), prefix: str(v.ContinuingSubwordPrefix, "##"), maxChars: mc}, nil
		case "WordLevel":
			return &wordLevel{vocab: voc, unk: str(v.UnkToken, "<unk>")}, nil
		}
		if v.Dropout != nil && *v.Dropout > 0 {
			return nil, fmt.Errorf("%w: %s: dropout %g is not supported (encoding would be random)", ErrFormat, where, *v.Dropout)
		}
		b, err := newBPE(voc, v.Merges, str(v.ContinuingSubwordPrefix, ""))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrFormat, err)
		}
		if v.UnkToken != nil {
			b.unk, b.hasUnk = *v.UnkToken, true
		}
		b.suffix = str(v.EndOfWordSuffix, "")
		b.fuseUnk, b.byteFallback, b.ignoreMerges = v.FuseUnk, v.ByteFallback, v.IgnoreMerges
		return b, nil
	case "Unigram":
		var entries [][2]json.RawMessage
		if err := json.Unmarshal(v.Vocab, &entries); err != nil {
			return nil, fmt.Errorf("%w: %s: vocab is not a list of [piece, score]: %w", ErrFormat, where, err)
		}
		pieces := make([]string, len(entries))
		scores := make([]float64, len(entries))
		for i, e := range entries {
			if err := json.Unmarshal(e[0], &pieces[i]); err != nil {
				return nil, fmt.Errorf("%w: %s: vocab[%d] piece: %w", ErrFormat, where, i, err)
			}
			if err := json.Unmarshal(e[1], &scores[i]); err != nil {
				return nil, fmt.Errorf("%w: %s: vocab[%d] score: %w", ErrFormat, where, i, err)
			}
		}
		unk := -1
		if v.UnkID != nil {
			unk = *v.UnkID
			if unk < 0 || unk >= len(pieces) {
				return nil, fmt.Errorf("%w: %s: unk_id %d is outside the vocabulary of %d", ErrFormat, where, unk, len(pieces))
			}
		}
		m, err := newUnigram(pieces, scores, unk, v.ByteFallback)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrFormat, err)
		}
		return m, nil
	}
	return nil, unsupported("model", typ)
}

// specialJSON is a post-processor's special token: ["[CLS]", 101].
type specialJSON struct {
	tok string
	id  int
}

func (s *specialJSON) UnmarshalJSON(b []byte) error {
	var p [2]json.RawMessage
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	if err := json.Unmarshal(p[0], &s.tok); err != nil {
		return err
	}
	return json.Unmarshal(p[1], &s.id)
}

func parsePostProcessor(raw json.RawMessage, where string) (postProcessor, error) {
	if isNull(raw) {
		return nil, nil
	}
	var c component
	if err := decode(raw, where, "", &c); err != nil {
		return nil, err
	}
	at := fmt.Sprintf("%s %s", where, c.Type)
	switch c.Type {
	case "BertProcessing", "RobertaProcessing":
		v := struct {
			Sep            specialJSON `json:"sep"`
			Cls            specialJSON `json:"cls"`
			TrimOffsets    *bool       `json:"trim_offsets"`
			AddPrefixSpace *bool       `json:"add_prefix_space"`
		}{}
		if err := decode(raw, at, "", &v); err != nil {
			return nil, err
		}
		b := &bertProcessing{sep: v.Sep.tok, sepID: v.Sep.id, cls: v.Cls.tok, clsID: v.Cls.id,
			roberta: c.Type == "RobertaProcessing", trimOffsets: true, addPrefixSpace: true}
		setBool(&b.trimOffsets, v.TrimOffsets)
		setBool(&b.addPrefixSpace, v.AddPrefixSpace)
		return b, nil
	case "ByteLevel":
		var v struct {
			TrimOffsets    *bool `json:"trim_offsets"`
			AddPrefixSpace *bool `json:"add_prefix_space"`
		}
		if err := decode(raw, at, "", &v); err != nil {
			return nil, err
		}
		b := byteLevelProcessing{trimOffsets: true, addPrefixSpace: true}
		setBool(&b.trimOffsets, v.TrimOffsets)
		setBool(&b.addPrefixSpace, v.AddPrefixSpace)
		return b, nil
	case "TemplateProcessing":
		type jsonPiece struct {
			Sequence *struct {
				ID     string `json:"id"`
				TypeID int    `json:"type_id"`
			} `json:"Sequence"`
			SpecialToken *struct {
				ID     string `json:"id"`
				TypeID int    `json:"type_id"`
			} `json:"SpecialToken"`
		}
		var v struct {
			Single        []jsonPiece `json:"single"`
			Pair          []jsonPiece `json:"pair"`
			SpecialTokens map[string]struct {
				ID     string   `json:"id"`
				IDs    []int    `json:"ids"`
				Tokens []string `json:"tokens"`
			} `json:"special_tokens"`
		}
		if err := decode(raw, at, "", &v); err != nil {
			return nil, err
		}
		t := &template{specials: map[string]templateSpecial{}}
		for name, s := range v.SpecialTokens {
			if len(s.IDs) != len(s.Tokens) {
				return nil, fmt.Errorf("%w: %s: special token %q has %d ids but %d tokens", ErrFormat, at, name, len(s.IDs), len(s.Tokens))
			}
			t.specials[name] = templateSpecial{s.IDs, s.Tokens}
		}
		conv := func(ps []jsonPiece, which string) ([]templatePiece, error) {
			var out []templatePiece
			for i, p := range ps {
				switch {
				case p.Sequence != nil:
					seq := 0
					switch p.Sequence.ID {
					case "A":
					case "B":
						seq = 1
					default:
						return nil, fmt.Errorf("%w: %s: %s[%d]: sequence %q is not A or B", ErrFormat, at, which, i, p.Sequence.ID)
					}
					out = append(out, templatePiece{seq: seq, typ: p.Sequence.TypeID})
				case p.SpecialToken != nil:
					if _, ok := t.specials[p.SpecialToken.ID]; !ok {
						return nil, fmt.Errorf("%w: %s: %s[%d]: special token %q is not in special_tokens", ErrFormat, at, which, i, p.SpecialToken.ID)
					}
					out = append(out, templatePiece{seq: -1, special: p.SpecialToken.ID, typ: p.SpecialToken.TypeID})
				default:
					return nil, fmt.Errorf("%w: %s: %s[%d] is neither Sequence nor SpecialToken", ErrFormat, at, which, i)
				}
			}
			return out, nil
		}
		var err error
		if t.single, err = conv(v.Single, "single"); err != nil {
			return nil, err
		}
		if t.pair, err = conv(v.Pair, "pair"); err != nil {
			return nil, err
		}
		return t, nil
	case "Sequence":
		seq, err := parseSequence(raw, at, "processors", parsePostProcessor)
		return sequenceProcessing(seq), err
	}
	return nil, unsupported(where, c.Type)
}

func parseDecoder(raw json.RawMessage, where string) (decoder, error) {
	if isNull(raw) {
		return nil, nil
	}
	var c component
	if err := decode(raw, where, "", &c); err != nil {
		return nil, err
	}
	at := fmt.Sprintf("%s %s", where, c.Type)
	switch c.Type {
	case "ByteLevel":
		return byteLevelDecoder{}, nil
	case "ByteFallback":
		return byteFallbackDecoder{}, nil
	case "Fuse":
		return fuseDecoder{}, nil
	case "WordPiece":
		var v struct {
			Prefix  *string `json:"prefix"`
			Cleanup *bool   `json:"cleanup"`
		}
		if err := decode(raw, at, "", &v); err != nil {
			return nil, err
		}
		d := wordPieceDecoder{prefix: "##", cleanup: true}
		if v.Prefix != nil {
			d.prefix = *v.Prefix
		}
		setBool(&d.cleanup, v.Cleanup)
		return d, nil
	case "Metaspace":
		var v metaspaceJSON
		if err := decode(raw, at, "", &v); err != nil {
			return nil, err
		}
		m, err := v.parse(at)
		if err != nil {
			return nil, err
		}
		return metaspaceDecoder{replacement: m.replacement, scheme: m.scheme}, nil
	case "BPEDecoder":
		var v struct {
			Suffix *string `json:"suffix"`
		}
		if err := decode(raw, at, "", &v); err != nil {
			return nil, err
		}
		d := bpeDecoder{suffix: "</w>"}
		if v.Suffix != nil {
			d.suffix = *v.Suffix
		}
		return d, nil
	case "Strip":
		var v struct {
			Content string `json:"content"`
			Start   int    `json:"start"`
			Stop    int    `json:"stop"`
		}
		if err := decode(raw, at, "", &v); err != nil {
			return nil, err
		}
		r, w := utf8.DecodeRuneInString(v.Content)
		if w == 0 || w != len(v.Content) || v.Start < 0 || v.Stop < 0 {
			return nil, fmt.Errorf("%w: %s: content %q must be one character, start %d and stop %d not negative", ErrFormat, at, v.Content, v.Start, v.Stop)
		}
		return stripDecoder{content: r, start: v.Start, stop: v.Stop}, nil
	case "Replace":
		pat, content, err := parseReplace(raw, at)
		if err != nil {
			return nil, err
		}
		return replaceDecoder{pat, content}, nil
	case "CTC":
		var v struct {
			Pad       *string `json:"pad_token"`
			Delimiter *string `json:"word_delimiter_token"`
			Cleanup   *bool   `json:"cleanup"`
		}
		if err := decode(raw, at, "", &v); err != nil {
			return nil, err
		}
		d := ctcDecoder{pad: "<pad>", delimiter: "|", cleanup: true}
		if v.Pad != nil {
			d.pad = *v.Pad
		}
		if v.Delimiter != nil {
			d.delimiter = *v.Delimiter
		}
		setBool(&d.cleanup, v.Cleanup)
		return d, nil
	case "Sequence":
		seq, err := parseSequence(raw, at, "decoders", parseDecoder)
		return sequenceDecoder(seq), err
	}
	return nil, unsupported(where, c.Type)
}

// sortedAdded orders added tokens by id, as HF keeps them.
func sortedAdded(a []AddedToken) []AddedToken {
	sort.SliceStable(a, func(i, j int) bool { return a[i].ID < a[j].ID })
	return a
}
