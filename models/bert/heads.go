package bert

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
)

// LMPredictor is the masked-LM head (BERT's cls.predictions, RoBERTa's and MPNet's
// lm_head, DistilBERT's vocab_*): a transform (dense, activation, LayerNorm), then a
// decoder tied to the word embeddings, plus a bias.
type LMPredictor struct {
	transform nn.Linear     // transform.dense / lm_head.dense / vocab_transform
	act       nn.Activation // hidden_act; gelu in lm_head
	norm      nn.LayerNorm  // transform.LayerNorm / lm_head.layer_norm / vocab_layer_norm
	decoder   nn.Linear     // the word embeddings (or the stored decoder), transposed, with the bias
}

// ClassificationHead is a sequence classifier on the first token's hidden state:
// out(act(pre(h[0]))) — BERT's pooler (tanh) and classifier, RoBERTa's and MPNet's
// classifier.dense (tanh) and classifier.out_proj, DistilBERT's pre_classifier (ReLU)
// and classifier.
type ClassificationHead struct {
	pre  *nn.Linear // BERT: the model's pooler
	relu bool       // ReLU after pre, else tanh
	out  nn.Linear
}

// tokenClassification reports whether the checkpoint's classifier labels tokens
// rather than sequences: config.json's architectures says so, or, without it, a
// classifier without the sequence head's first layer where that layer is part of
// the head (RoBERTa's classifier.dense, DistilBERT's pre_classifier).
func (m *Model) tokenClassification(vb *nn.Builder) bool {
	for _, a := range m.cfg.Architectures {
		if strings.HasSuffix(a, "ForTokenClassification") {
			return true
		}
		if strings.HasSuffix(a, "ForSequenceClassification") {
			return false
		}
	}
	return !m.arch.preInBase && !vb.Has(m.arch.seqPre+".weight")
}

// loadHeads reads the heads the checkpoint has.
func (m *Model) loadHeads(vb *nn.Builder) {
	a, E, V := m.arch, m.cfg.Hidden, m.cfg.VocabSize
	linear := func(name string, out int) *nn.Linear {
		l := vb.Linear(name, out, E)
		return &l
	}
	if vb.Has("pooler.dense.weight") {
		m.pooler = linear("pooler.dense", E)
	}
	if vb.Has("qa_outputs.weight") {
		m.qaOutputs = linear("qa_outputs", 2)
	}
	labels := func(n int) {
		for i := 0; i < n; i++ {
			label, ok := m.cfg.ID2Label[strconv.Itoa(i)]
			if !ok {
				label = fmt.Sprintf("LABEL_%d", i)
			}
			m.labels = append(m.labels, label)
		}
	}
	switch out := a.seqOut + ".weight"; {
	case vb.Has("classifier.weight") && m.tokenClassification(vb):
		n := vb.Dim("classifier.weight", 0)
		m.tokenClassifier = linear("classifier", n)
		labels(n)
	case vb.Has(out):
		n := vb.Dim(out, 0)
		h := &ClassificationHead{out: *linear(a.seqOut, n), relu: a.seqPreReLU}
		if a.preInBase {
			if m.pooler == nil { // BERT's classifier reads the pooler's output
				m.pooler = linear(a.seqPre, E)
			}
			h.pre = m.pooler
		} else {
			h.pre = linear(a.seqPre, E)
		}
		m.classifier = h
		labels(n)
	}
	if vb.Has("cls.seq_relationship.weight") {
		m.seqRelationship = linear("cls.seq_relationship", 2)
	}
	if vb.Has(a.mlmDense + ".weight") {
		p := &LMPredictor{
			transform: vb.Linear(a.mlmDense, E, E),
			act:       m.act,
			norm:      vb.LayerNorm(a.mlmNorm, E, m.cfg.LayerNormEps),
		}
		if a.mlmGELU {
			p.act = nn.GELU
		}
		decoder := "embeddings.word_embeddings.weight" // tied, as save_pretrained leaves it
		if vb.Has(a.mlmDecoder + ".weight") {
			decoder = a.mlmDecoder + ".weight"
		}
		p.decoder = nn.Linear{Weight: vb.Matrix(decoder, true, V, E), Bias: vb.F32(a.mlmBias, V)}
		m.predictions = p
	}
}

