package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// postProcessor adds a model's special tokens around one or two encodings.
type postProcessor interface {
	// added is how many tokens process adds to a single text or a pair.
	added(pair bool) int
	// process returns the encodings with special tokens (when addSpecial) and
	// offsets adjusted; the caller merges them.
	process(encs []Encoding, addSpecial bool) []Encoding
	// singleIDs returns the ids of one text with the special tokens added, as
	// process with addSpecial would give them (EncodeIDs' path).
	singleIDs(ids []int) []int
}

// specialEncoding is the encoding of special tokens added by a post-processor.
func specialEncoding(ids []int, toks []string, typ int) Encoding {
	var e Encoding
	for i := range ids {
		e.appendToken(ids[i], typ, toks[i], [2]int{}, [2]int{}, -1, 1)
	}
	return e
}

func setTypeIDs(e *Encoding, typ int) {
	for i := range e.TypeIDs {
		e.TypeIDs[i] = typ
	}
	for i := range e.Overflowing {
		setTypeIDs(&e.Overflowing[i], typ)
	}
}

// templatePiece is one piece of a TemplateProcessing template: a sequence (A or
// B) or a special token, with its type id.
type templatePiece struct {
	seq     int    // 0 for A, 1 for B, -1 for a special token
	special string // the special token's name
	typ     int
}

type templateSpecial struct {
	ids    []int
	tokens []string
}

// template is TemplateProcessing.
type template struct {
	single, pair []templatePiece
	specials     map[string]templateSpecial
}

func (t *template) added(pair bool) int {
	tpl := t.single
	if pair {
		tpl = t.pair
	}
	n := 0
	for _, p := range tpl {
		if p.seq < 0 {
			n += len(t.specials[p.special].ids)
		}
	}
	return n
}

func (t *template) singleIDs(ids []int) []int {
	out := make([]int, 0, len(ids)+t.added(false))
	for _, p := range t.single {
		switch {
		case p.seq == 0:
			out = append(out, ids...)
		case p.seq < 0:
			out = append(out, t.specials[p.special].ids...)
		}
	}
	return out
}

func (t *template) process(encs []Encoding, addSpecial bool) []Encoding {
	tpl := t.single
	if len(encs) == 2 {
		tpl = t.pair
	}
	var out []Encoding
	var used [2]bool
	for _, p := range tpl {
		if p.seq >= 0 {
			if p.seq >= len(encs) {
				continue
			}
			// As HF: the type ids of the overflowing windows are left as they
			// were (their merges then mix ids); their sequence ids are set.
			// The encodings are ours to change; one used twice is copied.
			e := encs[p.seq]
			if used[p.seq] {
				e = e.clone()
			}
			used[p.seq] = true
			for i := range e.TypeIDs {
				e.TypeIDs[i] = p.typ
			}
			setSequenceIDs(&e, p.seq)
			out = append(out, e)
			continue
		}
		if addSpecial {
			s := t.specials[p.special]
			out = append(out, specialEncoding(s.ids, s.tokens, p.typ))
		}
	}
	return out
}

func setSequenceIDs(e *Encoding, id int) {
	e.setSequenceID(id)
	for i := range e.Overflowing {
		setSequenceIDs(&e.Overflowing[i], id)
	}
}

// bertProcessing is BertProcessing ([CLS] A [SEP] B [SEP]) and, with roberta set,
// RobertaProcessing (<s> A </s> </s> B </s>, all type 0, offsets trimmed).
type bertProcessing struct {
	sep, cls       string
	sepID, clsID   int
	roberta        bool
	trimOffsets    bool
	addPrefixSpace bool
}

func (b *bertProcessing) added(pair bool) int {
	switch {
	case !pair:
		return 2
	case b.roberta:
		return 4
	}
	return 3
}

func (b *bertProcessing) singleIDs(ids []int) []int {
	out := make([]int, 0, len(ids)+2)
	out = append(out, b.clsID)
	out = append(out, ids...)
	return append(out, b.sepID)
}

