package bert

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/lumen-ml/lumen/ops"
)

// Answer is an extractive answer: its text, its byte span in the context, and the
// sum of its start and end logits.
type Answer struct {
	Text       string
	Start, End int
	Score      float32
}

// Answer finds the best answer span to a question in context_: argmax of
// start+end logits over context tokens with start ≤ end < start+maxAnswerTokens.
// enc is the question and context_ encoded as a pair (EncodePair); offsets of the
// context's tokens index context_.
func (m *Model) Answer(ctx context.Context, enc Encoding, context_ string, maxAnswerTokens int) (Answer, error) {
	if maxAnswerTokens <= 0 {
		return Answer{}, fmt.Errorf("%w: max answer length %d", ErrInput, maxAnswerTokens)
	}
	if err := ctx.Err(); err != nil {
		return Answer{}, err
	}
	b := NewBatch([]Encoding{enc})
	hidden, err := m.Forward(b)
	if err != nil {
		return Answer{}, err
	}
	start, end, err := m.QALogits(hidden, b)
	if err != nil {
		return Answer{}, err
	}
	best := Answer{Score: float32(math.Inf(-1)), Start: -1}
	for i := range enc.IDs {
		if enc.SequenceIDs[i] != 1 {
			continue
		}
		for j := i; j < len(enc.IDs) && j < i+maxAnswerTokens; j++ {
			if enc.SequenceIDs[j] != 1 {
				break
			}
			if s := start[i] + end[j]; s > best.Score {
				best = Answer{Start: enc.Offsets[i][0], End: enc.Offsets[j][1], Score: s}
			}
		}
	}
	if best.Start < 0 {
		return Answer{}, fmt.Errorf("%w: the context is empty after truncation", ErrInput)
	}
	if best.End > len(context_) {
		return Answer{}, fmt.Errorf("%w: the encoding's offsets reach byte %d of a %d-byte context", ErrInput, best.End, len(context_))
	}
	best.Text = context_[best.Start:best.End]
	return best, nil
}

// LabelScore is one class with its softmax probability.
type LabelScore struct {
	Label string
	Score float32
}

// Classify returns each encoded text's labels sorted by probability (softmax of the
// classification logits).
func (m *Model) Classify(ctx context.Context, encs []Encoding) ([][]LabelScore, error) {
	logits, err := m.classLogits(ctx, encs)
	if err != nil {
		return nil, err
	}
	n := len(m.labels)
	out := make([][]LabelScore, len(encs))
	for i := range out {
		row := slices.Clone(logits[i*n : (i+1)*n])
		ops.Softmax(row, 1, n)
		for c, p := range row {
			out[i] = append(out[i], LabelScore{m.labels[c], p})
		}
		slices.SortStableFunc(out[i], func(a, b LabelScore) int { return cmp.Compare(b.Score, a.Score) })
	}
	return out, nil
}

// Fill is one candidate for a mask: the token (decoded, as transformers' token_str),
// its id and probability, and the text with the mask replaced.
type Fill struct {
	Token string
	ID    int
	Score float32
	Text  string
}

// FillMask returns the topK most likely tokens for each mask ([MASK], <mask>) in
// text. Text is transformers' fill-mask "sequence": the encoded text with the mask
// replaced, decoded — without the special tokens when there is one mask, with them
// (the other masks kept) when there are several.
func (m *Model) FillMask(ctx context.Context, text string, topK int) ([][]Fill, error) {
	if topK <= 0 {
		return nil, fmt.Errorf("%w: top-k %d", ErrInput, topK)
	}
	if m.tok == nil {
		return nil, fmt.Errorf("%w: the model was loaded without a tokenizer", ErrInput)
	}
	if m.tok.MASK < 0 {
		return nil, fmt.Errorf("%w: the tokenizer has no mask token", ErrInput)
	}
	encs, err := m.Encode([]string{text}, true)
	if err != nil {
		return nil, err
	}
	b, err := m.batch(ctx, encs)
	if err != nil {
		return nil, err
	}
	var rows []int
	for i, id := range b.IDs {
		if id == m.tok.MASK {
			rows = append(rows, i)
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: no %s in %q", ErrInput, m.tok.MaskToken, text)
	}
	hidden, err := m.Forward(b)
	if err != nil {
		return nil, err
	}
	logits, err := m.MLMLogits(hidden, rows)
	if err != nil {
		return nil, err
	}
	V := m.cfg.VocabSize
	engine := m.tok.Engine()
	out := make([][]Fill, len(rows))
	for r, at := range rows {
		row := slices.Clone(logits[r*V : (r+1)*V])
		ops.Softmax(row, 1, V)
		ids := make([]int, V)
		for i := range ids {
			ids[i] = i
		}
		slices.SortStableFunc(ids, func(a, b int) int { return cmp.Compare(row[b], row[a]) })
		filled := slices.Clone(b.IDs)
		for _, id := range ids[:min(topK, V)] {
			filled[at] = id
			tok, err := engine.Decode([]int{id}, false)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrInput, err)
			}
			seq, err := engine.Decode(filled, len(rows) == 1)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrInput, err)
			}
			out[r] = append(out[r], Fill{Token: tok, ID: id, Score: row[id], Text: seq})
		}
	}
	return out, nil
}

