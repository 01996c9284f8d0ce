package tokenizer

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The goldens in testdata/ come from Python tokenizers 0.20.3
// (tools/tokenizers/make_goldens.py); every field must match exactly.

type goldenEnc struct {
	IDs               []int       `json:"ids"`
	Tokens            []string    `json:"tokens"`
	Offsets           [][2]int    `json:"offsets"`
	TypeIDs           []int       `json:"type_ids"`
	SpecialTokensMask []int       `json:"special_tokens_mask"`
	AttentionMask     []int       `json:"attention_mask"`
	WordIDs           []int       `json:"word_ids"`
	SequenceIDs       []int       `json:"sequence_ids"`
	NOverflowing      int         `json:"n_overflowing"`
	Overflowing       []goldenEnc `json:"overflowing"`
}

type goldenFile struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	Single []struct {
		Text       string    `json:"text"`
		Special    goldenEnc `json:"special"`
		Plain      goldenEnc `json:"plain"`
		Decode     string    `json:"decode"`
		DecodeSkip string    `json:"decode_skip"`
	} `json:"single"`
	Pair []struct {
		A, B    string
		Special goldenEnc `json:"special"`
		Plain   goldenEnc `json:"plain"`
	} `json:"pair"`
	Settings []struct {
		Truncation map[string]any `json:"truncation"`
		Padding    map[string]any `json:"padding"`
		Single     []struct {
			Text    string    `json:"text"`
			Special goldenEnc `json:"special"`
			Error   string    `json:"error"`
		} `json:"single"`
		Pair []struct {
			A, B    string
			Special goldenEnc `json:"special"`
			Error   string    `json:"error"`
		} `json:"pair"`
		Batch struct {
			Texts     []string    `json:"texts"`
			Encodings []goldenEnc `json:"encodings"`
			Error     string      `json:"error"`
		} `json:"batch"`
	} `json:"settings"`
	Big struct {
		Seed          int64  `json:"seed"`
		Bytes         int    `json:"bytes"`
		N             int    `json:"n"`
		IDsSHA256     string `json:"ids_sha256"`
		OffsetsSHA256 string `json:"offsets_sha256"`
		Head          []int  `json:"head"`
	} `json:"big"`
}

