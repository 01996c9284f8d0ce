package bert

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/lumen-ml/lumen/tokenizer"
)

// ErrTokenizer is wrapped by errors about tokenizer files and inputs.
var ErrTokenizer = errors.New("bert: tokenizer")

// Tokenizer is an encoder's tokenizer: package tokenizer's engine configured by
// the model's tokenizer.json — BERT's and MPNet's WordPiece ([CLS] A [SEP] B [SEP],
// <s> A </s></s> B </s>), RoBERTa's byte-level BPE, XLM-R's and CamemBERT's Unigram —
// or by a BERT vocab.txt, byte-exact with Hugging Face's. It is safe for concurrent
// use.
type Tokenizer struct {
	tk *tokenizer.Tokenizer
	// The special tokens' ids, BERT's or RoBERTa's spelling; UNK and MASK are -1 when
	// the vocabulary has none.
	CLS, SEP, PAD, UNK, MASK int
	MaskToken                string // "[MASK]" or "<mask>"
}

// MaxWordChars is the longest word WordPiece splits; longer words become [UNK].
const MaxWordChars = 100

// LoadTokenizer reads tokenizer.json, or vocab.txt (with tokenizer_config.json
// for casing), from dir. The file's own truncation and padding settings are
// dropped: Encode's maxLen and Pad decide those.
func LoadTokenizer(dir string) (*Tokenizer, error) {
	return loadTokenizer(os.DirFS(cmp.Or(dir, ".")), dir)
}

// LoadTokenizerFS is LoadTokenizer on a file system, such as the bert-base-uncased
// vocabulary that package assets embeds.
func LoadTokenizerFS(fsys fs.FS) (*Tokenizer, error) { return loadTokenizer(fsys, "") }

// loadTokenizer reads the tokenizer files from fsys; dir is how errors name fsys.
func loadTokenizer(fsys fs.FS, dir string) (*Tokenizer, error) {
	tk, err := tokenizer.LoadFS(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrTokenizer, cmp.Or(dir, "the tokenizer directory"), err)
	}
	return wrap(tk)
}

// NewTokenizer builds a tokenizer from the vocabulary in id order.
func NewTokenizer(tokens []string, lower, stripAccents bool) (*Tokenizer, error) {
	tk, err := tokenizer.NewWordPiece(tokens, tokenizer.WordPieceOptions{Lowercase: lower, StripAccents: &stripAccents,
		MaxWordChars: MaxWordChars})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTokenizer, err)
	}
	return wrap(tk)
}

func wrap(tk *tokenizer.Tokenizer) (*Tokenizer, error) {
	tk, err := tk.WithTruncation(nil)
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{tk: tk.WithPadding(nil)}
	for _, s := range []struct {
		names    []string
		id       *int
		required bool
	}{{[]string{"[CLS]", "<s>"}, &t.CLS, true}, {[]string{"[SEP]", "</s>"}, &t.SEP, true}, {[]string{"[PAD]", "<pad>"}, &t.PAD, true},
		{[]string{"[UNK]", "<unk>"}, &t.UNK, false}, {[]string{"[MASK]", "<mask>"}, &t.MASK, false}} {
		name, id := specialToken(tk, s.names)
		if id < 0 && s.required {
			return nil, fmt.Errorf("%w: the vocabulary has neither %s", ErrTokenizer, strings.Join(s.names, " nor "))
		}
		*s.id = id
		if s.id == &t.MASK {
			t.MaskToken = name
		}
	}
	if tk.AddedSpecialTokens(false) == 0 {
		return nil, fmt.Errorf("%w: the post-processor adds no special tokens to a text ([CLS] A [SEP] or <s> A </s>): not an encoder's tokenizer", ErrTokenizer)
	}
	return t, nil
}

// specialToken returns the first of names that is a special added token, else the
// first in the vocabulary at all, with its id (-1 when none is): MPNet's vocabulary
// keeps BERT's [PAD] and [MASK] as plain words beside its own special <pad> and
// <mask>.
func specialToken(tk *tokenizer.Tokenizer, names []string) (string, int) {
	fallback, fallbackID := "", -1
	for _, name := range names {
		id, ok := tk.TokenToID(name)
		switch {
		case ok && tk.IsSpecial(id):
			return name, id
		case ok && fallbackID < 0:
			fallback, fallbackID = name, id
		}
	}
	return fallback, fallbackID
}