// PooledOutput applies the pooler, tanh(W·h[CLS] + b), to each sequence of hidden
// (B×T×E): transformers' pooler_output.
func (m *Model) PooledOutput(hidden []float32, b Batch) ([]float32, error) {
	if m.pooler == nil {
		return nil, fmt.Errorf("%w: the checkpoint has no pooler", ErrInput)
	}
	E := m.cfg.Hidden
	if err := checkInput("hidden", hidden, b, b.T*E); err != nil {
		return nil, err
	}
	cls := make([]float32, b.B*E)
	for s := 0; s < b.B; s++ {
		copy(cls[s*E:(s+1)*E], hidden[s*b.T*E:])
	}
	out := make([]float32, b.B*E)
	m.linear(*m.pooler, out, cls, b.B)
	for i, v := range out {
		out[i] = float32(math.Tanh(float64(v)))
	}
	return out, nil
}

// checkInput reports a head's input that is not b.B rows of width values (the
// caller's mistake, not a panic in ops).
func checkInput(name string, x []float32, b Batch, width int) error {
	if b.B <= 0 || b.T <= 0 || len(x) != b.B*width {
		return fmt.Errorf("%w: %s has %d values, want %d sequences × %d (batch of %d × %d tokens)", ErrInput, name, len(x), b.B, width, b.B, b.T)
	}
	return nil
}

// linear runs l on a workspace of the model's.
func (m *Model) linear(l nn.Linear, y, x []float32, rows int) {
	sc := m.workspace()
	defer m.release(sc)
	l.Forward(sc.ws, y, x, rows)
}

// SentenceEmbeddings pools hidden (B×T×E) into one vector per sequence, as
// sentence-transformers' Pooling module does, over the tokens with mask 1 (right
// padding): the modes' vectors side by side (p.Modes.Count()·E values a sequence),
// through p.Dense, L2-normalised with p.Normalize.
func SentenceEmbeddings(hidden []float32, b Batch, E int, p Pooling) []float32 {
	modes := p.Modes
	if modes == 0 {
		modes = PoolMean
	}
	W := modes.Count() * E
	out := make([]float32, b.B*W)
	acc := make([]float64, E)
	for s := 0; s < b.B; s++ {
		row := func(t int) []float32 { return hidden[(s*b.T+t)*E : (s*b.T+t+1)*E] }
		n, last := 0, 0
		for t := 0; t < b.T; t++ {
			if b.Mask[s*b.T+t] != 0 {
				n, last = n+1, t
			}
		}
		dst := out[s*W : (s+1)*W]
		off := 0
		for _, pm := range poolModes {
			if modes&pm.mode == 0 {
				continue
			}
			v := dst[off : off+E]
			off += E
			switch pm.mode {
			case PoolCLS:
				copy(v, row(0))
			case PoolLastToken:
				copy(v, row(last))
			case PoolMax:
				for j := range v {
					v[j] = -1e9 // sentence-transformers' fill for padding
				}
				for t := 0; t < b.T; t++ {
					if b.Mask[s*b.T+t] != 0 {
						for j, x := range row(t) {
							v[j] = max(v[j], x)
						}
					}
				}
			default: // sums over the real tokens, weighted by position for weightedmean
				clear(acc)
				var wsum float64
				for t := 0; t < b.T; t++ {
					if b.Mask[s*b.T+t] == 0 {
						continue
					}
					w := 1.0
					if pm.mode == PoolWeightedMean {
						w = float64(t + 1)
					}
					wsum += w
					for j, x := range row(t) {
						acc[j] += w * float64(x)
					}
				}
				div := max(wsum, 1e-9)
				if pm.mode == PoolMeanSqrtLen {
					div = math.Sqrt(max(wsum, 1e-9))
				}
				for j := range v {
					v[j] = float32(acc[j] / div)
				}
			}
		}
	}
	for _, d := range p.Dense {
		next := make([]float32, b.B*d.Linear.Out())
		d.Linear.Forward(nil, next, out, b.B)
		if d.Tanh {
			for i, v := range next {
				next[i] = float32(math.Tanh(float64(v)))
			}
		}
		out = next
	}
	if p.Normalize {
		W := len(out) / b.B
		for s := 0; s < b.B; s++ {
			Normalize(out[s*W : (s+1)*W])
		}
	}
	return out
}

