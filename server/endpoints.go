package server

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/lumen-ml/lumen/models/bert"
	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/tokenizer"
)

// sampling is the generation fields completions and chat completions share.
type sampling struct {
	Model       string          `json:"model"`
	MaxTokens   *int            `json:"max_tokens"`
	Temperature *float32        `json:"temperature"`
	TopP        *float32        `json:"top_p"`
	TopK        int             `json:"top_k"`
	Seed        *uint64         `json:"seed"`
	Stop        json.RawMessage `json:"stop"`
	Stream      bool            `json:"stream"`
}

type completionRequest struct {
	sampling
	Prompt *string `json:"prompt"`
}

type chatRequest struct {
	sampling
	Messages []chatMessage `json:"messages"`
}

type chatMessage struct {
	Role    *string `json:"role"`
	Content *string `json:"content"`
}

type completionChoice struct {
	Text         string  `json:"text"`
	Index        int     `json:"index"`
	Logprobs     any     `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
}

type chatChoice struct {
	Index        int          `json:"index"`
	Message      *chatContent `json:"message,omitempty"`
	Delta        *chatContent `json:"delta,omitempty"`
	FinishReason *string      `json:"finish_reason"`
}

type chatContent struct {
	Role    string `json:"role,omitempty"`
	Content string `json:"content"`
}

// response is a completion's body (or one stream event's), with choices of type C.
type response[C any] struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []C    `json:"choices"`
	Usage   *usage `json:"usage,omitempty"`
}

type completionResponse = response[completionChoice]

type chatResponse = response[chatChoice]

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens,omitempty"`
	TotalTokens      int `json:"total_tokens"`
}

// options checks the sampling fields and returns the generation options and the
// stop strings.
func (q sampling) options(maxTokens int) (decode.Options, []string, error) {
	opt := decode.Options{MaxNewTokens: 16, Temperature: 1, TopK: q.TopK, StopAtEOS: true, Seed: uint64(time.Now().UnixNano())}
	if q.MaxTokens != nil {
		opt.MaxNewTokens = *q.MaxTokens
	}
	if opt.MaxNewTokens < 1 || opt.MaxNewTokens > maxTokens {
		return opt, nil, badRequest(`"max_tokens" must be between 1 and %d, got %d`, maxTokens, opt.MaxNewTokens)
	}
	if q.Temperature != nil {
		if *q.Temperature < 0 || *q.Temperature > 2 {
			return opt, nil, badRequest(`"temperature" must be between 0 and 2`)
		}
		opt.Temperature = *q.Temperature
	}
	if q.TopP != nil {
		if *q.TopP <= 0 || *q.TopP > 1 {
			return opt, nil, badRequest(`"top_p" must be in (0, 1]`)
		}
		opt.TopP = *q.TopP
	}
	if q.TopK < 0 {
		return opt, nil, badRequest(`"top_k" must not be negative`)
	}
	if q.Seed != nil {
		opt.Seed = *q.Seed
	}
	var stop []string
	if len(q.Stop) > 0 && string(q.Stop) != "null" {
		var one string
		if err := json.Unmarshal(q.Stop, &one); err == nil {
			stop = []string{one}
		} else if err := json.Unmarshal(q.Stop, &stop); err != nil || len(stop) > 4 {
			return opt, nil, badRequest(`"stop" must be a string or up to 4 strings`)
		}
	}
	return opt, stop, nil
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request) error {
	var req completionRequest
	if err := decodeJSON(r, &req); err != nil {
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
	opt, stop, err := req.options(s.cfg.MaxTokens)
	if err != nil {
		return err
	}
	return generate(s, w, r, m, req.sampling, opt, stop, textShape{}, func() ([]int, error) { return m.Encode(*req.Prompt) })
}

// chatCompletions is OpenAI's /v1/chat/completions over a model's chat template.
func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) error {
	var req chatRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	m, err := lookup(s.chatters, req.Model, "chat completion")
	if err != nil {
		return err
	}
	if len(req.Messages) == 0 {
		return badRequest(`"messages" must be a non-empty array`)
	}
	msgs := make([]tokenizer.Message, len(req.Messages))
	total := 0
	for i, msg := range req.Messages {
		if msg.Role == nil || *msg.Role == "" || msg.Content == nil {
			return badRequest(`"messages"[%d] needs a "role" and a string "content"`, i)
		}
		total += len(*msg.Content) // an empty content is a message; the sum is bounded below
		msgs[i] = tokenizer.Message{Role: *msg.Role, Content: *msg.Content}
	}
	if total > s.cfg.MaxInputBytes {
		return badRequest(`"messages" hold %d bytes of content; the limit is %d`, total, s.cfg.MaxInputBytes)
	}
	opt, stop, err := req.options(s.cfg.MaxTokens)
	if err != nil {
		return err
	}
	return generate(s, w, r, m, req.sampling, opt, stop, chatShape{}, func() ([]int, error) { return m.EncodeChat(msgs) })
}

