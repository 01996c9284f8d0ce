package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/lumen-ml/lumen/models/bert"
	"github.com/lumen-ml/lumen/models/gpt2"
)

type completionRequest struct {
	Model       string          `json:"model"`
	Prompt      *string         `json:"prompt"`
	MaxTokens   *int            `json:"max_tokens"`
	Temperature *float32        `json:"temperature"`
	TopP        *float32        `json:"top_p"`
	TopK        int             `json:"top_k"`
	Seed        *uint64         `json:"seed"`
	Stop        json.RawMessage `json:"stop"`
	Stream      bool            `json:"stream"`
}

type completionChoice struct {
	Text         string  `json:"text"`
	Index        int     `json:"index"`
	Logprobs     any     `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
}

type completionResponse struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   *usage             `json:"usage,omitempty"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens,omitempty"`
	TotalTokens      int `json:"total_tokens"`
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request) error {
	var req completionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	m, err := lookup(s.completers, req.Model, "completion")
	if err != nil {
		return err
	}
	if req.Prompt == nil || *req.Prompt == "" {
		return badRequest(`"prompt" must be a non-empty string`)
	}
	if err := checkText(`"prompt"`, *req.Prompt, s.cfg.MaxInputBytes); err != nil {
		return err
	}
	opt := gpt2.GenerateOptions{MaxNewTokens: 16, Temperature: 1, TopK: req.TopK, StopAtEOS: true, Seed: uint64(time.Now().UnixNano())}
	if req.MaxTokens != nil {
		opt.MaxNewTokens = *req.MaxTokens
	}
	if opt.MaxNewTokens < 1 || opt.MaxNewTokens > s.cfg.MaxTokens {
		return badRequest(`"max_tokens" must be between 1 and %d, got %d`, s.cfg.MaxTokens, opt.MaxNewTokens)
	}
	if req.Temperature != nil {
		if *req.Temperature < 0 || *req.Temperature > 2 {
			return badRequest(`"temperature" must be between 0 and 2`)
		}
		opt.Temperature = *req.Temperature
	}
	if req.TopP != nil {
		if *req.TopP <= 0 || *req.TopP > 1 {
			return badRequest(`"top_p" must be in (0, 1]`)
		}
		opt.TopP = *req.TopP
	}
	if req.TopK < 0 {
		return badRequest(`"top_k" must not be negative`)
	}
	if req.Seed != nil {
		opt.Seed = *req.Seed
	}
	var stop []string
	if len(req.Stop) > 0 && string(req.Stop) != "null" {
		var one string
		if err := json.Unmarshal(req.Stop, &one); err == nil {
			stop = []string{one}
		} else if err := json.Unmarshal(req.Stop, &stop); err != nil || len(stop) > 4 {
			return badRequest(`"stop" must be a string or up to 4 strings`)
		}
	}
	if _, batched := m.(BatchingCompleter); !batched {
		release, ok := s.admit.worker(r.Context())
		if !ok {
			if err := r.Context().Err(); err != nil {
				return err
			}
			return errOverloaded
		}
		defer release()
	}
	prompt, err := m.Encode(*req.Prompt)
	if err != nil {
		return err
	}
	promptTokens := len(prompt)
	if promptTokens+opt.MaxNewTokens > m.ContextLength() {
		return badRequest("prompt (%d tokens) plus max_tokens (%d) exceeds the model's context of %d", promptTokens, opt.MaxNewTokens, m.ContextLength())
	}
	resp := completionResponse{ID: fmt.Sprintf("cmpl-%d", s.ids.Add(1)), Object: "text_completion", Created: time.Now().Unix(), Model: req.Model}
	tokens := 0
	var text []byte
	flusher, _ := w.(http.Flusher)
	started := false
	defer func() { s.met.tokens.WithLabelValues(req.Model).Add(float64(tokens)) }() // however the stream ends
	ttft, itl := s.met.ttft.WithLabelValues(req.Model), s.met.itl.WithLabelValues(req.Model)
	last := time.Now()
	for c, err := range m.GenerateText(r.Context(), prompt, opt, stop) {
		if err != nil {
			if started { // the status is sent: the stream ends with an error event, then [DONE]
				typ := "server_error"
				if errors.Is(err, context.Canceled) {
					typ = "cancelled"
				}
				fmt.Fprintf(w, "data: %s\n\ndata: [DONE]\n\n", mustJSON(map[string]any{"error": map[string]string{"type": typ, "message": err.Error()}}))
				return nil
			}
			return err
		}
		if c.Token >= 0 {
			now := time.Now()
			if tokens == 0 {
				ttft.Observe(now.Sub(last).Seconds())
			} else {
				itl.Observe(now.Sub(last).Seconds())
			}
			last = now
			tokens++
		}
		if !req.Stream {
			text = append(text, c.Text...)
			continue
		}
		if c.Text == "" {
			continue
		}
		if !started {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-cache")
			started = true
		}
		chunk := resp
		chunk.Choices = []completionChoice{{Text: c.Text}}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", mustJSON(chunk)); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
	finish := "stop"
	if tokens >= opt.MaxNewTokens {
		finish = "length"
	}
	u := &usage{PromptTokens: promptTokens, CompletionTokens: tokens, TotalTokens: promptTokens + tokens}
	if !req.Stream {
		resp.Choices = []completionChoice{{Text: string(text), FinishReason: &finish}}
		resp.Usage = u
		return writeJSON(w, resp)
	}
	if !started {
		w.Header().Set("Content-Type", "text/event-stream")
	}
	resp.Choices = []completionChoice{{FinishReason: &finish}}
	resp.Usage = u
	fmt.Fprintf(w, "data: %s\n\ndata: [DONE]\n\n", mustJSON(resp))
	return nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("server: " + err.Error())
	}
	return b
}

