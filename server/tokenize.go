package server

import (
	"errors"
	"net/http"

	"github.com/lumen-ml/lumen/tokenizer"
)

// tokenizeRequest is llama.cpp's /tokenize body, with the model named as in the
// other endpoints.
type tokenizeRequest struct {
	Model      string  `json:"model"`
	Content    *string `json:"content"`
	AddSpecial bool    `json:"add_special"` // the model's special tokens ([CLS] ... [SEP], BOS)
	WithPieces bool    `json:"with_pieces"` // each token's text and character span
}

// piece is one token of a /tokenize answer with_pieces: start and end are
// character (code point) offsets into the content, as Python's tokenizers gives.
type piece struct {
	ID    int    `json:"id"`
	Piece string `json:"piece"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// tokenize answers {"model", "tokens": [ids] or [{"id","piece","start","end"}],
// "count"}.
func (s *Server) tokenize(w http.ResponseWriter, r *http.Request) error {
	var req tokenizeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	tk, err := lookup(s.tokenizers, req.Model, "tokenizer")
	if err != nil {
		return err
	}
	if req.Content == nil {
		return badRequest(`"content" is required`)
	}
	if len(*req.Content) > s.cfg.MaxInputBytes {
		return badRequest(`"content" is %d bytes; the limit is %d`, len(*req.Content), s.cfg.MaxInputBytes)
	}
	if !req.WithPieces {
		ids, err := tk.EncodeIDs(*req.Content, req.AddSpecial)
		if err != nil {
			return badRequest("%v", err)
		}
		return writeJSON(w, map[string]any{"model": req.Model, "tokens": ids, "count": len(ids)})
	}
	e, err := tk.Encode(*req.Content, req.AddSpecial)
	if err != nil {
		return badRequest("%v", err)
	}
	ps := make([]piece, e.Len())
	for i := range ps {
		ps[i] = piece{e.IDs[i], e.Tokens[i], e.CharOffsets[i][0], e.CharOffsets[i][1]}
	}
	return writeJSON(w, map[string]any{"model": req.Model, "tokens": ps, "count": len(ps)})
}

type detokenizeRequest struct {
	Model       string `json:"model"`
	Tokens      *[]int `json:"tokens"`
	SkipSpecial bool   `json:"skip_special"`
}

// detokenize answers {"model", "content"}; an id outside the vocabulary is a 400.
func (s *Server) detokenize(w http.ResponseWriter, r *http.Request) error {
	var req detokenizeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	tk, err := lookup(s.tokenizers, req.Model, "tokenizer")
	if err != nil {
		return err
	}
	if req.Tokens == nil {
		return badRequest(`"tokens" is required: an array of token ids`)
	}
	if n := len(*req.Tokens); n > s.cfg.MaxInputBytes {
		return badRequest(`"tokens" has %d ids; the limit is %d`, n, s.cfg.MaxInputBytes)
	}
	text, err := tk.Decode(*req.Tokens, req.SkipSpecial)
	if errors.Is(err, tokenizer.ErrUnknownID) {
		return badRequest("%v", err)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, map[string]any{"model": req.Model, "content": text})
}