// Entity is a span of a text that a token classifier labels (named entities), as
// transformers' token-classification pipeline reports it with the "simple"
// aggregation: consecutive tokens of one label (a B- tag starts a new span, I- and
// untagged labels continue one) grouped, "O" left out.
type Entity struct {
	Label      string  // the label without its B-/I- prefix (entity_group)
	Score      float32 // the mean of its tokens' probabilities
	Word       string  // its tokens, decoded
	Start, End int     // its byte span in the text
}

// Entities labels the tokens of each text with the token-classification head and
// groups them into entities.
func (m *Model) Entities(ctx context.Context, texts []string) ([][]Entity, error) {
	if m.tokenClassifier == nil {
		return nil, fmt.Errorf("%w: the checkpoint has no token-classification head", ErrInput)
	}
	encs, err := m.Encode(texts, false)
	if err != nil {
		return nil, err
	}
	b, hidden, err := m.run(ctx, encs)
	if err != nil {
		return nil, err
	}
	logits, err := m.TokenLogits(hidden, b)
	if err != nil {
		return nil, err
	}
	n := len(m.labels)
	out := make([][]Entity, len(texts))
	for s, e := range encs {
		type tagged struct {
			label      string
			score      float32
			id         int
			start, end int
		}
		var toks []tagged
		for t := range e.IDs {
			if e.SequenceIDs[t] < 0 { // added by the post-processor
				continue
			}
			row := slices.Clone(logits[(s*b.T+t)*n : (s*b.T+t+1)*n])
			ops.Softmax(row, 1, n)
			best := 0
			for c := range row {
				if row[c] > row[best] {
					best = c
				}
			}
			toks = append(toks, tagged{m.labels[best], row[best], e.IDs[t], e.Offsets[t][0], e.Offsets[t][1]})
		}
		for lo := 0; lo < len(toks); {
			_, tag := entityTag(toks[lo].label)
			hi := lo + 1
			for hi < len(toks) {
				bi, next := entityTag(toks[hi].label)
				if next != tag || bi == 'B' {
					break
				}
				hi++
			}
			group := toks[lo:hi]
			lo = hi
			label := group[0].label
			if i := strings.IndexByte(label, '-'); i >= 0 {
				label = label[i+1:]
			}
			if label == "O" {
				continue
			}
			var sum float64
			ids := make([]int, len(group))
			for i, g := range group {
				sum += float64(g.score)
				ids[i] = g.id
			}
			word, err := m.tok.Engine().Decode(ids, false)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrInput, err)
			}
			out[s] = append(out[s], Entity{Label: label, Score: float32(sum / float64(len(group))), Word: word,
				Start: group[0].start, End: group[len(group)-1].end})
		}
	}
	return out, nil
}

// entityTag splits a label into its B/I tag and its entity, as transformers'
// get_tag: an untagged label continues ('I').
func entityTag(label string) (byte, string) {
	if strings.HasPrefix(label, "B-") || strings.HasPrefix(label, "I-") {
		return label[0], label[2:]
	}
	return 'I', label
}

// Embed returns one sentence embedding per encoded text, pooled as the model
// directory says.
func (m *Model) Embed(ctx context.Context, encs []Encoding) ([][]float32, error) {
	return m.EmbedWith(ctx, encs, m.pooling)
}

// EmbedWith is Embed with an explicit pooling.
func (m *Model) EmbedWith(ctx context.Context, encs []Encoding, p Pooling) ([][]float32, error) {
	b, hidden, err := m.run(ctx, encs)
	if err != nil {
		return nil, err
	}
	flat := SentenceEmbeddings(hidden, b, m.cfg.Hidden, p)
	W := len(flat) / b.B
	out := make([][]float32, b.B)
	for i := range out {
		out[i] = flat[i*W : (i+1)*W]
	}
	return out, nil
}

// Encode tokenizes texts for the model, [CLS] text [SEP] each. With truncate, a
// text longer than the model's positions loses its last tokens; without, it is an
// error wrapping ErrInput.
func (m *Model) Encode(texts []string, truncate bool) ([]Encoding, error) {
	encs := make([]Encoding, len(texts))
	for i, t := range texts {
		e, err := m.encode(t, "", false, truncate)
		if err != nil {
			return nil, fmt.Errorf("text %d: %w", i, err)
		}
		encs[i] = e
	}
	return encs, nil
}

