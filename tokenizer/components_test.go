package tokenizer

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// TestComponentGoldens runs each normalizer, pre-tokenizer and decoder alone
// against Python's normalize_str, pre_tokenize_str and decode.
func TestComponentGoldens(t *testing.T) {
	var g struct {
		Normalizers []struct {
			Normalizer json.RawMessage `json:"normalizer"`
			Cases      [][2]string     `json:"cases"`
		} `json:"normalizers"`
		PreTokenizers []struct {
			PreTokenizer json.RawMessage   `json:"pre_tokenizer"`
			Cases        []json.RawMessage `json:"cases"`
		} `json:"pre_tokenizers"`
		Decoders []struct {
			Decoder json.RawMessage   `json:"decoder"`
			Cases   []json.RawMessage `json:"cases"`
		} `json:"decoders"`
	}
	readGzipJSON(t, "testdata/components.json.gz", &g)
	for _, c := range g.Normalizers {
		n, err := parseNormalizer(c.Normalizer, "normalizer")
		if err != nil {
			t.Fatal(err)
		}
		for _, cs := range c.Cases {
			for _, untracked := range []bool{false, true} {
				x := newNormalized(cs[0], 0, len(cs[0]), untracked)
				n.normalize(&x)
				if x.s != cs[1] {
					t.Errorf("%s on %q (untracked %v): got %q, want %q", c.Normalizer, cs[0], untracked, x.s, cs[1])
				}
				if !untracked && len(x.align) != len(x.s) {
					t.Errorf("%s on %q: %d alignments for %d bytes", c.Normalizer, cs[0], len(x.align), len(x.s))
				}
			}
		}
	}
	for _, c := range g.PreTokenizers {
		p, err := parsePreTokenizer(c.PreTokenizer, "pre_tokenizer")
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range c.Cases {
			var cs struct {
				text string
				want [][2]any
			}
			var pair [2]json.RawMessage
			if err := json.Unmarshal(raw, &pair); err != nil {
				t.Fatal(err)
			}
			json.Unmarshal(pair[0], &cs.text)
			json.Unmarshal(pair[1], &cs.want)
			ps := p.preTokenize([]piece{{n: newNormalized(cs.text, 0, len(cs.text), false)}}, new(scratch))
			var texts, untrackedTexts []string
			for _, q := range ps {
				texts = append(texts, q.n.s)
			}
			if !usesPieceStart(p) {
				for _, q := range p.preTokenize([]piece{{n: newNormalized(cs.text, 0, len(cs.text), true)}}, new(scratch)) {
					untrackedTexts = append(untrackedTexts, q.n.s)
				}
				if !reflect.DeepEqual(texts, untrackedTexts) {
					t.Errorf("%s on %q: untracked pieces %q, tracked %q", c.PreTokenizer, cs.text, untrackedTexts, texts)
				}
			}
			chars := newCharIndex(cs.text)
			got := make([][2]any, 0, len(ps))
			for _, q := range ps {
				o := q.n.original(0, len(q.n.s))
				co := chars.convert([2]int{o.start, o.end})
				got = append(got, [2]any{q.n.s, []any{float64(co[0]), float64(co[1])}})
			}
			if !reflect.DeepEqual(fmt.Sprint(got), fmt.Sprint(cs.want)) {
				t.Errorf("%s on %q:\n got  %v\n want %v", c.PreTokenizer, cs.text, got, cs.want)
			}
		}
	}
	t.Logf("%d normalizers, %d pre-tokenizers, %d decoders", len(g.Normalizers), len(g.PreTokenizers), len(g.Decoders))
	for _, c := range g.Decoders {
		d, err := parseDecoder(c.Decoder, "decoder")
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range c.Cases {
			var pair struct {
				toks []string
				want string
			}
			var p [2]json.RawMessage
			json.Unmarshal(raw, &p)
			json.Unmarshal(p[0], &pair.toks)
			json.Unmarshal(p[1], &pair.want)
			tk := &Tokenizer{dec: d}
			if got := tk.decodeTokens(pair.toks); got != pair.want {
				t.Errorf("%s on %q: got %q, want %q", c.Decoder, pair.toks, got, pair.want)
			}
		}
	}
}
