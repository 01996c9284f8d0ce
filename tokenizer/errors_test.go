package tokenizer

import (
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLoadErrorsNameTheComponent(t *testing.T) {
	base := `{"model": {"type": "WordLevel", "vocab": {"a": 0, "<unk>": 1}, "unk_token": "<unk>"}`
	for _, c := range []struct{ json, want string }{
		{base + `, "pre_tokenizer": {"type": "Foo"}}`, `pre_tokenizer type "Foo" is not supported`},
		{base + `, "normalizer": {"type": "Sequence", "normalizers": [{"type": "Bar"}]}}`, `normalizer Sequence[0] type "Bar" is not supported`},
		{base + `, "decoder": {"type": "Baz"}}`, `decoder type "Baz" is not supported`},
		{base + `, "post_processor": {"type": "Qux"}}`, `post_processor type "Qux" is not supported`},
		{`{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "dropout": 0.1}}`, `dropout 0.1 is not supported`},
		{`{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}`, `"b" is not in the vocabulary`},
		{`{"model": {"type": "Unigram", "vocab": [["a", -1]], "unk_id": 5}}`, `unk_id 5 is outside`},
		{`{"model": {"type": "Nope"}}`, `model type "Nope" is not supported`},
		{`{"model": null}`, `model is missing`},
		{`{"model": {"type": "WordPiece", "vocab": {"a": -3}}}`, `has id -3`},
		{base + `, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}}`, `regex "(unclosed"`},
		{base + `, "pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "Sideways"}}`, `behavior "Sideways"`},
		{base + `, "pre_tokenizer": {"type": "Metaspace", "replacement": "ab"}}`, `replacement "ab" is not one character`},
		{`{"added_tokens": [{"id": 0, "content": ""}], ` + base[1:] + `}`, `has no content`},
		{`not json`, `bad tokenizer file`},
	} {
		_, err := FromJSON([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrFormat) {
			t.Errorf("%s:\n got %v\n want an ErrFormat containing %q", c.json, err, c.want)
		}
	}
}

// Invalid UTF-8 reads as U+FFFD, one per bad byte, each spanning its byte, in
// every pipeline; nothing panics and decoding gives valid UTF-8.
func TestInvalidUTF8(t *testing.T) {
	text := "ab\xffc\xe2\x82 d\xf0\x9f\x98"
	dirs, _ := os.ReadDir("testdata")
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		tk, err := Load("testdata/" + d.Name() + "/tokenizer.json")
		if err != nil {
			continue // the shipped ones live in ../shared
		}
		e, err := tk.Encode(text, true)
		if err != nil {
			t.Errorf("%s: %v", d.Name(), err)
			continue
		}
		for i, o := range e.Offsets {
			if o[0] < 0 || o[1] > len(text) || o[0] > o[1] {
				t.Errorf("%s: token %d offset %v outside the %d-byte text", d.Name(), i, o, len(text))
			}
		}
		// The same as encoding the text with each bad byte replaced by U+FFFD,
		// ids and tokens alike.
		fixed := "ab\uFFFDc\uFFFD\uFFFD d\uFFFD\uFFFD\uFFFD"
		f, _ := tk.Encode(fixed, true)
		if strings.Join(f.Tokens, "|") != strings.Join(e.Tokens, "|") {
			t.Errorf("%s: tokens %q, want those of U+FFFD text %q", d.Name(), e.Tokens, f.Tokens)
		}
		s, err := tk.Decode(e.IDs, false)
		if err != nil || !utf8.ValidString(s) {
			t.Errorf("%s: decode %q, %v", d.Name(), s, err)
		}
	}
}

func TestDecodeUnknownID(t *testing.T) {
	tk, err := Load("testdata/wordpiece-bert/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int{-1, tk.VocabSize(), 1 << 40} {
		if _, err := tk.Decode([]int{5, id}, false); !errors.Is(err, ErrUnknownID) {
			t.Errorf("Decode id %d: %v, want ErrUnknownID", id, err)
		}
	}
}

func FuzzFromJSON(f *testing.F) {
	for _, name := range []string{"wordpiece-bert", "bpe-llama3", "sp-llama", "unigram-metaspace-first", "wordpiece-split2"} {
		b, err := os.ReadFile("testdata/" + name + "/tokenizer.json")
		if err != nil {
			f.Fatal(err)
		}
		if len(b) < 200_000 {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[["a","b"]]},"pre_tokenizer":{"type":"Split","pattern":{"Regex":"\\s+"},"behavior":"Removed","invert":true}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tk, err := FromJSON(data)
		if err != nil {
			return
		}
		for _, s := range []string{"Hello, wörld! 日本語 <s> [CLS]", "", "\xff\xfe  x"} {
			e, err := tk.Encode(s, true)
			if err != nil {
				continue
			}
			tk.Decode(e.IDs, true)
		}
	})
}

func FuzzEncode(f *testing.F) {
	tks := map[string]*Tokenizer{}
	for _, name := range []string{"wordpiece-bert", "bpe-llama3", "sp-xlmr", "sp-llama", "bpe-roberta"} {
		tk, err := Load("testdata/" + name + "/tokenizer.json")
		if err != nil {
			f.Fatal(err)
		}
		tks[name] = tk
	}
	f.Add("Hello, world! ﬁ Ａ 👨‍👩‍👧 e\u0301 <mask> </s>", "pair")
	f.Add("\xff\xe2\x82", "")
	f.Fuzz(func(t *testing.T, a, b string) {
		for name, tk := range tks {
			e, err := tk.EncodePair(a, b, true)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for i, o := range e.Offsets {
				if o[0] < 0 || o[0] > o[1] || (e.SequenceIDs[i] == 0 && o[1] > len(a)) || (e.SequenceIDs[i] == 1 && o[1] > len(b)) {
					t.Fatalf("%s: token %d %q offset %v outside its text", name, i, e.Tokens[i], o)
				}
			}
			if _, err := tk.Decode(e.IDs, false); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	})
}

func TestNestedSequences(t *testing.T) {
	js := `{"model": {"type": "WordLevel", "vocab": {"a": 0, "<unk>": 1}, "unk_token": "<unk>"},
	"normalizer": {"type": "Sequence", "normalizers": [{"type": "Sequence", "normalizers": [{"type": "Lowercase"}]}, null, {"type": "Precompiled", "precompiled_charsmap": ""}]},
	"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}]}]},
	"decoder": {"type": "Sequence", "decoders": [{"type": "Sequence", "decoders": [{"type": "Fuse"}]}]}}`
	tk, err := FromJSON([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	e, err := tk.Encode("A b", false)
	if err != nil || strings.Join(e.Tokens, " ") != "a <unk>" {
		t.Fatalf("%v %v", e.Tokens, err)
	}
}
