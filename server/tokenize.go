package server

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/lumen-ml/lumen/tokenizer"
)

// tokenizeRequest is llama.cpp's /tokenize body ("content") or TEI's ("inputs"),
// with the model named as in the other endpoints ("" when only one is loaded).
type tokenizeRequest struct {
	Model      string  `json:"model"`
	Content    *string `json:"content"`
	AddSpecial bool    `json:"add_special"` // the model's special tokens ([CLS] ... [SEP], BOS)
	WithPieces bool    `json:"with_pieces"` // each token's text and character span

	Inputs           json.RawMessage `json:"inputs"`             // TEI: a text or an array of texts
	AddSpecialTokens *bool           `json:"add_special_tokens"` // TEI: default true
}

// teiToken is one token of TEI's /tokenize answer: start and stop are byte offsets.
type teiToken struct {
	ID      int    `json:"id"`
	Text    string `json:"text"`
	Special bool   `json:"special"`
	Start   int    `json:"start"`
	Stop    int    `json:"stop"`
}

// tokenizerFor looks up the tokenizer of a named model, or of the only one.
func (s *Server) tokenizerFor(model string) (*tokenizer.Tokenizer, error) {
	if model == "" && len(s.tokenizers) == 1 {
		for _, tk := range s.tokenizers {
			return tk, nil
		}
	}
	return lookup(s.tokenizers, model, "tokenizer")
}

// piece is one token of a /tokenize answer with_pieces: start and end are
// character (code point) offsets into the content, as Python's tokenizers gives.
type piece struct {
	ID    int    `json:"id"`
	Piece string `json:"piece"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// tokenize answers llama.cpp's {"model", "tokens": [ids] or
// [{"id","piece","start","end"}], "count"}, or for "inputs" TEI's
// [[{"id","text","special","start","stop"}], ...].
func (s *Server) tokenize(w http.ResponseWriter, r *http.Request) error {
	var req tokenizeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	tk, err := s.tokenizerFor(req.Model)
	if err != nil {
		return err
	}
	if len(req.Inputs) > 0 {
		texts, err := inputs(req.Inputs, s.cfg.MaxInputs, s.cfg.MaxInputBytes)
		if err != nil {
			return err
		}
		special := req.AddSpecialTokens == nil || *req.AddSpecialTokens
		out := make([][]teiToken, len(texts))
		for i, text := range texts {
			e, err := tk.Encode(text, special)
			if err != nil {
				return badRequest("input %d: %v", i, err)
			}
			out[i] = make([]teiToken, e.Len())
			for k := range out[i] {
				out[i][k] = teiToken{e.IDs[k], e.Tokens[k], e.SpecialTokensMask[k] == 1, e.Offsets[k][0], e.Offsets[k][1]}
			}
		}
		return writeJSON(w, out)
	}
	if req.Content == nil {
		return badRequest(`"content" (llama.cpp) or "inputs" (TEI) is required`)
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

	IDs               json.RawMessage `json:"ids"`                 // TEI's /decode: ids or an array of them
	SkipSpecialTokens *bool           `json:"skip_special_tokens"` // TEI: default true
}

// detokenize answers llama.cpp's {"model", "content"}, or for "ids" TEI's
// /decode answer, an array of texts; an id outside the vocabulary is a 400.
func (s *Server) detokenize(w http.ResponseWriter, r *http.Request) error {
	var req detokenizeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	tk, err := s.tokenizerFor(req.Model)
	if err != nil {
		return err
	}
	if len(req.IDs) > 0 {
		var many [][]int
		var one []int
		if err := json.Unmarshal(req.IDs, &one); err == nil {
			many = [][]int{one}
		} else if err := json.Unmarshal(req.IDs, &many); err != nil {
			return badRequest(`"ids" must be an array of token ids or an array of such arrays`)
		}
		if len(many) > s.cfg.MaxInputs {
			return badRequest(`"ids" has %d sequences; the limit is %d`, len(many), s.cfg.MaxInputs)
		}
		skip := req.SkipSpecialTokens == nil || *req.SkipSpecialTokens
		out := make([]string, len(many))
		for i, ids := range many {
			if len(ids) > s.cfg.MaxInputBytes {
				return badRequest(`"ids" %d has %d ids; the limit is %d`, i, len(ids), s.cfg.MaxInputBytes)
			}
			if out[i], err = tk.Decode(ids, skip); err != nil {
				return badRequest("ids %d: %v", i, err)
			}
		}
		return writeJSON(w, out)
	}
	if req.Tokens == nil {
		return badRequest(`"tokens" (llama.cpp) or "ids" (TEI) is required: an array of token ids`)
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
