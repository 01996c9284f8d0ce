package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// maxFileSize bounds a tokenizer file read into memory (the largest real ones,
// bge-m3's and Gemma's, are about 20-35 MB).
const maxFileSize = 256 << 20

// Load reads a tokenizer from a tokenizer.json file, or from a directory that holds
// tokenizer.json (with tokenizer_config.json beside it, when there is one) or the
// legacy files: vocab.txt (BERT's WordPiece) or vocab.json and merges.txt (GPT-2's
// byte-level BPE).
func Load(p string) (*Tokenizer, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if st.IsDir() {
		return LoadFS(os.DirFS(p), ".")
	}
	return LoadFS(os.DirFS(filepath.Dir(p)), filepath.Base(p))
}

// LoadFS is Load on a file system: name is a tokenizer.json file or a directory.
func LoadFS(fsys fs.FS, name string) (*Tokenizer, error) {
	dir, file := name, ""
	if st, err := fs.Stat(fsys, name); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	} else if !st.IsDir() {
		dir, file = path.Dir(name), name
	}
	cfgData, err := readFile(fsys, path.Join(dir, "tokenizer_config.json"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var cfg *configFile
	if cfgData != nil {
		if cfg, err = parseConfigFile(cfgData); err != nil {
			return nil, fmt.Errorf("%s: %w", path.Join(dir, "tokenizer_config.json"), err)
		}
	}
	var t *Tokenizer
	if file == "" {
		if _, err := fs.Stat(fsys, path.Join(dir, "tokenizer.json")); err == nil {
			file = path.Join(dir, "tokenizer.json")
		}
	}
	switch {
	case file != "":
		data, err := readFile(fsys, file)
		if err != nil {
			return nil, err
		}
		if t, err = FromJSON(data); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	default:
		if t, err = loadLegacy(fsys, dir, cfg); err != nil {
			return nil, err
		}
	}
	if cfg != nil {
		if err := cfg.apply(t); err != nil {
			return nil, fmt.Errorf("%s: %w", path.Join(dir, "tokenizer_config.json"), err)
		}
	}
	return t, nil
}

func readFile(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	defer f.Close()
	var b bytes.Buffer
	n, err := b.ReadFrom(limitReader{f, maxFileSize + 1})
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", name, err)
	}
	if n > maxFileSize {
		return nil, fmt.Errorf("%w: %s is larger than %d MiB", ErrFormat, name, maxFileSize>>20)
	}
	return b.Bytes(), nil
}

type limitReader struct {
	r fs.File
	n int64
}

func (l limitReader) Read(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	return l.r.Read(p)
}

// loadLegacy reads vocab.txt, or vocab.json with merges.txt.
func loadLegacy(fsys fs.FS, dir string, cfg *configFile) (*Tokenizer, error) {
	if data, err := readFile(fsys, path.Join(dir, "vocab.txt")); err == nil {
		var tokens []string
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			tokens = append(tokens, strings.TrimRight(sc.Text(), "\r"))
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %w (lines are limited to 1 MiB)", ErrFormat, path.Join(dir, "vocab.txt"), len(tokens)+1, err)
		}
		o := WordPieceOptions{Lowercase: true}
		if cfg != nil {
			if cfg.DoLowerCase != nil {
				o.Lowercase = *cfg.DoLowerCase
			}
			o.StripAccents = cfg.StripAccents
			if cfg.TokenizeChinese != nil {
				o.KeepChinese = !*cfg.TokenizeChinese
			}
		}
		t, err := NewWordPiece(tokens, o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path.Join(dir, "vocab.txt"), err)
		}
		return t, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	vocabData, err := readFile(fsys, path.Join(dir, "vocab.json"))
	if err != nil {
		return nil, fmt.Errorf("%w (want tokenizer.json, vocab.txt, or vocab.json and merges.txt in %s)", err, dir)
	}
	mergesData, err := readFile(fsys, path.Join(dir, "merges.txt"))
	if err != nil {
		return nil, err
	}
	var vocab map[string]int
	if err := json.Unmarshal(vocabData, &vocab); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrFormat, path.Join(dir, "vocab.json"), err)
	}
	merges, err := ParseMerges(mergesData)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path.Join(dir, "merges.txt"), err)
	}
	t, err := NewByteLevelBPE(vocab, merges, ByteLevelOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return t, nil
}

// ParseMerges reads a merges.txt: one "a b" pair a line, after an optional
// "#version" line.
func ParseMerges(data []byte) ([][2]string, error) {
	var merges [][2]string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || (i == 0 && strings.HasPrefix(line, "#version")) {
			continue
		}
		a, b, ok := strings.Cut(line, " ")
		if !ok || b == "" || strings.Contains(b, " ") {
			return nil, fmt.Errorf("%w: line %d %q is not two tokens separated by one space", ErrFormat, i+1, line)
		}
		merges = append(merges, [2]string{a, b})
	}
	return merges, nil
}

