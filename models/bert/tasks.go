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

// Answer finds the best answer span to question in context: argmax of start+end
// logits over context tokens with start ≤ end < start+maxAnswerTokens. The input is
// truncated to the model's maximum length (the context loses tokens first).
func (m *Model) Answer(ctx context.Context, question, context_ string, maxAnswerTokens int) (Answer, error) {
	if m.tok == nil {
		return Answer{}, fmt.Errorf("%w: the model was loaded without a tokenizer", ErrInput)
	}
	if maxAnswerTokens <= 0 {
		return Answer{}, fmt.Errorf("%w: max answer length %d", ErrInput, maxAnswerTokens)
	}
	enc, err := m.tok.EncodePair(question, context_, m.cfg.MaxPositions)
	if err != nil {
		return Answer{}, err
	}
	if err := ctx.Err(); err != nil {
		return Answer{}, err
	}
	b := NewBatch([]Encoding{enc})
	hidden, err := m.Encode(b)
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
	best.Text = context_[best.Start:best.End]
	return best, nil
}

// LabelScore is one class with its softmax probability.
type LabelScore struct {
	Label string
	Score float32
}

// Classify returns each text's labels sorted by probability (softmax of the
// classification logits).
func (m *Model) Classify(ctx context.Context, texts []string) ([][]LabelScore, error) {
	b, err := m.batchTexts(ctx, texts)
	if err != nil {
		return nil, err
	}
	return m.classifyBatch(b)
}

// ClassifyEncodings is Classify for texts already encoded with the model's tokenizer.
func (m *Model) ClassifyEncodings(encs []Encoding) ([][]LabelScore, error) {
	if len(encs) == 0 {
		return nil, fmt.Errorf("%w: no texts", ErrInput)
	}
	return m.classifyBatch(NewBatch(encs))
}

func (m *Model) classifyBatch(b Batch) ([][]LabelScore, error) {
	hidden, err := m.Encode(b)
	if err != nil {
		return nil, err
	}
	pooled, err := m.Pool(hidden, b)
	if err != nil {
		return nil, err
	}
	logits, err := m.ClassLogits(pooled, b)
	if err != nil {
		return nil, err
	}
	n := len(m.labels)
	out := make([][]LabelScore, b.B)
	for i := range out {
		row := slices.Clone(logits[i*n : (i+1)*n])
		if err := softmax(row); err != nil {
			return nil, err
		}
		for c, p := range row {
			out[i] = append(out[i], LabelScore{m.labels[c], p})
		}
		slices.SortStableFunc(out[i], func(a, b LabelScore) int { return cmp.Compare(b.Score, a.Score) })
	}
	return out, nil
}

// Fill is one candidate for a [MASK]: the token, its probability and the text with
// the mask replaced.
type Fill struct {
	Token string
	ID    int
	Score float32
	Text  string
}

// FillMask returns the topK most likely tokens for each [MASK] in text.
func (m *Model) FillMask(ctx context.Context, text string, topK int) ([][]Fill, error) {
	if topK <= 0 {
		return nil, fmt.Errorf("%w: top-k %d", ErrInput, topK)
	}
	b, err := m.batchTexts(ctx, []string{text})
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
		return nil, fmt.Errorf("%w: no [MASK] in %q", ErrInput, text)
	}
	hidden, err := m.Encode(b)
	if err != nil {
		return nil, err
	}
	logits, err := m.MLMLogits(hidden, rows)
	if err != nil {
		return nil, err
	}
	V := m.cfg.VocabSize
	out := make([][]Fill, len(rows))
	for r := range rows {
		row := slices.Clone(logits[r*V : (r+1)*V])
		if err := softmax(row); err != nil {
			return nil, err
		}
		ids := make([]int, V)
		for i := range ids {
			ids[i] = i
		}
		slices.SortStableFunc(ids, func(a, b int) int { return cmp.Compare(row[b], row[a]) })
		for _, id := range ids[:min(topK, V)] {
			tok := m.tok.Token(id)
			out[r] = append(out[r], Fill{Token: tok, ID: id, Score: row[id], Text: replaceNth(text, "[MASK]", r, tok)})
		}
	}
	return out, nil
}

// Embed returns one sentence embedding per text, pooled as the model directory says.
func (m *Model) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return m.EmbedWith(ctx, texts, m.pooling)
}

// EmbedWith is Embed with an explicit pooling.
func (m *Model) EmbedWith(ctx context.Context, texts []string, p Pooling) ([][]float32, error) {
	b, err := m.batchTexts(ctx, texts)
	if err != nil {
		return nil, err
	}
	return m.embedBatch(b, p)
}

// EmbedEncodings is EmbedWith for texts already encoded with the model's tokenizer.
func (m *Model) EmbedEncodings(encs []Encoding, p Pooling) ([][]float32, error) {
	if len(encs) == 0 {
		return nil, fmt.Errorf("%w: no texts", ErrInput)
	}
	return m.embedBatch(NewBatch(encs), p)
}

func (m *Model) embedBatch(b Batch, p Pooling) ([][]float32, error) {
	hidden, err := m.Encode(b)
	if err != nil {
		return nil, err
	}
	E := m.cfg.Hidden
	flat := SentenceEmbeddings(hidden, b, E, p)
	out := make([][]float32, b.B)
	for i := range out {
		out[i] = flat[i*E : (i+1)*E]
	}
	return out, nil
}

// batchTexts tokenizes texts (truncated to the maximum length) into a padded batch.
func (m *Model) batchTexts(ctx context.Context, texts []string) (Batch, error) {
	if m.tok == nil {
		return Batch{}, fmt.Errorf("%w: the model was loaded without a tokenizer", ErrInput)
	}
	if len(texts) == 0 {
		return Batch{}, fmt.Errorf("%w: no texts", ErrInput)
	}
	encs := make([]Encoding, len(texts))
	for i, t := range texts {
		e, err := m.tok.Encode(t, m.cfg.MaxPositions)
		if err != nil {
			return Batch{}, err
		}
		encs[i] = e
	}
	if err := ctx.Err(); err != nil {
		return Batch{}, err
	}
	return NewBatch(encs), nil
}

func softmax(x []float32) error { return ops.Softmax(x, 1, len(x)) }

// replaceNth replaces the n-th (0-based) occurrence of old in s.
func replaceNth(s, old string, n int, repl string) string {
	pos := 0
	for i := 0; ; i++ {
		j := strings.Index(s[pos:], old)
		if j < 0 {
			return s
		}
		j += pos
		if i == n {
			return s[:j] + repl + s[j+len(old):]
		}
		pos = j + len(old)
	}
}
