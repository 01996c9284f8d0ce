package tokenizer

import (
	"errors"
	"fmt"
)

// Encoding is a tokenized text (or text pair), ready for a model: one entry per
// token in every slice.
type Encoding struct {
	IDs               []int
	TypeIDs           []int
	Tokens            []string
	Offsets           [][2]int // byte span in the input text ([0, 0] for added special tokens)
	CharOffsets       [][2]int // the same span in characters (code points), as Python's tokenizers reports it
	WordIDs           []int    // the pre-tokenizer word a token came from, -1 for special tokens
	SequenceIDs       []int    // 0 for the first text, 1 for the pair's second, -1 for special tokens (see below)
	SpecialTokensMask []int    // 1 for tokens the post-processor added, and for padding
	AttentionMask     []int    // 0 for padding
	// Overflowing holds the windows that truncation cut off (with their stride of
	// overlap), each post-processed as the main one.
	Overflowing []Encoding

	// ranges are HF's sequence_ranges, from which SequenceIDs is filled once an
	// encoding is done. They are kept as HF keeps them, quirks included (windows
	// cut by truncation lose them; a merge shifts the other's in), so that
	// SequenceIDs match Python's sequence_ids everywhere.
	ranges []seqRange
}

// seqRange says tokens [start, end) belong to sequence id.
type seqRange struct{ id, start, end int }

// setRange records that tokens [start, end) are sequence id, replacing what was
// recorded for id.
func (e *Encoding) setRange(r seqRange) {
	for i := range e.ranges {
		if e.ranges[i].id == r.id {
			e.ranges[i] = r
			return
		}
	}
	e.ranges = append(e.ranges, r)
}

// finish fills SequenceIDs from the ranges (all 0 when there are none, as HF's
// token_to_sequence), in the overflow too.
func (e *Encoding) finish() {
	e.SequenceIDs = make([]int, e.Len())
	if len(e.ranges) > 0 {
		for i := range e.SequenceIDs {
			e.SequenceIDs[i] = -1
			for _, r := range e.ranges {
				if i >= r.start && i < r.end {
					e.SequenceIDs[i] = r.id
					break
				}
			}
		}
	}
	for i := range e.Overflowing {
		e.Overflowing[i].finish()
	}
}

// Len returns the number of tokens.
func (e *Encoding) Len() int { return len(e.IDs) }

func (e *Encoding) appendToken(id, typ int, tok string, off, coff [2]int, word, special int) {
	e.IDs = append(e.IDs, id)
	e.TypeIDs = append(e.TypeIDs, typ)
	e.Tokens = append(e.Tokens, tok)
	e.Offsets = append(e.Offsets, off)
	e.CharOffsets = append(e.CharOffsets, coff)
	e.WordIDs = append(e.WordIDs, word)
	e.SpecialTokensMask = append(e.SpecialTokensMask, special)
	e.AttentionMask = append(e.AttentionMask, 1)
}

// reserve makes room for n tokens in an empty encoding, in one array per
// element type.
func (e *Encoding) reserve(n int) {
	ints := make([]int, 5*n)
	offs := make([][2]int, 2*n)
	e.IDs, e.TypeIDs, e.WordIDs = ints[0:0:n], ints[n:n:2*n], ints[2*n:2*n:3*n]
	e.SpecialTokensMask, e.AttentionMask = ints[3*n:3*n:4*n], ints[4*n:4*n:5*n]
	e.Offsets, e.CharOffsets = offs[0:0:n], offs[n:n:2*n]
	e.Tokens = make([]string, 0, n)
}

// slice returns tokens [lo, hi) without overflow.
func (e *Encoding) slice(lo, hi int) Encoding {
	cp := func(s []int) []int { return append([]int(nil), s[lo:hi]...) }
	return Encoding{
		IDs: cp(e.IDs), TypeIDs: cp(e.TypeIDs), Tokens: append([]string(nil), e.Tokens[lo:hi]...),
		Offsets: append([][2]int(nil), e.Offsets[lo:hi]...), CharOffsets: append([][2]int(nil), e.CharOffsets[lo:hi]...),
		WordIDs: cp(e.WordIDs), SpecialTokensMask: cp(e.SpecialTokensMask),
		AttentionMask: cp(e.AttentionMask),
	}
}