type inputRequest struct {
	Model string          `json:"model"`
	Input json.RawMessage `json:"input"`
}

// encoderInputs reads an {"model", "input"} request for one of models: the model and
// its texts, each encoded once (a text longer than the model's context is a 400,
// never silently truncated), with their token count.
func encoderInputs[M Encoder](s *Server, r *http.Request, models map[string]M, kind string) (string, M, []bert.Encoding, int, error) {
	var req inputRequest
	var m M
	if err := decode(r, &req); err != nil {
		return "", m, nil, 0, err
	}
	m, err := lookup(models, req.Model, kind)
	if err != nil {
		return "", m, nil, 0, err
	}
	texts, err := inputs(req.Input, s.cfg.MaxInputs, s.cfg.MaxInputBytes)
	if err != nil {
		return "", m, nil, 0, err
	}
	encs, err := m.Encode(texts, false)
	if err != nil {
		return "", m, nil, 0, badRequest("%v", err)
	}
	n := 0
	for _, e := range encs {
		n += len(e.IDs)
	}
	return req.Model, m, encs, n, nil
}

func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) error {
	model, _, encs, n, err := encoderInputs(s, r, s.embedders, "embedding")
	if err != nil {
		return err
	}
	emb, err := s.batchers[model].embed(r.Context(), encs)
	if err != nil {
		return err
	}
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	data := make([]item, len(emb))
	for i, e := range emb {
		data[i] = item{"embedding", i, e}
	}
	return writeJSON(w, map[string]any{"object": "list", "data": data, "model": model, "usage": usage{PromptTokens: n, TotalTokens: n}})
}

func (s *Server) classify(w http.ResponseWriter, r *http.Request) error {
	model, m, encs, _, err := encoderInputs(s, r, s.classifiers, "classification")
	if err != nil {
		return err
	}
	if len(m.Labels()) == 0 {
		return badRequest("model %q has no classification head", model)
	}
	if err := r.Context().Err(); err != nil {
		return err
	}
	res, err := m.Classify(r.Context(), encs)
	if err != nil {
		return err
	}
	type label struct {
		Label string  `json:"label"`
		Score float32 `json:"score"`
	}
	type item struct {
		Index  int     `json:"index"`
		Labels []label `json:"labels"`
	}
	data := make([]item, len(res))
	for i, ls := range res {
		data[i].Index = i
		for _, l := range ls {
			data[i].Labels = append(data[i].Labels, label{l.Label, l.Score})
		}
	}
	return writeJSON(w, map[string]any{"object": "list", "data": data, "model": model})
}

type qaRequest struct {
	Model           string  `json:"model"`
	Question        *string `json:"question"`
	Context         *string `json:"context"`
	MaxAnswerTokens int     `json:"max_answer_tokens"`
}

func (s *Server) qa(w http.ResponseWriter, r *http.Request) error {
	var req qaRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	m, err := lookup(s.answerers, req.Model, "question-answering")
	if err != nil {
		return err
	}
	if req.Question == nil || req.Context == nil || *req.Question == "" || *req.Context == "" {
		return badRequest(`"question" and "context" must be non-empty strings`)
	}
	if err := checkText(`"question" plus "context"`, *req.Question+*req.Context, s.cfg.MaxInputBytes); err != nil {
		return err
	}
	if req.MaxAnswerTokens == 0 {
		req.MaxAnswerTokens = 30
	}
	if req.MaxAnswerTokens < 0 {
		return badRequest(`"max_answer_tokens" must be positive`)
	}
	enc, err := m.EncodePair(*req.Question, *req.Context, false)
	if err != nil {
		return badRequest("question and context: %v", err)
	}
	a, err := m.Answer(r.Context(), enc, *req.Context, req.MaxAnswerTokens)
	if err != nil {
		return err
	}
	return writeJSON(w, map[string]any{"model": req.Model, "answer": a.Text, "start": a.Start, "end": a.End, "score": a.Score})
}