// Normalize scales v in place to unit L2 norm, as sentence-transformers' Normalize
// module does (a zero vector stays zero).
func Normalize(v []float32) {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	inv := 1 / math.Max(math.Sqrt(ss), 1e-12)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
}

// QALogits returns start and end logits (B×T each) from the question-answering head.
func (m *Model) QALogits(hidden []float32, b Batch) (start, end []float32, err error) {
	if m.qaOutputs == nil {
		return nil, nil, fmt.Errorf("%w: the checkpoint has no qa_outputs head", ErrInput)
	}
	if err := checkInput("hidden", hidden, b, b.T*m.cfg.Hidden); err != nil {
		return nil, nil, err
	}
	M := b.B * b.T
	both := make([]float32, M*2)
	m.linear(*m.qaOutputs, both, hidden, M)
	start, end = make([]float32, M), make([]float32, M)
	for i := 0; i < M; i++ {
		start[i], end[i] = both[2*i], both[2*i+1]
	}
	return start, end, nil
}

// ClassLogits returns the sequence-classification logits (B×labels) from the last
// hidden state (B×T×E): the classification head on each sequence's first token.
func (m *Model) ClassLogits(hidden []float32, b Batch) ([]float32, error) {
	c := m.classifier
	if c == nil {
		return nil, fmt.Errorf("%w: the checkpoint has no sequence-classification head", ErrInput)
	}
	E := m.cfg.Hidden
	if err := checkInput("hidden", hidden, b, b.T*E); err != nil {
		return nil, err
	}
	first := make([]float32, b.B*E)
	for s := 0; s < b.B; s++ {
		copy(first[s*E:(s+1)*E], hidden[s*b.T*E:])
	}
	pre := make([]float32, b.B*E)
	m.linear(*c.pre, pre, first, b.B)
	if c.relu {
		ops.ReLU(pre)
	} else {
		for i, v := range pre {
			pre[i] = float32(math.Tanh(float64(v)))
		}
	}
	out := make([]float32, b.B*len(m.labels))
	m.linear(c.out, out, pre, b.B)
	return out, nil
}

// TokenLogits returns the token-classification logits (B×T×labels) from the last
// hidden state (B×T×E).
func (m *Model) TokenLogits(hidden []float32, b Batch) ([]float32, error) {
	if m.tokenClassifier == nil {
		return nil, fmt.Errorf("%w: the checkpoint has no token-classification head", ErrInput)
	}
	if err := checkInput("hidden", hidden, b, b.T*m.cfg.Hidden); err != nil {
		return nil, err
	}
	out := make([]float32, b.B*b.T*len(m.labels))
	m.linear(*m.tokenClassifier, out, hidden, b.B*b.T)
	return out, nil
}

// NSPLogits returns next-sentence-prediction logits (B×2) from pooled output.
func (m *Model) NSPLogits(pooled []float32, b Batch) ([]float32, error) {
	if m.seqRelationship == nil {
		return nil, fmt.Errorf("%w: the checkpoint has no cls.seq_relationship head", ErrInput)
	}
	if err := checkInput("pooled", pooled, b, m.cfg.Hidden); err != nil {
		return nil, err
	}
	out := make([]float32, b.B*2)
	m.linear(*m.seqRelationship, out, pooled, b.B)
	return out, nil
}

// MLMLogits returns vocabulary logits (len(rows)×vocab) at the given token rows of
// hidden (indices into the B·T rows): transform (dense, activation, LayerNorm), then
// the decoder tied to the word embeddings, plus its bias.
func (m *Model) MLMLogits(hidden []float32, rows []int) ([]float32, error) {
	p := m.predictions
	if p == nil {
		return nil, fmt.Errorf("%w: the checkpoint has no masked-LM head", ErrInput)
	}
	E, V := m.cfg.Hidden, m.cfg.VocabSize
	sel := make([]float32, len(rows)*E)
	for i, r := range rows {
		if r < 0 || (r+1)*E > len(hidden) {
			return nil, fmt.Errorf("%w: row %d outside the hidden state", ErrInput, r)
		}
		copy(sel[i*E:(i+1)*E], hidden[r*E:])
	}
	h := make([]float32, len(rows)*E)
	m.linear(p.transform, h, sel, len(rows))
	p.act.Forward(h)
	p.norm.Forward(h, h, len(rows))
	out := make([]float32, len(rows)*V)
	m.linear(p.decoder, out, h, len(rows))
	return out, nil
}