func (e *Encoding) clone() Encoding {
	c := e.slice(0, e.Len())
	c.ranges = append([]seqRange(nil), e.ranges...)
	for _, o := range e.Overflowing {
		c.Overflowing = append(c.Overflowing, o.clone())
	}
	return c
}

// concat appends the tokens of o (not its overflow) to e, and o's sequence
// ranges shifted past e's tokens.
func (e *Encoding) concat(o *Encoding) {
	for _, r := range o.ranges {
		e.setRange(seqRange{r.id, r.start + e.Len(), r.end + e.Len()})
	}
	e.IDs = append(e.IDs, o.IDs...)
	e.TypeIDs = append(e.TypeIDs, o.TypeIDs...)
	e.Tokens = append(e.Tokens, o.Tokens...)
	e.Offsets = append(e.Offsets, o.Offsets...)
	e.CharOffsets = append(e.CharOffsets, o.CharOffsets...)
	e.WordIDs = append(e.WordIDs, o.WordIDs...)
	e.SpecialTokensMask = append(e.SpecialTokensMask, o.SpecialTokensMask...)
	e.AttentionMask = append(e.AttentionMask, o.AttentionMask...)
}

// mergeWith is HF's Encoding::merge_with: o appended, and the overflows combined
// (each of ours with o and with each of o's, then ours whole with each of o's).
func (e *Encoding) mergeWith(o Encoding) {
	var overs []Encoding
	for i := range e.Overflowing {
		n := e.Overflowing[i].clone()
		n.mergeWith(o.clone())
		overs = append(overs, n)
		for j := range o.Overflowing {
			n := e.Overflowing[i].clone()
			n.mergeWith(o.Overflowing[j].clone())
			overs = append(overs, n)
		}
	}
	for j := range o.Overflowing {
		n := e.clone()
		n.mergeWith(o.Overflowing[j].clone())
		overs = append(overs, n)
	}
	e.concat(&o)
	e.Overflowing = overs
}

func mergeEncodings(encs []Encoding) Encoding {
	if len(encs) == 1 {
		// Merging one into nothing is that one (its overflow included).
		return encs[0]
	}
	var e Encoding
	n := 0
	for _, x := range encs {
		n += x.Len()
	}
	e.reserve(n)
	for _, x := range encs {
		e.mergeWith(x)
	}
	return e
}

// setSequenceID records that all of e's tokens are sequence id (HF's
// set_sequence_id; the overflow is left alone).
func (e *Encoding) setSequenceID(id int) { e.setRange(seqRange{id, 0, e.Len()}) }

// Truncation says how encodings longer than MaxLength are cut (tokenizer.json's
// truncation).
type Truncation struct {
	MaxLength int    `json:"max_length"`
	Stride    int    `json:"stride"`    // tokens each overflowing window repeats from the one before
	Strategy  string `json:"strategy"`  // LongestFirst (default), OnlyFirst or OnlySecond
	Direction string `json:"direction"` // Right (default) or Left
}

// ErrTruncation is wrapped by errors about truncating an input.
var ErrTruncation = errors.New("tokenizer: truncation")

// truncate is HF's Encoding::truncate: the first window of maxLen tokens is kept,
// the rest go to Overflowing, windows overlapping by stride.
func (e *Encoding) truncate(maxLen, stride int, left bool) error {
	n := e.Len()
	if maxLen >= n {
		return nil
	}
	if maxLen == 0 {
		o := *e
		*e = Encoding{Overflowing: []Encoding{o}}
		return nil
	}
	if stride >= maxLen {
		return fmt.Errorf("%w: stride %d must be less than the %d tokens left for the text (max_length less the special tokens)", ErrTruncation, stride, maxLen)
	}
	step := maxLen - stride
	var parts [][2]int
	if !left {
		for start := 0; start < n; start += step {
			stop := min(start+maxLen, n)
			parts = append(parts, [2]int{start, stop})
			if stop == n {
				break
			}
		}
	} else {
		for stop := n; stop > 0; stop -= step {
			start := max(stop-maxLen, 0)
			parts = append(parts, [2]int{start, stop})
			if start == 0 {
				break
			}
		}
	}
	first := e.slice(parts[0][0], parts[0][1])
	for _, p := range parts[1:] {
		first.Overflowing = append(first.Overflowing, e.slice(p[0], p[1]))
	}
	*e = first
	return nil
}