// EncodePair tokenizes a text pair, [CLS] a [SEP] b [SEP] (a question and its
// context), truncating the longer text first with truncate, else failing as Encode.
func (m *Model) EncodePair(a, b string, truncate bool) (Encoding, error) {
	return m.encode(a, b, true, truncate)
}

func (m *Model) encode(a, b string, pair, truncate bool) (Encoding, error) {
	maxLen := 0
	if truncate {
		maxLen = m.ContextLength()
	}
	return m.encodeTo(a, b, pair, maxLen)
}

// encodeTo encodes a (and b, for a pair), truncated to maxLen tokens (0: not
// truncated); more tokens than the model's positions are an error.
func (m *Model) encodeTo(a, b string, pair bool, maxLen int) (Encoding, error) {
	if m.tok == nil {
		return Encoding{}, fmt.Errorf("%w: the model was loaded without a tokenizer", ErrInput)
	}
	limit := m.ContextLength()
	e, err := m.tok.encode(a, b, pair, maxLen)
	if err != nil {
		return Encoding{}, fmt.Errorf("%w: %w", ErrInput, err)
	}
	if len(e.IDs) > limit {
		return Encoding{}, fmt.Errorf("%w: %d tokens; the model takes at most %d", ErrInput, len(e.IDs), limit)
	}
	return e, nil
}

// ContextLength returns the most tokens one input may have: max_position_embeddings,
// less pad_token_id+1 for the architectures that count positions from there
// (RoBERTa's 514 positions hold 512 tokens).
func (m *Model) ContextLength() int { return m.arch.maxTokens(m.cfg) }

// run pads encodings into a batch and runs the encoder: the batch and its last
// hidden state.
func (m *Model) run(ctx context.Context, encs []Encoding) (Batch, []float32, error) {
	b, err := m.batch(ctx, encs)
	if err != nil {
		return Batch{}, nil, err
	}
	hidden, err := m.Forward(b)
	return b, hidden, err
}

// batch pads encodings into a batch, after checking the context.
func (m *Model) batch(ctx context.Context, encs []Encoding) (Batch, error) {
	if len(encs) == 0 {
		return Batch{}, fmt.Errorf("%w: no texts", ErrInput)
	}
	if err := ctx.Err(); err != nil {
		return Batch{}, err
	}
	return NewBatch(encs), nil
}

// rerankBatch is the most query–document pairs one forward pass runs.
const rerankBatch = 32

// Rerank scores documents against query with a cross-encoder (a sequence
// classifier with one logit, as sentence-transformers' CrossEncoder models are):
// each pair is encoded as [CLS] query [SEP] document [SEP], truncated longest-first
// to maxLength tokens (0: the model's positions) as CrossEncoder(max_length)
// truncates it, and scored sigmoid(logit), CrossEncoder.predict's default, in
// batches. Scores are in documents' order.
func (m *Model) Rerank(ctx context.Context, query string, documents []string, maxLength int) ([]float32, error) {
	if m.classifier == nil || len(m.labels) != 1 {
		return nil, fmt.Errorf("%w: reranking needs a cross-encoder (a classifier with one label); the model has %d labels", ErrInput, len(m.labels))
	}
	if query == "" || len(documents) == 0 {
		return nil, fmt.Errorf("%w: a query and at least one document are needed", ErrInput)
	}
	if maxLength <= 0 || maxLength > m.ContextLength() {
		maxLength = m.ContextLength()
	}
	encs := make([]Encoding, len(documents))
	for i, doc := range documents {
		e, err := m.encodeTo(query, doc, true, maxLength)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		encs[i] = e
	}
	scores := make([]float32, 0, len(documents))
	for lo := 0; lo < len(encs); lo += rerankBatch {
		logits, err := m.classLogits(ctx, encs[lo:min(lo+rerankBatch, len(encs))])
		if err != nil {
			return nil, err
		}
		for _, l := range logits {
			scores = append(scores, float32(1/(1+math.Exp(-float64(l)))))
		}
	}
	return scores, nil
}

// Ranked is one document's place in a reranking: its index among the documents
// and its relevance score.
type Ranked struct {
	Index int
	Score float32
}

// Rank orders scores from the most relevant, ties by index, keeping the best topN
// (0 or more than there are: all).
func Rank(scores []float32, topN int) []Ranked {
	out := make([]Ranked, len(scores))
	for i, s := range scores {
		out[i] = Ranked{i, s}
	}
	slices.SortStableFunc(out, func(a, b Ranked) int { return cmp.Compare(b.Score, a.Score) })
	if topN > 0 && topN < len(out) {
		out = out[:topN]
	}
	return out
}

// classLogits runs the encoder and the classification head over encs: their
// logits, len(encs) × labels.
func (m *Model) classLogits(ctx context.Context, encs []Encoding) ([]float32, error) {
	b, hidden, err := m.run(ctx, encs)
	if err != nil {
		return nil, err
	}
	return m.ClassLogits(hidden, b)
}
