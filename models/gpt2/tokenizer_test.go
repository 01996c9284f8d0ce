package gpt2

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/internal/shared"
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
		if want := strings.ToValidUTF8(s, "\uFFFD"); dec != want {
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