// truncatePair is HF's truncate_encodings, with maxLen already less the special
// tokens the post-processor adds.
func truncatePair(a, b *Encoding, t *Truncation, maxLen int) error {
	left := t.Direction == "Left"
	if maxLen == 0 {
		a.truncate(0, t.Stride, left)
		if b != nil {
			b.truncate(0, t.Stride, left)
		}
		return nil
	}
	total := a.Len()
	if b != nil {
		total += b.Len()
	}
	if total <= maxLen {
		return nil
	}
	toRemove := total - maxLen
	switch t.Strategy {
	case "", "LongestFirst":
		if b == nil {
			return a.truncate(total-toRemove, t.Stride, left)
		}
		n1, n2 := a.Len(), b.Len()
		swap := n1 > n2
		if swap {
			n1, n2 = n2, n1
		}
		if n1 > maxLen {
			n2 = n1
		} else {
			n2 = max(n1, maxLen-n1)
		}
		if n1+n2 > maxLen {
			n1 = maxLen / 2
			n2 = n1 + maxLen%2
		}
		if swap {
			n1, n2 = n2, n1
		}
		if err := a.truncate(n1, t.Stride, left); err != nil {
			return err
		}
		return b.truncate(n2, t.Stride, left)
	case "OnlyFirst", "OnlySecond":
		target := a
		if t.Strategy == "OnlySecond" {
			if b == nil {
				return fmt.Errorf("%w: strategy OnlySecond needs a text pair", ErrTruncation)
			}
			target = b
		}
		if target.Len() <= toRemove {
			return fmt.Errorf("%w: the %s text has %d tokens, too few to remove the %d that max_length %d needs",
				ErrTruncation, map[bool]string{true: "second", false: "first"}[target == b], target.Len(), toRemove, t.MaxLength)
		}
		return target.truncate(target.Len()-toRemove, t.Stride, left)
	}
	return fmt.Errorf("%w: strategy %q is not one of LongestFirst, OnlyFirst, OnlySecond", ErrTruncation, t.Strategy)
}

// Padding says how encodings are padded (tokenizer.json's padding). Length 0 pads
// a batch to its longest encoding.
type Padding struct {
	Length           int    // 0: the batch's longest ("BatchLongest")
	Direction        string // Right (default) or Left
	PadToMultipleOf  int
	PadID, PadTypeID int
	PadToken         string
}

// pad is HF's Encoding::pad, overflow included.
func (e *Encoding) pad(n int, p *Padding) {
	for i := range e.Overflowing {
		e.Overflowing[i].pad(n, p)
	}
	k := n - e.Len()
	if k <= 0 {
		return
	}
	var pe Encoding
	for i := 0; i < k; i++ {
		pe.appendToken(p.PadID, p.PadTypeID, p.PadToken, [2]int{}, [2]int{}, -1, 1)
		pe.AttentionMask[i] = 0
	}
	if p.Direction == "Left" {
		pe.concat(e)
		pe.Overflowing = e.Overflowing
		*e = pe
		return
	}
	e.concat(&pe)
}

// padTarget is the length a batch pads to.
func (p *Padding) padTarget(encs []Encoding) int {
	n := p.Length
	if n == 0 {
		for i := range encs {
			n = max(n, encs[i].Len())
		}
	}
	if m := p.PadToMultipleOf; m > 0 && n%m != 0 {
		n += m - n%m
	}
	return n
}