func readGzipJSON(t testing.TB, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(z).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

const sharedDir = "../../shared"

// loadGolden returns the tokenizer a golden directory was made from.
func loadGolden(t testing.TB, dir string, g *goldenFile) *Tokenizer {
	t.Helper()
	var tk *Tokenizer
	var err error
	if g.Path != "" {
		p := filepath.Join(sharedDir, g.Path)
		if _, err := os.Stat(p); err != nil {
			t.Skipf("shared tokenizer %s not present", p)
		}
		if tk, err = Load(p); err != nil {
			t.Fatal(err)
		}
		if tk, err = tk.WithTruncation(nil); err != nil {
			t.Fatal(err)
		}
		return tk.WithPadding(nil)
	}
	if tk, err = Load(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	return tk
}

// diffEnc describes how e differs from want ("" when it does not); only the
// fields the golden has are compared.
func diffEnc(e *Encoding, want *goldenEnc) string {
	var d []string
	cmp := func(name string, got, want any) {
		if reflect.ValueOf(want).IsNil() {
			return // not in this golden
		}
		if reflect.ValueOf(got).Len() == 0 && reflect.ValueOf(want).Len() == 0 {
			return
		}
		if !reflect.DeepEqual(got, want) {
			g, w := reflect.ValueOf(got), reflect.ValueOf(want)
			i := 0
			for i < g.Len() && i < w.Len() && reflect.DeepEqual(g.Index(i).Interface(), w.Index(i).Interface()) {
				i++
			}
			lo := max(i-3, 0)
			d = append(d, fmt.Sprintf("%s (len %d, want %d; from index %d):\n  got  %v\n  want %v", name, g.Len(), w.Len(), lo,
				g.Slice(lo, min(g.Len(), i+6)), w.Slice(lo, min(w.Len(), i+6))))
		}
	}
	cmp("ids", e.IDs, want.IDs)
	cmp("tokens", e.Tokens, want.Tokens)
	cmp("offsets", e.CharOffsets, want.Offsets)
	cmp("type_ids", e.TypeIDs, want.TypeIDs)
	cmp("special_tokens_mask", e.SpecialTokensMask, want.SpecialTokensMask)
	cmp("attention_mask", e.AttentionMask, want.AttentionMask)
	cmp("word_ids", e.WordIDs, want.WordIDs)
	cmp("sequence_ids", e.SequenceIDs, want.SequenceIDs)
	if len(e.Overflowing) != want.NOverflowing {
		d = append(d, fmt.Sprintf("overflowing: got %d windows, want %d", len(e.Overflowing), want.NOverflowing))
	} else {
		for i := range want.Overflowing {
			if s := diffEnc(&e.Overflowing[i], &want.Overflowing[i]); s != "" {
				d = append(d, fmt.Sprintf("overflowing[%d]: %s", i, s))
				break
			}
		}
	}
	return strings.Join(d, "\n")
}

func TestGoldens(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/golden.json.gz")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no goldens: %v", err)
	}
	for _, gz := range dirs {
		dir := filepath.Dir(gz)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var g goldenFile
			readGzipJSON(t, gz, &g)
			tk := loadGolden(t, dir, &g)
			fails := 0
			report := func(what, text string, diff string) {
				fails++
				if fails <= 6 {
					t.Errorf("%s %q:\n%s", what, text, diff)
				}
			}
			for _, c := range g.Single {
				e, err := tk.Encode(c.Text, true)
				if err != nil {
					report("encode", c.Text, err.Error())
					continue
				}
				if d := diffEnc(&e, &c.Special); d != "" {
					report("encode", c.Text, d)
				}
				p, err := tk.Encode(c.Text, false)
				if err != nil {
					report("encode (no special)", c.Text, err.Error())
				} else if d := diffEnc(&p, &c.Plain); d != "" {
					report("encode (no special)", c.Text, d)
				}
				for _, special := range []bool{true, false} {
					want := c.Plain.IDs
					if special {
						want = c.Special.IDs
					}
					if ids, err := tk.EncodeIDs(c.Text, special); err != nil || !slices.Equal(ids, want) {
						report(fmt.Sprintf("EncodeIDs special=%v", special), c.Text, fmt.Sprintf("got %v (%v)\nwant %v", ids, err, want))
					}
				}
				for _, skip := range []bool{false, true} {
					want := c.Decode
					if skip {
						want = c.DecodeSkip
					}
					got, err := tk.Decode(c.Special.IDs, skip)
					if err != nil || got != want {
						report(fmt.Sprintf("decode skip=%v", skip), c.Text, fmt.Sprintf("got %q (%v)\nwant %q", got, err, want))
					}
				}
			}
			for _, c := range g.Pair {
				e, err := tk.EncodePair(c.A, c.B, true)
				if err != nil {
					report("pair", c.A+" | "+c.B, err.Error())
					continue
				}
				if d := diffEnc(&e, &c.Special); d != "" {
					report("pair", c.A+" | "+c.B, d)
				}
				p, _ := tk.EncodePair(c.A, c.B, false)
				if d := diffEnc(&p, &c.Plain); d != "" {
					report("pair (no special)", c.A+" | "+c.B, d)
				}
			}
			for _, s := range g.Settings {
				tks, err := withSettings(tk, s.Truncation, s.Padding)
				if err != nil {
					t.Fatal(err)
				}
				name := fmt.Sprintf("truncation %v padding %v:", s.Truncation, s.Padding)
				for _, c := range s.Single {
					e, err := tks.Encode(c.Text, true)
					switch {
					case c.Error != "" && err == nil:
						report(name+" want error "+c.Error, c.Text, "got none")
					case c.Error == "" && err != nil:
						report(name, c.Text, err.Error())
					case err == nil:
						if d := diffEnc(&e, &c.Special); d != "" {
							report(name, c.Text, d)
						}
					}
				}
				for _, c := range s.Pair {
					e, err := tks.EncodePair(c.A, c.B, true)
					switch {
					case c.Error != "" && err == nil:
						report(name+" want error "+c.Error, c.A+" | "+c.B, "got none")
					case c.Error == "" && err != nil:
						report(name, c.A+" | "+c.B, err.Error())
					case err == nil:
						if d := diffEnc(&e, &c.Special); d != "" {
							report(name, c.A+" | "+c.B, d)
						}
					}
				}
				encs, err := tks.EncodeBatch(context.Background(), s.Batch.Texts, true)
				switch {
				case (s.Batch.Error != "") != (err != nil):
					report(name+" batch", "", fmt.Sprintf("error %v, want %q", err, s.Batch.Error))
				case err == nil:
					for i := range encs {
						if d := diffEnc(&encs[i], &s.Batch.Encodings[i]); d != "" {
							report(name+" batch", s.Batch.Texts[i], d)
						}
					}
				}
			}
			if g.Big.Bytes > 0 {
				text := bigText(t)
				if len(text) != g.Big.Bytes {
					t.Fatalf("1 MB text is %d bytes, want %d", len(text), g.Big.Bytes)
				}
				e, err := tk.Encode(text, true)
				if err != nil {
					t.Fatal(err)
				}
				if ids, err := tk.EncodeIDs(text, true); err != nil || idsHash(ids) != g.Big.IDsSHA256 {
					report("1 MB text EncodeIDs", "", fmt.Sprintf("%d ids (%v), want %d", len(ids), err, g.Big.N))
				}
				var offs []int
				for _, o := range e.CharOffsets {
					offs = append(offs, o[0], o[1])
				}
				if e.Len() != g.Big.N || idsHash(e.IDs) != g.Big.IDsSHA256 || idsHash(offs) != g.Big.OffsetsSHA256 {
					n := min(len(g.Big.Head), e.Len())
					report("1 MB text", "", fmt.Sprintf("%d tokens (want %d), ids or offsets differ; head %v\nwant %v", e.Len(), g.Big.N, e.IDs[:n], g.Big.Head))
				}
			}
			if fails > 6 {
				t.Errorf("... %d failures in all", fails)
			}
		})
	}
}