// WordPieceOptions configure NewWordPiece as BertTokenizerFast's arguments do.
type WordPieceOptions struct {
	Lowercase    bool  // do_lower_case
	StripAccents *bool // nil: as Lowercase
	KeepChinese  bool  // tokenize_chinese_chars false: no spaces around CJK ideographs
	// MaxWordChars: longer words become [UNK]; 0 means 100.
	MaxWordChars int
}

// NewWordPiece is BERT's tokenizer (BertTokenizerFast) for a vocabulary in id
// order: BertNormalizer, BertPreTokenizer, WordPiece with "##", [CLS] A [SEP]
// (B [SEP]), the special tokens [PAD] [UNK] [CLS] [SEP] [MASK] where present.
func NewWordPiece(tokens []string, o WordPieceOptions) (*Tokenizer, error) {
	ids := make(map[string]int, len(tokens))
	for i, tok := range tokens {
		if _, dup := ids[tok]; !dup {
			ids[tok] = i
		}
	}
	voc, err := newVocab(ids, "WordPiece")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	voc.tokens = append([]string(nil), tokens...)
	maxChars := o.MaxWordChars
	if maxChars <= 0 {
		maxChars = 100
	}
	strip := o.Lowercase
	if o.StripAccents != nil {
		strip = *o.StripAccents
	}
	t := &Tokenizer{
		normalizer: bertNormalizer{cleanText: true, chinese: !o.KeepChinese, stripAccents: strip, lowercase: o.Lowercase},
		pre:        bertPreTokenizer{},
		model:      &wordPiece{vocab: voc, unk: "[UNK]", prefix: "##", maxChars: maxChars},
		dec:        wordPieceDecoder{prefix: "##", cleanup: true},
	}
	for _, s := range []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"} {
		if id, ok := ids[s]; ok {
			t.added = append(t.added, AddedToken{ID: id, Content: s, Special: true})
		}
	}
	cls, okC := ids["[CLS]"]
	sep, okS := ids["[SEP]"]
	if okC && okS {
		t.post = &template{
			single: []templatePiece{{-1, "[CLS]", 0}, {0, "", 0}, {-1, "[SEP]", 0}},
			pair:   []templatePiece{{-1, "[CLS]", 0}, {0, "", 0}, {-1, "[SEP]", 0}, {1, "", 1}, {-1, "[SEP]", 1}},
			specials: map[string]templateSpecial{
				"[CLS]": {[]int{cls}, []string{"[CLS]"}}, "[SEP]": {[]int{sep}, []string{"[SEP]"}},
			},
		}
	}
	t.added = sortedAdded(t.added)
	t.finish()
	return t, nil
}

// ByteLevelOptions configure NewByteLevelBPE.
type ByteLevelOptions struct {
	AddPrefixSpace bool         // a space put before the text, as GPT-2's add_prefix_space
	Pattern        string       // the split expression; "" is GPT-2's
	Special        []AddedToken // added tokens; nil: <|endoftext|> where the vocabulary has it
}

// NewByteLevelBPE is GPT-2's tokenizer (GPT2TokenizerFast) for a vocabulary and its
// merges: ByteLevel pre-tokenizer, BPE, ByteLevel decoder.
func NewByteLevelBPE(vocab map[string]int, merges [][2]string, o ByteLevelOptions) (*Tokenizer, error) {
	voc, err := newVocab(vocab, "BPE")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	m, err := newBPE(voc, merges, "")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	expr := o.Pattern
	if expr == "" {
		expr = gpt2Pattern
	}
	pat, err := compileRegex(expr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	t := &Tokenizer{
		pre:   byteLevel{addPrefixSpace: o.AddPrefixSpace, useRegex: true, trimOffsets: true, pat: pat},
		model: m,
		post:  byteLevelProcessing{trimOffsets: false, addPrefixSpace: o.AddPrefixSpace},
		dec:   byteLevelDecoder{},
		added: append([]AddedToken(nil), o.Special...),
	}
	if o.Special == nil {
		if id, ok := vocab["<|endoftext|>"]; ok {
			t.added = []AddedToken{{ID: id, Content: "<|endoftext|>", Special: true}}
		}
	}
	t.finish()
	return t, nil
}

// configFile is what this package reads of tokenizer_config.json.
type configFile struct {
	AddBOS          *bool                 `json:"add_bos_token"`
	AddEOS          *bool                 `json:"add_eos_token"`
	BOS             configToken           `json:"bos_token"`
	EOS             configToken           `json:"eos_token"`
	PAD             configToken           `json:"pad_token"`
	UNK             configToken           `json:"unk_token"`
	Class           string                `json:"tokenizer_class"`
	ChatTemplate    json.RawMessage       `json:"chat_template"`
	AddedDecoder    map[string]AddedToken `json:"added_tokens_decoder"`
	DoLowerCase     *bool                 `json:"do_lower_case"`
	StripAccents    *bool                 `json:"strip_accents"`
	TokenizeChinese *bool                 `json:"tokenize_chinese_chars"`
	ModelMaxLength  json.Number           `json:"model_max_length"`
}

// configToken is a special token in tokenizer_config.json: a string, or an
// AddedToken object ({"content": ...}).
type configToken struct{ s string }

func (c *configToken) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if err := json.Unmarshal(b, &c.s); err == nil {
		return nil
	}
	var a AddedToken
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("special token %s is neither a string nor {\"content\": ...}", b)
	}
	c.s = a.Content
	return nil
}

