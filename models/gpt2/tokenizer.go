package gpt2

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/lumen-ml/lumen/tokenizer"
)

// EndOfText is GPT-2's only special token.
const EndOfText = "<|endoftext|>"

// ErrToken is wrapped by errors about token ids that the vocabulary does not have.
var ErrToken = errors.New("gpt2: invalid token id")

// Tokenizer is GPT-2's byte-level BPE: package tokenizer's engine in GPT-2's
// configuration (ByteLevel pre-tokenizer and decoder, <|endoftext|> special),
// plus the checks GPT-2 needs of its vocabulary. It is safe for concurrent use.
type Tokenizer struct {
	tk        *tokenizer.Tokenizer
	eot       int
	vocabSize int
}

// LoadTokenizer reads vocab.json and merges.txt, or tokenizer.json, from dir.
func LoadTokenizer(dir string) (*Tokenizer, error) {
	return loadTokenizer(os.DirFS(cmp.Or(dir, ".")), dir)
}

// LoadTokenizerFS is LoadTokenizer on a file system, such as the GPT-2 tokenizer
// that package assets embeds.
func LoadTokenizerFS(fsys fs.FS) (*Tokenizer, error) { return loadTokenizer(fsys, "") }

// loadTokenizer reads the tokenizer files from fsys; dir is how errors name fsys.
func loadTokenizer(fsys fs.FS, dir string) (*Tokenizer, error) {
	tk, err := tokenizer.LoadFS(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("gpt2: %s: %w", cmp.Or(dir, "the tokenizer directory"), err)
	}
	return wrap(tk)
}

// NewTokenizer builds a tokenizer from a vocabulary (byte-level token text to id) and
// merges in priority order.
func NewTokenizer(vocab map[string]int, merges [][2]string) (*Tokenizer, error) {
	// Ids must be 0..len(vocab)-1, each once: checked before building, so that
	// no id the model may generate lacks a token.
	seen := make([]bool, len(vocab))
	for tok, id := range vocab {
		if id < 0 || id >= len(vocab) {
			return nil, fmt.Errorf("gpt2: vocabulary entry %q has id %d; the %d entries must have ids 0..%d", tok, id, len(vocab), len(vocab)-1)
		}
		if seen[id] {
			return nil, fmt.Errorf("gpt2: vocabulary id %d is used twice", id)
		}
		seen[id] = true
	}
	tk, err := tokenizer.NewByteLevelBPE(vocab, merges, tokenizer.ByteLevelOptions{})
	if err != nil {
		return nil, fmt.Errorf("gpt2: %w", err)
	}
	return wrap(tk)
}

func wrap(tk *tokenizer.Tokenizer) (*Tokenizer, error) {
	id, ok := tk.TokenToID(EndOfText)
	if !ok {
		return nil, fmt.Errorf("gpt2: vocabulary has no %s", EndOfText)
	}
	// Every byte must encode, or text would lose bytes.
	for b := 0; b < 256; b++ {
		if _, ok := tk.TokenToID(tokenizer.ByteLevelChar(byte(b))); !ok {
			return nil, fmt.Errorf("gpt2: the vocabulary has no token for byte %#02x (%q): a byte-level BPE vocabulary needs all 256",
				b, tokenizer.ByteLevelChar(byte(b)))
		}
	}
	return &Tokenizer{tk: tk, eot: id, vocabSize: tk.VocabSize()}, nil
}

// Engine returns the general tokenizer this one configures.
func (t *Tokenizer) Engine() *tokenizer.Tokenizer { return t.tk }

// VocabSize returns the number of ids.
func (t *Tokenizer) VocabSize() int { return t.vocabSize }

// EOT returns the id of <|endoftext|>.
func (t *Tokenizer) EOT() int { return t.eot }

// Token is one encoded token with its span in the input, in bytes.
type Token struct {
	ID         int
	Start, End int
}

// Encode returns the ids of text. <|endoftext|> in the text is matched as the
// special token. Bytes that are not UTF-8 are read as U+FFFD, as in every
// tokenizer of package tokenizer.
func (t *Tokenizer) Encode(text string) []int {
	ids, err := t.tk.EncodeIDs(text, false)
	if err != nil {
		// Byte-level BPE with every byte in the vocabulary (checked at load)
		// cannot fail.
		panic(fmt.Sprintf("gpt2: encode: %v", err))
	}
	return ids
}

// EncodeWithOffsets is Encode with each token's byte span. A token that covers part
// of a multi-byte character reports the whole character's span, as HF does.
func (t *Tokenizer) EncodeWithOffsets(text string) []Token {
	e, err := t.tk.Encode(text, false)
	if err != nil {
		panic(fmt.Sprintf("gpt2: encode: %v", err))
	}
	out := make([]Token, e.Len())
	for i, id := range e.IDs {
		out[i] = Token{ID: id, Start: e.Offsets[i][0], End: e.Offsets[i][1]}
	}
	return out
}

// Decode returns the text of ids. Bytes that do not form valid UTF-8 become U+FFFD,
// as HF's decode does.
func (t *Tokenizer) Decode(ids []int) (string, error) {
	s, err := t.tk.Decode(ids, false)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrToken, err)
	}
	return s, nil
}

// StreamDecoder turns a stream of ids into text without ever emitting part of a
// multi-byte character: bytes of an incomplete character wait for the next token.
type StreamDecoder struct{ d *tokenizer.StreamDecoder }

// NewStreamDecoder starts a stream.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{t.tk.NewStreamDecoder(false)}
}

// Next adds one id and returns the text that is now complete.
func (d *StreamDecoder) Next(id int) (string, error) {
	s, err := d.d.Next(id)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrToken, err)
	}
	return s, nil
}

// Flush returns whatever is left (an incomplete character becomes U+FFFD).
func (d *StreamDecoder) Flush() string { return d.d.Flush() }