func idsHash(ids []int) string {
	var b []byte
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// withSettings applies Python's enable_truncation and enable_padding arguments.
func withSettings(tk *Tokenizer, tr, pad map[string]any) (*Tokenizer, error) {
	num := func(m map[string]any, k string, def int) int {
		if v, ok := m[k].(float64); ok {
			return int(v)
		}
		return def
	}
	str := func(m map[string]any, k, def string) string {
		if v, ok := m[k].(string); ok {
			return v
		}
		return def
	}
	camel := map[string]string{"longest_first": "LongestFirst", "only_first": "OnlyFirst", "only_second": "OnlySecond",
		"left": "Left", "right": "Right"}
	var err error
	if tk, err = tk.WithTruncation(nil); err != nil {
		return nil, err
	}
	tk = tk.WithPadding(nil)
	if tr != nil {
		tk, err = tk.WithTruncation(&Truncation{MaxLength: num(tr, "max_length", 0), Stride: num(tr, "stride", 0),
			Strategy: camel[str(tr, "strategy", "longest_first")], Direction: camel[str(tr, "direction", "right")]})
		if err != nil {
			return nil, err
		}
	}
	if pad != nil {
		tk = tk.WithPadding(&Padding{Length: num(pad, "length", 0), Direction: camel[str(pad, "direction", "right")],
			PadToMultipleOf: num(pad, "pad_to_multiple_of", 0), PadID: num(pad, "pad_id", 0),
			PadTypeID: num(pad, "pad_type_id", 0), PadToken: str(pad, "pad_token", "[PAD]")})
	}
	return tk, nil
}

// bigText is the generator's 1 MB text (random corpus lines and separators),
// stored by it in testdata/big.json.gz.
func bigText(t testing.TB) string {
	t.Helper()
	var s struct {
		Text string `json:"text"`
	}
	readGzipJSON(t, "testdata/big.json.gz", &s)
	return s.Text
}