// responseShape is how an endpoint's choices look: whole, and as stream deltas.
type responseShape[C any] interface {
	object(stream bool) string
	choice(text string, finish *string, stream, first bool) C
}

type textShape struct{}

func (textShape) object(bool) string { return "text_completion" }
func (textShape) choice(text string, finish *string, _, _ bool) completionChoice {
	return completionChoice{Text: text, FinishReason: finish}
}

type chatShape struct{}

func (chatShape) object(stream bool) string {
	if stream {
		return "chat.completion.chunk"
	}
	return "chat.completion"
}
func (chatShape) choice(text string, finish *string, stream, first bool) chatChoice {
	c := &chatContent{Content: text}
	if first || !stream {
		c.Role = "assistant"
	}
	if stream {
		return chatChoice{Delta: c, FinishReason: finish}
	}
	return chatChoice{Message: c, FinishReason: finish}
}

// generate runs a completion: admission (a worker unless the model batches
// itself), the prompt tokenized by encode and checked against the context, then
// the text, whole or as server-sent events, with its usage.
func generate[C any](s *Server, w http.ResponseWriter, r *http.Request, m Completer, req sampling, opt decode.Options, stop []string, shape responseShape[C], encode func() ([]int, error)) error {
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
	prompt, err := encode()
	if err != nil {
		return err
	}
	promptTokens := len(prompt)
	if promptTokens+opt.MaxNewTokens > m.ContextLength() {
		return badRequest("prompt (%d tokens) plus max_tokens (%d) exceeds the model's context of %d", promptTokens, opt.MaxNewTokens, m.ContextLength())
	}
	resp := response[C]{ID: fmt.Sprintf("cmpl-%d", s.ids.Add(1)), Object: shape.object(req.Stream), Created: time.Now().Unix(), Model: req.Model}
	sse := sseWriter{w: w}
	tokens := 0
	var text []byte
	defer func() { s.met.tokens.WithLabelValues(req.Model).Add(float64(tokens)) }() // however the stream ends
	ttft, itl := s.met.ttft.WithLabelValues(req.Model), s.met.itl.WithLabelValues(req.Model)
	last := time.Now()
	for c, err := range m.GenerateText(r.Context(), prompt, opt, stop) {
		if err != nil {
			if sse.started { // the status is sent: the stream ends with an error event, then [DONE]
				typ := "server_error"
				if errors.Is(err, context.Canceled) {
					typ = "cancelled"
				}
				sse.event(map[string]any{"error": map[string]string{"type": typ, "message": err.Error()}})
				sse.done()
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
		chunk := resp
		chunk.Choices = []C{shape.choice(c.Text, nil, true, !sse.started)}
		if err := sse.event(chunk); err != nil {
			return err
		}
	}
	finish := "stop"
	if tokens >= opt.MaxNewTokens {
		finish = "length"
	}
	resp.Usage = &usage{PromptTokens: promptTokens, CompletionTokens: tokens, TotalTokens: promptTokens + tokens}
	if !req.Stream {
		resp.Choices = []C{shape.choice(string(text), &finish, false, true)}
		return writeJSON(w, resp)
	}
	resp.Choices = []C{shape.choice("", &finish, true, !sse.started)}
	sse.event(resp)
	sse.done()
	return nil
}

// sseWriter writes server-sent events, sending the headers before the first.
type sseWriter struct {
	w       http.ResponseWriter
	started bool
}

func (e *sseWriter) event(v any) error {
	if !e.started {
		e.w.Header().Set("Content-Type", "text/event-stream")
		e.w.Header().Set("Cache-Control", "no-cache")
		e.started = true
	}
	if _, err := fmt.Fprintf(e.w, "data: %s\n\n", mustJSON(v)); err != nil {
		return err
	}
	if f, ok := e.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

func (e *sseWriter) done() { fmt.Fprint(e.w, "data: [DONE]\n\n") }

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
	// Embeddings only (OpenAI's): "float" (the default) or "base64" (each vector's
	// float32s, little-endian); dimensions truncates each vector, then renormalises.
	EncodingFormat string `json:"encoding_format"`
	Dimensions     *int   `json:"dimensions"`
	// PromptName (TEI's prompt_name) puts one of the model's sentence-transformers
	// prompts before each text; without it, the model's default prompt, if any.
	PromptName string `json:"prompt_name"`
}

// encoderInputs reads an {"model", "input"} request for one of models: the model and
// its texts, each encoded once (a text longer than the model's context is a 400,
// never silently truncated), with their token count.
func encoderInputs[M Encoder](s *Server, r *http.Request, models map[string]M, kind string) (inputRequest, M, []bert.Encoding, int, error) {
	var req inputRequest
	var m M
	if err := decodeJSON(r, &req); err != nil {
		return req, m, nil, 0, err
	}
	m, err := lookup(models, req.Model, kind)
	if err != nil {
		return req, m, nil, 0, err
	}
	encs, ok, err := tokenInputs(req.Input, s.cfg.MaxInputs, s.cfg.MaxInputBytes)
	if err != nil {
		return req, m, nil, 0, err
	}
	if !ok {
		texts, err := inputs(req.Input, s.cfg.MaxInputs, s.cfg.MaxInputBytes)
		if err != nil {
			return req, m, nil, 0, err
		}
		if p, ok := any(m).(interface{ Prompts() bert.Prompts }); ok && kind == "embedding" {
			prompt, err := p.Prompts().Prompt(req.PromptName)
			if err != nil {
				return req, m, nil, 0, badRequest("%v", err)
			}
			for i := range texts {
				texts[i] = prompt + texts[i]
			}
		} else if req.PromptName != "" {
			return req, m, nil, 0, badRequest(`"prompt_name": the model has no prompts`)
		}
		if encs, err = m.Encode(texts, false); err != nil {
			return req, m, nil, 0, badRequest("%v", err)
		}
	}
	n := 0
	for _, e := range encs {
		n += len(e.IDs)
	}
	return req, m, encs, n, nil
}

// tokenInputs reads "input" given as token ids, as OpenAI allows: one array of ids
// or an array of them, used as they are (the model checks the ids and the length).
// ok is false when the input is not token ids. At most max sequences, and no more
// ids in all than maxBytes (the text limit's bound on the work).
func tokenInputs(raw json.RawMessage, max, maxBytes int) (encs []bert.Encoding, ok bool, err error) {
	var many [][]int
	var one []int
	if json.Unmarshal(raw, &one) == nil && len(one) > 0 {
		many = [][]int{one}
	} else if json.Unmarshal(raw, &many) != nil || len(many) == 0 {
		return nil, false, nil
	}
	if len(many) > max {
		return nil, true, badRequest(`"input" has %d token arrays; the limit is %d`, len(many), max)
	}
	total := 0
	for i, ids := range many {
		if len(ids) == 0 {
			return nil, true, badRequest("input %d is an empty token array", i)
		}
		if total += len(ids); total > maxBytes {
			return nil, true, badRequest(`"input" has more than %d token ids`, maxBytes)
		}
		e := bert.Encoding{IDs: ids, TypeIDs: make([]int, len(ids)), Mask: make([]int, len(ids)),
			Offsets: make([][2]int, len(ids)), SequenceIDs: make([]int, len(ids))}
		for t := range e.Mask {
			e.Mask[t] = 1
		}
		encs = append(encs, e)
	}
	return encs, true, nil
}

func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) error {
	req, _, encs, n, err := encoderInputs(s, r, s.embedders, "embedding")
	if err != nil {
		return err
	}
	if f := req.EncodingFormat; f != "" && f != "float" && f != "base64" {
		return badRequest(`"encoding_format" %q: want "float" or "base64"`, f)
	}
	if req.Dimensions != nil && *req.Dimensions <= 0 {
		return badRequest(`"dimensions" must be positive, got %d`, *req.Dimensions)
	}
	emb, err := s.batchers[req.Model].embed(r.Context(), encs)
	if err != nil {
		return err
	}
	type item struct {
		Object    string `json:"object"`
		Index     int    `json:"index"`
		Embedding any    `json:"embedding"` // []float32, or a base64 string
	}
	data := make([]item, len(emb))
	for i, e := range emb {
		if d := req.Dimensions; d != nil {
			if *d > len(e) {
				return badRequest(`"dimensions" %d exceeds the model's %d`, *d, len(e))
			}
			e = slices.Clone(e[:*d]) // truncated, then renormalised, as OpenAI's dimensions
			bert.Normalize(e)
		}
		data[i] = item{Object: "embedding", Index: i, Embedding: e}
		if req.EncodingFormat == "base64" {
			raw := make([]byte, 4*len(e))
			for j, v := range e {
				binary.LittleEndian.PutUint32(raw[4*j:], math.Float32bits(v))
			}
			data[i].Embedding = base64.StdEncoding.EncodeToString(raw)
		}
	}
	return writeJSON(w, map[string]any{"object": "list", "data": data, "model": req.Model, "usage": usage{PromptTokens: n, TotalTokens: n}})
}

func (s *Server) classify(w http.ResponseWriter, r *http.Request) error {
	req, m, encs, _, err := encoderInputs(s, r, s.classifiers, "classification")
	if err != nil {
		return err
	}
	if len(m.Labels()) == 0 {
		return badRequest("model %q has no classification head", req.Model)
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
	return writeJSON(w, map[string]any{"object": "list", "data": data, "model": req.Model})
}

type rerankRequest struct {
	Model           string   `json:"model"`
	Query           *string  `json:"query"`
	Documents       []string `json:"documents"`
	TopN            int      `json:"top_n"`
	ReturnDocuments bool     `json:"return_documents"`
}

// RerankResult is one document of a /v1/rerank answer (and of lumen rerank's).
type RerankResult struct {
	Index          int           `json:"index"`
	RelevanceScore float32       `json:"relevance_score"`
	Document       *RerankedText `json:"document,omitempty"`
}

// RerankedText is a document's text in a RerankResult.
type RerankedText struct {
	Text string `json:"text"`
}

// RerankResults shapes ranked documents as /v1/rerank returns them, with their
// texts when withDocs.
func RerankResults(ranked []bert.Ranked, docs []string, withDocs bool) []RerankResult {
	out := make([]RerankResult, len(ranked))
	for i, r := range ranked {
		out[i] = RerankResult{Index: r.Index, RelevanceScore: r.Score}
		if withDocs {
			out[i].Document = &RerankedText{docs[r.Index]}
		}
	}
	return out
}

// rerank answers {"model", "query", "documents", "top_n", "return_documents"} with
// the documents' relevance scores, the most relevant first (Cohere's, Jina's and
// llama.cpp's /v1/rerank).
func (s *Server) rerank(w http.ResponseWriter, r *http.Request) error {
	var req rerankRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	m, err := lookup(s.rerankers, req.Model, "reranking")
	if err != nil {
		return err
	}
	switch {
	case req.Query == nil || *req.Query == "":
		return badRequest(`"query" must be a non-empty string`)
	case len(req.Documents) == 0:
		return badRequest(`"documents" must be a non-empty array of strings`)
	case len(req.Documents) > s.cfg.MaxInputs:
		return badRequest(`"documents" has %d texts; the limit is %d`, len(req.Documents), s.cfg.MaxInputs)
	case req.TopN < 0:
		return badRequest(`"top_n" must not be negative`)
	}
	if err := checkText(`"query"`, *req.Query, s.cfg.MaxInputBytes); err != nil {
		return err
	}
	for i, d := range req.Documents {
		if err := checkText(fmt.Sprintf("document %d", i), d, s.cfg.MaxInputBytes); err != nil {
			return err
		}
	}
	scores, err := m.Rerank(r.Context(), *req.Query, req.Documents, 0)
	if err != nil {
		return err
	}
	return writeJSON(w, map[string]any{"object": "list", "model": req.Model,
		"results": RerankResults(bert.Rank(scores, req.TopN), req.Documents, req.ReturnDocuments)})
}

type qaRequest struct {
	Model           string  `json:"model"`
	Question        *string `json:"question"`
	Context         *string `json:"context"`
	MaxAnswerTokens int     `json:"max_answer_tokens"`
}

func (s *Server) qa(w http.ResponseWriter, r *http.Request) error {
	var req qaRequest
	if err := decodeJSON(r, &req); err != nil {
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