func (b *bertProcessing) process(encs []Encoding, addSpecial bool) []Encoding {
	if b.roberta && b.trimOffsets {
		for i := range encs {
			trimByteLevelOffsets(&encs[i], b.addPrefixSpace)
		}
	}
	for i := range encs {
		setSequenceIDs(&encs[i], i)
		if b.roberta {
			setTypeIDs(&encs[i], 0) // RoBERTa has one type
		}
	}
	if !addSpecial {
		return encs
	}
	var wrap func(e Encoding, i int) Encoding
	wrap = func(e Encoding, i int) Encoding {
		var out Encoding
		switch {
		case i == 0:
			out = specialEncoding([]int{b.clsID}, []string{b.cls}, 0)
			out.concat(&e)
			sep := specialEncoding([]int{b.sepID}, []string{b.sep}, 0)
			out.concat(&sep)
		case b.roberta:
			out = specialEncoding([]int{b.sepID}, []string{b.sep}, 0)
			out.concat(&e)
			sep := specialEncoding([]int{b.sepID}, []string{b.sep}, 0)
			out.concat(&sep)
		default:
			out.concat(&e)
			sep := specialEncoding([]int{b.sepID}, []string{b.sep}, 1)
			out.concat(&sep)
		}
		for _, o := range e.Overflowing {
			out.Overflowing = append(out.Overflowing, wrap(o, i))
		}
		return out
	}
	out := make([]Encoding, len(encs))
	for i := range encs {
		out[i] = wrap(encs[i], i)
	}
	return out
}

// byteLevelProcessing is the ByteLevel post-processor: offsets trimmed of the
// spaces byte-level tokens carry.
type byteLevelProcessing struct{ trimOffsets, addPrefixSpace bool }

func (byteLevelProcessing) added(bool) int { return 0 }

func (byteLevelProcessing) singleIDs(ids []int) []int { return ids }

func (b byteLevelProcessing) process(encs []Encoding, addSpecial bool) []Encoding {
	if b.trimOffsets {
		for i := range encs {
			trimByteLevelOffsets(&encs[i], b.addPrefixSpace)
		}
	}
	for i := range encs {
		setSequenceIDs(&encs[i], i)
	}
	return encs
}

// trimByteLevelOffsets is HF's process_offsets: a token's span loses its leading
// and trailing spaces (Ġ or whitespace), except the one space a prefix added.
func trimByteLevelOffsets(e *Encoding, addPrefixSpace bool) {
	isSpace := func(r rune) bool { return r == 'Ġ' || unicode.Is(unicode.White_Space, r) }
	for i, tok := range e.Tokens {
		lead, trail := 0, 0
		for _, r := range tok {
			if !isSpace(r) {
				break
			}
			lead++
		}
		for s := tok; s != ""; {
			r, w := utf8.DecodeLastRuneInString(s)
			if !isSpace(r) {
				break
			}
			trail++
			s = s[:len(s)-w]
		}
		if lead == 0 && trail == 0 {
			continue
		}
		off, coff := &e.Offsets[i], &e.CharOffsets[i]
		if lead > 0 {
			if (i == 0 || off[0] == 0) && addPrefixSpace && lead == 1 {
				lead = 0
			}
			off[0] = min(off[0]+lead, off[1])
			coff[0] = min(coff[0]+lead, coff[1])
		}
		if trail > 0 && off[1] >= trail {
			off[1] = max(off[1]-trail, off[0])
			coff[1] = max(coff[1]-trail, coff[0])
		}
	}
	for i := range e.Overflowing {
		trimByteLevelOffsets(&e.Overflowing[i], addPrefixSpace)
	}
}

// sequenceProcessing applies post-processors in order.
type sequenceProcessing []postProcessor

func (s sequenceProcessing) added(pair bool) int {
	n := 0
	for _, p := range s {
		n += p.added(pair)
	}
	return n
}

func (s sequenceProcessing) singleIDs(ids []int) []int {
	for _, p := range s {
		ids = p.singleIDs(ids)
	}
	return ids
}

func (s sequenceProcessing) process(encs []Encoding, addSpecial bool) []Encoding {
	for _, p := range s {
		encs = p.process(encs, addSpecial)
	}
	return encs
}