func parseConfigFile(data []byte) (*configFile, error) {
	var c configFile
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return &c, nil
}

// apply adds what the configuration says to t: its added tokens, the special
// tokens by role, the chat template, and (as transformers' LlamaTokenizerFast
// does) a post-processor built from add_bos_token and add_eos_token.
func (c *configFile) apply(t *Tokenizer) error {
	if len(c.AddedDecoder) > 0 {
		have := make(map[int]bool, len(t.added))
		for _, a := range t.added {
			have[a.ID] = true
		}
		keys := make([]int, 0, len(c.AddedDecoder))
		for k, a := range c.AddedDecoder {
			id, err := strconv.Atoi(k)
			if err != nil || id < 0 {
				return fmt.Errorf("%w: added_tokens_decoder key %q is not a token id", ErrFormat, k)
			}
			if a.Content == "" {
				return fmt.Errorf("%w: added_tokens_decoder[%s] has no content", ErrFormat, k)
			}
			if !have[id] {
				keys = append(keys, id)
			}
		}
		sort.Ints(keys)
		for _, id := range keys {
			a := c.AddedDecoder[strconv.Itoa(id)]
			a.ID = id
			t.added = append(t.added, a)
		}
		if len(keys) > 0 {
			t.finish()
		}
	}
	t.Config.BOS, t.Config.EOS, t.Config.PAD, t.Config.UNK = c.BOS.s, c.EOS.s, c.PAD.s, c.UNK.s
	if n, err := c.ModelMaxLength.Int64(); err == nil && n > 0 && n < 1<<40 {
		t.Config.ModelMaxLength = int(n)
	}
	if !isNull(c.ChatTemplate) {
		var s string
		if err := json.Unmarshal(c.ChatTemplate, &s); err != nil {
			var named []struct {
				Name     string `json:"name"`
				Template string `json:"template"`
			}
			if err := json.Unmarshal(c.ChatTemplate, &named); err != nil {
				return fmt.Errorf("%w: chat_template is neither a string nor a list of {name, template}", ErrFormat)
			}
			for _, n := range named {
				if n.Name == "default" {
					s = n.Template
				}
			}
		}
		t.Config.ChatTemplate = s
	}
	llama := strings.HasPrefix(c.Class, "LlamaTokenizer") || strings.HasPrefix(c.Class, "CodeLlamaTokenizer") ||
		strings.HasPrefix(c.Class, "GemmaTokenizer")
	t.Config.AddBOS = llama // LlamaTokenizerFast's default
	if c.AddBOS != nil {
		t.Config.AddBOS = *c.AddBOS
	}
	if c.AddEOS != nil {
		t.Config.AddEOS = *c.AddEOS
	}
	if llama {
		return t.setBOSEOSProcessor()
	}
	return nil
}

// setBOSEOSProcessor replaces the post-processor with BOS A EOS (each where
// Config asks for it), as LlamaTokenizerFast.update_post_processor does.
func (t *Tokenizer) setBOSEOSProcessor() error {
	tp := &template{specials: map[string]templateSpecial{}}
	add := func(tok string, typ int, pair *[]templatePiece) error {
		id, ok := t.TokenToID(tok)
		if !ok {
			return fmt.Errorf("%w: special token %q is not in the vocabulary", ErrFormat, tok)
		}
		tp.specials[tok] = templateSpecial{[]int{id}, []string{tok}}
		*pair = append(*pair, templatePiece{-1, tok, typ})
		return nil
	}
	for seq, out := range []*[]templatePiece{&tp.single, &tp.pair} {
		for s := 0; s <= seq; s++ {
			if t.Config.AddBOS && t.Config.BOS != "" {
				if err := add(t.Config.BOS, s, out); err != nil {
					return err
				}
			}
			*out = append(*out, templatePiece{s, "", s})
			if t.Config.AddEOS && t.Config.EOS != "" {
				if err := add(t.Config.EOS, s, out); err != nil {
					return err
				}
			}
		}
	}
	t.post = tp
	return nil
}

// ByteLevelChar is the printable character GPT-2's byte-level alphabet writes
// byte b as (the vocabulary of a byte-level BPE has a token for each).
func ByteLevelChar(b byte) string { return string(byteChars[b]) }
