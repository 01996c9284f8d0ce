package gpt2

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/tokenizer"
)

type tokCase struct {
	Text        string   `json:"text"`
	IDs         []int    `json:"ids"`
	Tokens      []string `json:"tokens"`
	ByteOffsets [][2]int `json:"byte_offsets"`
	Decoded     string   `json:"decoded"`
}

func loadTok(t testing.TB) *Tokenizer {
	tok, err := LoadTokenizerFS(assets.GPT2Tokenizer())
	require.NoError(t, err)
	return tok
}

func TestTokenizerGoldens(t *testing.T) {
	tok := loadTok(t)
	raw, err := os.ReadFile(shared.Path(t, "fixtures", "tokenizers", "gpt2.json"))
	require.NoError(t, err)
	var g struct {
		Cases []tokCase `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(raw, &g))
	require.Len(t, g.Cases, 225)
	bad := 0
	for _, c := range g.Cases {
		got := tok.EncodeWithOffsets(c.Text)
		ids := make([]int, len(got))
		offs := make([][2]int, len(got))
		for i, tk := range got {
			ids[i], offs[i] = tk.ID, [2]int{tk.Start, tk.End}
		}
		if !assertEqualIDs(t, c, ids, offs) {
			bad++
			continue
		}
		dec, err := tok.Decode(c.IDs)
		require.NoError(t, err)
		require.Equal(t, c.Decoded, dec, "decode %q", c.Text)
	}
	require.Zero(t, bad, "strings whose ids or offsets differ from HF")
}

func assertEqualIDs(t *testing.T, c tokCase, ids []int, offs [][2]int) bool {
	t.Helper()
	if len(c.IDs) == 0 && len(ids) == 0 {
		return true
	}
	if !slices.Equal(c.IDs, ids) {
		t.Errorf("Encode(%q) = %v, want %v", c.Text, ids, c.IDs)
		return false
	}
	for i := range offs {
		if offs[i] != c.ByteOffsets[i] {
			t.Errorf("Encode(%q) offsets %v, want %v", c.Text, offs, c.ByteOffsets)
			return false
		}
	}
	return true
}

func TestStreamDecoder(t *testing.T) {
	tok := loadTok(t)
	text := "Çа va? 日本語のテキスト 🚀 emojis & tabs\there " + EndOfText + " 👨‍👩‍👧"
	ids := tok.Encode(text)
	d := tok.NewStreamDecoder()
	var sb strings.Builder
	for _, id := range ids {
		piece, err := d.Next(id)
		require.NoError(t, err)
		require.True(t, utf8.ValidString(piece), "piece %q is broken UTF-8", piece)
		require.NotContains(t, piece, "\uFFFD")
		sb.WriteString(piece)
	}
	sb.WriteString(d.Flush())
	require.Equal(t, text, sb.String())
	_, err := d.Next(tok.VocabSize())
	require.ErrorIs(t, err, ErrToken)
	_, err = tok.Decode([]int{-1})
	require.ErrorIs(t, err, ErrToken)
}

func FuzzTokenizerRoundTrip(f *testing.F) {
	tok := loadTok(f)
	for _, s := range []string{"Hello, world!", "  spaces\t\ttabs\n", "日本語", "\xff\xfe bytes", "it's you'll", EndOfText + "x", "🚀🚀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		dec, err := tok.Decode(ids)
		if err != nil {
			t.Fatal(err)
		}
		if want := perByteReplacement(s); dec != want {
			t.Fatalf("round trip of %q gave %q", s, dec)
		}
		prev := 0
		for _, tk := range tok.EncodeWithOffsets(s) {
			if tk.Start < 0 || tk.End > len(s) || tk.Start > tk.End || tk.End < prev {
				t.Fatalf("bad span %+v in %q", tk, s)
			}
			prev = tk.Start
		}
	})
}

// TestLongWordIsNotQuadratic: one 300,000-letter word (a single pre-token) encodes
// and decodes back; the merge loop is O(n log n), so this takes well under a second
// (the former O(n²) loop took minutes at this size).
func TestLongWordIsNotQuadratic(t *testing.T) {
	tok := loadTok(t)
	word := strings.Repeat("abcdefghij", 30_000)
	ids := tok.Encode(word)
	require.NotEmpty(t, ids)
	back, err := tok.Decode(ids)
	require.NoError(t, err)
	require.Equal(t, word, back)
}

func TestVocabularyChecks(t *testing.T) {
	good := map[string]int{}
	for id := 0; id < 256; id++ { // the 256 byte tokens
		good[tokenizer.ByteLevelChar(byte(id))] = id
	}
	good[EndOfText] = 256
	_, err := NewTokenizer(good, nil)
	require.NoError(t, err)

	huge := maps.Clone(good)
	huge[EndOfText] = 1 << 40 // once an out-of-memory crash
	_, err = NewTokenizer(huge, nil)
	require.ErrorContains(t, err, "must have ids 0..256")
	gap := maps.Clone(good)
	gap[EndOfText] = 300 // ids 257..299 would have no token
	_, err = NewTokenizer(gap, nil)
	require.ErrorContains(t, err, "must have ids 0..256")
	noByte := maps.Clone(good)
	delete(noByte, tokenizer.ByteLevelChar('a'))
	noByte["zz"] = 'a'
	_, err = NewTokenizer(noByte, nil)
	require.ErrorContains(t, err, "no token for byte 0x61")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "vocab.json"), []byte(`{"a":0}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "merges.txt"), []byte("#version: 0.2\na b\n"+strings.Repeat("x", 2<<20)+"\n"), 0o644))
	_, err = LoadTokenizer(dir)
	require.ErrorContains(t, err, "merges.txt: tokenizer: bad tokenizer file: line 3")
}

// perByteReplacement is s with every byte that is not UTF-8 read as U+FFFD, as
// package tokenizer reads input.
func perByteReplacement(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+w])
		}
		i += w
	}
	return b.String()
}
