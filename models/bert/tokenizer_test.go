package bert

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/internal/shared"
)

func TestTokenizerGoldens(t *testing.T) {
	tok, err := LoadTokenizer(shared.Path(t, "tokenizers", "bert-base-uncased"))
	require.NoError(t, err)
	raw, err := os.ReadFile(shared.Path(t, "fixtures", "tokenizers", "bert-base-uncased.json"))
	require.NoError(t, err)
	var g struct {
		Cases []struct {
			Text        string   `json:"text"`
			TextPair    *string  `json:"text_pair"`
			IDs         []int    `json:"ids"`
			TypeIDs     []int    `json:"type_ids"`
			ByteOffsets [][2]int `json:"byte_offsets"`
		} `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(raw, &g))
	var pairs struct {
		Pairs json.RawMessage `json:"pairs"`
	}
	require.NoError(t, json.Unmarshal(raw, &pairs))
	var extra []struct {
		Text        string   `json:"text"`
		TextPair    *string  `json:"text_pair"`
		IDs         []int    `json:"ids"`
		TypeIDs     []int    `json:"type_ids"`
		ByteOffsets [][2]int `json:"byte_offsets"`
	}
	require.NoError(t, json.Unmarshal(pairs.Pairs, &extra))
	require.Len(t, g.Cases, 225)
	require.Len(t, extra, 8)
	bad := 0
	for _, c := range append(g.Cases, extra...) {
		e, err := tok.Encode(c.Text, 0)
		if c.TextPair != nil {
			e, err = tok.EncodePair(c.Text, *c.TextPair, 0)
		}
		require.NoError(t, err)
		if !slices.Equal(e.IDs, c.IDs) || !slices.Equal(e.TypeIDs, c.TypeIDs) || !slices.Equal(e.Offsets, c.ByteOffsets) {
			bad++
			t.Errorf("%q / %v:\n got  %v %v\n want %v %v", c.Text, c.TextPair, e.IDs, e.Offsets, c.IDs, c.ByteOffsets)
		}
	}
	require.Zero(t, bad)
}

func TestTruncationAndPadding(t *testing.T) {
	tok, err := LoadTokenizerFS(assets.BERTUncasedVocab())
	require.NoError(t, err)
	e, err := tok.EncodePair("one two three four five six", "seven eight", 8)
	require.NoError(t, err)
	// Longest first: the first text loses tokens until it is no longer longer.
	require.Equal(t, []string{"[CLS]", "one", "two", "three", "[SEP]", "seven", "eight", "[SEP]"}, tokens(tok, e.IDs))
	require.Equal(t, []int{0, 0, 0, 0, 0, 1, 1, 1}, e.TypeIDs)
	_, err = tok.EncodePair("a", "b", 2)
	require.ErrorIs(t, err, ErrTokenizer)
	short, _ := tok.Encode("hi", 0)
	long, _ := tok.Encode("hello there my friend", 0)
	batch := []Encoding{short, long}
	require.Equal(t, len(long.IDs), tok.Pad(batch))
	require.Equal(t, []int{1, 1, 1, 0, 0, 0}, batch[0].Mask)
	require.Equal(t, tok.PAD, batch[0].IDs[5])
}

func tokens(tok *Tokenizer, ids []int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = tok.Token(id)
	}
	return out
}

func FuzzWordPiece(f *testing.F) {
	tok, err := LoadTokenizer(shared.Path(f, "tokenizers", "bert-base-uncased"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"Hello, World!", "Crème brûlée [MASK] 東京", "\x00\xff control\u200b", "İstanbul", "a\u0379b"} {
		f.Add(s, "pair text")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		e, err := tok.EncodePair(a, b, 64)
		if err != nil {
			t.Fatal(err)
		}
		if len(e.IDs) > 64 || e.IDs[0] != tok.CLS || e.IDs[len(e.IDs)-1] != tok.SEP {
			t.Fatalf("bad encoding %v", e.IDs)
		}
		for i, off := range e.Offsets {
			src := a
			if e.SequenceIDs[i] == 1 {
				src = b
			}
			if off[0] < 0 || off[1] > len(src) || off[0] > off[1] {
				t.Fatalf("offset %v out of %q", off, src)
			}
			if e.IDs[i] < 0 || e.IDs[i] >= tok.VocabSize() {
				t.Fatalf("id %d", e.IDs[i])
			}
		}
	})
}

func TestTokenizerJSONOnly(t *testing.T) {
	src := shared.Path(t, "tokenizers", "bert-base-uncased")
	dir := t.TempDir()
	raw, err := os.ReadFile(src + "/tokenizer.json")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dir+"/tokenizer.json", raw, 0o644))
	a, err := LoadTokenizer(dir) // tokenizer.json alone: casing from its normalizer
	require.NoError(t, err)
	b, err := LoadTokenizer(src)
	require.NoError(t, err)
	for _, text := range []string{"Crème Brûlée at the CAFÉ, 東京!", "Hello [MASK] world", "unaffable"} {
		ea, _ := a.Encode(text, 0)
		eb, _ := b.Encode(text, 0)
		require.Equal(t, eb.IDs, ea.IDs, text)
		require.Equal(t, eb.Offsets, ea.Offsets, text)
	}
	_, err = LoadTokenizer(t.TempDir())
	require.ErrorIs(t, err, ErrTokenizer)
}

// TestManySpecialTokensIsLinear: 900 KB of "[CLS]" (once 42 s of CPU in the special
// token search) tokenizes to one [CLS] per occurrence, quickly.
func TestManySpecialTokensIsLinear(t *testing.T) {
	tok, err := LoadTokenizerFS(assets.BERTUncasedVocab())
	require.NoError(t, err)
	pieces, err := tok.Tokenize(strings.Repeat("[CLS]", 180_000) + " done")
	require.NoError(t, err)
	require.Len(t, pieces, 180_001)
	require.Equal(t, tok.CLS, pieces[179_999].ID)
	require.Equal(t, [2]int{899_995, 900_000}, [2]int{pieces[179_999].Start, pieces[179_999].End})
	mixed, err := tok.Tokenize("a [SEP] b [MASK] c [SEP]")
	require.NoError(t, err)
	var ids []int
	for _, p := range mixed {
		ids = append(ids, p.ID)
	}
	require.Equal(t, []int{1037, tok.SEP, 1038, tok.MASK, 1039, tok.SEP}, ids)
}

func TestVocabLineTooLong(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte("[PAD]\n"+strings.Repeat("x", 2<<20)+"\n"), 0o644))
	_, err := LoadTokenizer(dir)
	require.ErrorIs(t, err, ErrTokenizer)
	require.ErrorContains(t, err, "vocab.txt:2: bufio.Scanner: token too long")
}
