package llama

import (
	"encoding/json"
	"fmt"

	"github.com/lumen-ml/lumen/loader/gguf"
	"github.com/lumen-ml/lumen/tokenizer"
)

// GGUF token types (llama.cpp's llama_token_type) that become added tokens.
const (
	tokenControl     = 3
	tokenUserDefined = 4
)

// preTokenizers are the tokenizer.json pre_tokenizers equivalent to llama.cpp's
// byte-level pre-tokenizer types (tokenizer.ggml.pre), as the models' own
// tokenizer.json files have them.
var preTokenizers = map[string]string{
	// GPT-2's regex, inside ByteLevel.
	"default": `{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}`,
	"gpt2":    `{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}`,
	// SmolLM: every digit alone, then GPT-2's regex.
	"smollm": `{"type":"Sequence","pretokenizers":[{"type":"Digits","individual_digits":true},` +
		`{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}]}`,
	// Llama 3: its own regex (numbers in threes), then bytes.
	"llama-bpe": llama3Pre,
	"llama3":    llama3Pre,
	// Qwen 2: Llama 3's regex with single digits.
	"qwen2": `{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":` +
		`"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},` +
		`"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false}]}`,
}

const llama3Pre = `{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":` +
	`"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},` +
	`"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]}`

// ggufTokenizer builds the tokenizer a GGUF file describes (tokenizer.ggml.*) as
// the tokenizer.json it was converted from, and runs it on the tokenizer
// package's engine: a byte-level BPE ("gpt2") with the pre-tokenizer named by
// tokenizer.ggml.pre; control and user-defined tokens become added tokens
// (control ones special). SentencePiece vocabularies ("llama") are refused.
func ggufTokenizer(f *gguf.File) (*tokenizer.Tokenizer, error) {
	str := func(key string) string {
		v, _ := f.Metadata(key)
		s, _ := v.Str()
		return s
	}
	fail := func(format string, args ...any) (*tokenizer.Tokenizer, error) {
		return nil, fmt.Errorf("%w: %s: %s", ErrFormat, f.Name(), fmt.Sprintf(format, args...))
	}
	if model := str("tokenizer.ggml.model"); model != "gpt2" {
		return fail("tokenizer.ggml.model %q is not supported (gpt2, byte-level BPE, is)", model)
	}
	pre := str("tokenizer.ggml.pre")
	if pre == "" {
		pre = "default"
	}
	preJSON, ok := preTokenizers[pre]
	if !ok {
		return fail("tokenizer.ggml.pre %q is not supported (default, gpt2, smollm, llama-bpe, llama3, qwen2 are)", pre)
	}
	tv, _ := f.Metadata("tokenizer.ggml.tokens")
	tokens, ok := tv.Strings()
	if !ok || len(tokens) == 0 {
		return fail("tokenizer.ggml.tokens is missing or not an array of strings")
	}
	var types []int64
	if v, ok := f.Metadata("tokenizer.ggml.token_type"); ok {
		if types, ok = v.Ints(); !ok || len(types) != len(tokens) {
			return fail("tokenizer.ggml.token_type has %d entries for %d tokens", v.Len(), len(tokens))
		}
	}
	mv, _ := f.Metadata("tokenizer.ggml.merges")
	merges, ok := mv.Strings()
	if !ok {
		return fail("tokenizer.ggml.merges is missing or not an array of strings")
	}
	vocab := make(map[string]int, len(tokens))
	var added []tokenizer.AddedToken
	for id, t := range tokens {
		if t == "" {
			return fail("token %d is empty", id)
		}
		if prev, dup := vocab[t]; dup {
			return fail("tokens %d and %d are both %q", prev, id, t)
		}
		vocab[t] = id
		if types != nil && (types[id] == tokenControl || types[id] == tokenUserDefined) {
			added = append(added, tokenizer.AddedToken{ID: id, Content: t, Special: types[id] == tokenControl})
		}
	}
	doc := map[string]any{
		"version":        "1.0",
		"added_tokens":   added,
		"normalizer":     nil,
		"pre_tokenizer":  json.RawMessage(preJSON),
		"post_processor": json.RawMessage(`{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false}`),
		"decoder":        json.RawMessage(`{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false}`),
		"model": map[string]any{
			"type": "BPE", "vocab": vocab, "merges": merges,
			"fuse_unk": false, "byte_fallback": false, "ignore_merges": pre == "llama-bpe" || pre == "llama3",
		},
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: tokenizer: %w", f.Name(), err)
	}
	tok, err := tokenizer.FromJSON(js)
	if err != nil {
		return fail("tokenizer: %v", err)
	}
	name := func(key string) string {
		v, ok := f.Metadata(key)
		if !ok {
			return ""
		}
		id, ok := v.Int()
		if !ok || id < 0 || id >= int64(len(tokens)) {
			return ""
		}
		return tokens[id]
	}
	tok.Config.BOS = name("tokenizer.ggml.bos_token_id")
	tok.Config.EOS = name("tokenizer.ggml.eos_token_id")
	tok.Config.PAD = name("tokenizer.ggml.padding_token_id")
	tok.Config.UNK = name("tokenizer.ggml.unknown_token_id")
	if v, ok := f.Metadata("tokenizer.ggml.add_bos_token"); ok {
		tok.Config.AddBOS, _ = v.Bool()
	}
	if v, ok := f.Metadata("tokenizer.ggml.add_eos_token"); ok {
		tok.Config.AddEOS, _ = v.Bool()
	}
	tok.Config.ChatTemplate = str("tokenizer.chat_template")
	tok.Config.ModelMaxLength = 0
	return tok, nil
}

// setTokenizer sets the model's tokenizer, special ids and chat template (from
// where, for errors).
func (m *Model) setTokenizer(tok *tokenizer.Tokenizer, where string) error {
	if tok.VocabSize() > m.cfg.VocabSize {
		return fmt.Errorf("%w: %s: %d tokens for %d rows of token_embd", ErrFormat, m.name, tok.VocabSize(), m.cfg.VocabSize)
	}
	m.tok = tok
	if id, ok := tok.TokenToID(tok.Config.BOS); ok && tok.Config.BOS != "" {
		m.bos = id
	}
	if id, ok := tok.TokenToID(tok.Config.EOS); ok && tok.Config.EOS != "" {
		m.eos = id
	}
	m.addBOS = tok.Config.AddBOS && m.bos >= 0
	if tok.Config.ChatTemplate != "" {
		c, err := tok.ChatTemplate()
		if err != nil {
			return fmt.Errorf("%s: %s: %w", m.name, where, err)
		}
		m.chat = c
	}
	return nil
}
