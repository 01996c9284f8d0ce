package tokenizer

import (
	"unicode/utf8"
)

// AddedToken is a token matched in the text before the model runs (the special
// tokens, and tokens added to a vocabulary), as tokenizer.json's added_tokens has it.
type AddedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"` // only where no word character touches it
	LStrip     bool   `json:"lstrip"`      // takes the whitespace before it
	RStrip     bool   `json:"rstrip"`      // takes the whitespace after it
	Normalized bool   `json:"normalized"`  // matched in the normalized text, not the raw one
	Special    bool   `json:"special"`     // dropped by decoding with skipSpecial
}

// addedSet matches a set of added tokens, leftmost first and then longest, as the
// aho-corasick automaton of HF's AddedVocabulary does: a byte trie walked from each
// position, so matching is linear in the text times the longest token.
type addedSet struct {
	trie     byteTrie
	tokens   []AddedToken // by trie value
	contents []string     // what each matches
	first    [256]bool    // bytes a token can start with
	longest  int
}

func newAddedSet(toks []AddedToken, contents []string) *addedSet {
	s := &addedSet{}
	for i, t := range toks {
		c := contents[i]
		if c == "" {
			continue
		}
		s.tokens = append(s.tokens, t)
		s.contents = append(s.contents, c)
		s.trie.insert(c, int32(len(s.tokens)-1))
		s.first[c[0]] = true
		s.longest = max(s.longest, len(c))
	}
	return s
}

// addedMatch is a match of token tok at bytes [start, end) of a text; tok < 0 for
// the text between matches.
type addedMatch struct {
	tok        int
	start, end int
}

// find cuts s into added tokens and the text between them (HF's find_matches).
func (a *addedSet) find(s string) []addedMatch {
	if len(a.tokens) == 0 || s == "" {
		return []addedMatch{{-1, 0, len(s)}}
	}
	var out []addedMatch
	startOffset := 0
	var hits []int32
	for pos := 0; pos < len(s); {
		if !a.first[s[pos]] {
			pos++
			continue
		}
		hits = a.trie.prefixes(s[pos:], hits[:0])
		if len(hits) == 0 {
			pos++
			continue
		}
		k := hits[len(hits)-1] // the longest
		t := a.tokens[k]
		start, stop := pos, pos+len(a.contents[k])
		if t.SingleWord {
			before, _ := utf8.DecodeLastRuneInString(s[:start])
			after, _ := utf8.DecodeRuneInString(s[stop:])
			if (start > 0 && isWordChar(before)) || (stop < len(s) && isWordChar(after)) {
				// Not a single word: the automaton moves on past this match.
				pos = stop
				continue
			}
		}
		if t.LStrip {
			ns := start
			for ns > 0 {
				r, w := utf8.DecodeLastRuneInString(s[:ns])
				if !isWhitespace(r) {
					break
				}
				ns -= w
			}
			start = max(ns, startOffset)
		}
		if t.RStrip {
			for stop < len(s) {
				r, w := utf8.DecodeRuneInString(s[stop:])
				if !isWhitespace(r) {
					break
				}
				stop += w
			}
		}
		if startOffset < start {
			out = append(out, addedMatch{-1, startOffset, start})
		}
		out = append(out, addedMatch{int(k), start, stop})
		startOffset = stop
		pos = max(stop, pos+1)
	}
	if startOffset != len(s) {
		out = append(out, addedMatch{-1, startOffset, len(s)})
	}
	return out
}

// splitAdded cuts every piece not done into added tokens (done) and the text
// between them, matching set in each piece's current text.
func splitAdded(ps []piece, sc *scratch, set *addedSet, norm normalizer) []piece {
	out := sc.spare[:0]
	for _, p := range ps {
		if p.done {
			out = append(out, p)
			continue
		}
		if norm != nil {
			norm.normalize(&p.n)
		}
		for _, m := range set.find(p.n.s) {
			if m.end <= m.start {
				continue
			}
			sl := p.n.slice(m.start, m.end)
			if m.tok < 0 {
				out = append(out, piece{n: sl})
				continue
			}
			out = append(out, piece{n: sl, done: true, tokens: []token{{set.tokens[m.tok].ID, sl.s, 0, len(sl.s)}}})
		}
	}
	clear(ps)
	sc.spare = ps[:0]
	return out
}