// Engine returns the general tokenizer this one configures.
func (t *Tokenizer) Engine() *tokenizer.Tokenizer { return t.tk }

// VocabSize returns the number of ids.
func (t *Tokenizer) VocabSize() int { return t.tk.VocabSize() }

// Token returns the text of id ("" when out of range).
func (t *Tokenizer) Token(id int) string {
	s, _ := t.tk.IDToToken(id)
	return s
}

// Piece is one token of a text: its id and its byte span in the original text
// ([0, 0] for the added [CLS]/[SEP]).
type Piece struct {
	ID         int
	Start, End int
}

// Tokenize splits text into tokens (no [CLS]/[SEP]) with byte offsets. Bytes that
// are not UTF-8 are read as U+FFFD, as in every tokenizer of package tokenizer
// (BertNormalizer then drops them). It fails only where the model cannot spell a
// piece (a vocabulary without an unknown token).
func (t *Tokenizer) Tokenize(text string) ([]Piece, error) {
	e, err := t.tk.Encode(text, false)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTokenizer, err)
	}
	out := make([]Piece, e.Len())
	for i, id := range e.IDs {
		out[i] = Piece{ID: id, Start: e.Offsets[i][0], End: e.Offsets[i][1]}
	}
	return out, nil
}

// Encoding is a model input: ids, token types, attention mask and offsets.
type Encoding struct {
	IDs, TypeIDs, Mask []int
	Offsets            [][2]int // byte spans in the original text(s); [0, 0] for added specials
	SequenceIDs        []int    // 0 or 1 for text tokens, -1 for added specials
}

// Encode builds [CLS] text [SEP] (<s> text </s>), truncated to maxLen tokens (0: no limit).
func (t *Tokenizer) Encode(text string, maxLen int) (Encoding, error) {
	return t.encode(text, "", false, maxLen)
}

// EncodePair builds [CLS] a [SEP] b [SEP] (token type 1 for b's part) or the
// tokenizer's own pair template (<s> a </s></s> b </s>), truncating
// the longer text first to fit maxLen (0: no limit), as Hugging Face's
// longest_first does.
func (t *Tokenizer) EncodePair(a, b string, maxLen int) (Encoding, error) {
	return t.encode(a, b, true, maxLen)
}

func (t *Tokenizer) encode(a, b string, pair bool, maxLen int) (Encoding, error) {
	tk := t.tk
	if maxLen > 0 {
		var err error
		if tk, err = tk.WithTruncation(&tokenizer.Truncation{MaxLength: maxLen}); err != nil {
			return Encoding{}, fmt.Errorf("%w: %w", ErrTokenizer, err)
		}
	}
	var e tokenizer.Encoding
	var err error
	if pair {
		e, err = tk.EncodePair(a, b, true)
	} else {
		e, err = tk.Encode(a, true)
	}
	if err != nil {
		return Encoding{}, fmt.Errorf("%w: %w", ErrTokenizer, err)
	}
	return Encoding{IDs: e.IDs, TypeIDs: e.TypeIDs, Mask: e.AttentionMask, Offsets: e.Offsets, SequenceIDs: e.SequenceIDs}, nil
}

// Pad right-pads encodings to the longest with [PAD] (mask 0), as a batch needs.
func (t *Tokenizer) Pad(encs []Encoding) int {
	longest := 0
	for _, e := range encs {
		longest = max(longest, len(e.IDs))
	}
	for i := range encs {
		for len(encs[i].IDs) < longest {
			encs[i].IDs = append(encs[i].IDs, t.PAD)
			encs[i].TypeIDs = append(encs[i].TypeIDs, 0)
			encs[i].Mask = append(encs[i].Mask, 0)
			encs[i].Offsets = append(encs[i].Offsets, [2]int{})
			encs[i].SequenceIDs = append(encs[i].SequenceIDs, -1)
		}
	}
	return longest
}
