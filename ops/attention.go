package ops

import (
	"fmt"
	"math"
)

// MaskValue is the additive mask of a hidden key, and what causal masking writes: the
// most negative float32, as Hugging Face's models use (torch.finfo(float32).min), so
// that a fully masked row stays finite where they keep it finite.
const MaskValue = -math.MaxFloat32

// AttentionShape describes multi-head scaled dot-product attention over a batch of
// sequences, and where the model keeps its operands: a fused QKV projection, a KV
// cache, a padded batch. Strides count float32 elements.
type AttentionShape struct {
	Batch   int // sequences
	Heads   int // attention heads per position
	KVHeads int // key/value heads (0: Heads); grouped-query: query head h reads key/value head h/(Heads/KVHeads)
	HeadDim int // values per head
	Queries int // query positions per sequence
	Keys    int // key (and value) positions per sequence: cached plus new
	Causal  bool
	Past    int     // with Causal: positions before the first query, which sits at Past
	Scale   float32 // multiplies q·k, usually 1/√HeadDim

	QRow, QSeq     int // between query positions, between sequences
	KVRow, KVSeq   int // the same for keys and values
	OutRow, OutSeq int // the same for the output
	MaskSeq        int // between sequences' key masks
}

// Attention computes, for every sequence b and head h,
//
//	out = softmax(Scale · q·kᵀ + mask) · v
//
// where head h of position t of sequence b is q[b·QSeq + t·QRow + h·HeadDim :][:HeadDim]
// (out with the Out strides; k and v with the KV strides, at head h/(Heads/KVHeads)
// when there are fewer key/value heads). With Causal, query i does not
// see keys past Past+i (they get MaskValue). keyMask, when not nil, adds
// keyMask[b·MaskSeq + j] to every score of key j: 0 where attended, MaskValue at
// padding. (sequence, head) pairs run in parallel on ws's pool, each on its worker's
// single-threaded scratch. It panics with an error wrapping ErrArgs on inconsistent
// shapes or short slices.
func Attention(ws *Workspace, s AttentionShape, out, q, k, v, keyMask []float32) {
	AttentionWithBias(ws, s, out, q, k, v, keyMask, nil)
}

// AttentionWithBias is Attention with an additive score bias shared by every
// sequence, as relative position biases are (MPNet's, T5's): when bias is not nil,
// bias[(h·Queries + i)·Keys + j] is added to head h's scaled score of query i and
// key j, before the key mask and the softmax.
func AttentionWithBias(ws *Workspace, s AttentionShape, out, q, k, v, keyMask, bias []float32) {
	s.check(len(out), len(q), len(k), len(v), len(keyMask), keyMask != nil)
	if bias != nil && len(bias) < s.Heads*s.Queries*s.Keys {
		attnPanic(s, "the bias is short (want heads × queries × keys)")
	}
	if s.Batch == 0 || s.Heads == 0 || s.Queries == 0 {
		return
	}
	ws = orTemp(ws)
	j := &ws.attn
	j.s, j.out, j.q, j.k, j.v, j.mask, j.bias = s, out, q, k, v, keyMask, bias
	j.serial = ws.serialWorkspaces()
	for len(j.scores) < len(ws.scratch) {
		j.scores = append(j.scores, nil)
	}
	for w := range j.scores {
		// Decode adds a key per step: grow geometrically, not by one row each time.
		if n := s.Queries * s.Keys; cap(j.scores[w]) < n {
			j.scores[w] = make([]float32, max(n, 2*cap(j.scores[w]), 1024))
		}
	}
	ws.run(s.Batch*s.Heads, j)
	j.out, j.q, j.k, j.v, j.mask, j.bias = nil, nil, nil, nil, nil, nil
}

func (s AttentionShape) check(nOut, nQ, nK, nV, nMask int, masked bool) {
	if s.Batch < 0 || s.Heads < 0 || s.HeadDim <= 0 || s.Queries < 0 || s.Keys <= 0 || s.Past < 0 {
		attnPanic(s, "negative or zero size")
	}
	if s.Causal && s.Past+s.Queries > s.Keys {
		attnPanic(s, "past + queries exceed the keys")
	}
	if s.KVHeads < 0 || (s.KVHeads > 0 && s.Heads%s.KVHeads != 0) {
		attnPanic(s, "the heads are not a multiple of the key/value heads")
	}
	if s.Batch == 0 || s.Heads == 0 || s.Queries == 0 {
		return
	}
	s.need("q", nQ, s.QRow, s.QSeq, s.Queries, s.Heads)
	s.need("k", nK, s.KVRow, s.KVSeq, s.Keys, s.kvHeads())
	s.need("v", nV, s.KVRow, s.KVSeq, s.Keys, s.kvHeads())
	s.need("out", nOut, s.OutRow, s.OutSeq, s.Queries, s.Heads)
	if masked && nMask < (s.Batch-1)*s.MaskSeq+s.Keys {
		attnPanic(s, "the key mask is short")
	}
}

// kvHeads is KVHeads, or Heads when it is 0.
func (s AttentionShape) kvHeads() int {
	if s.KVHeads == 0 {
		return s.Heads
	}
	return s.KVHeads
}

// need checks that an operand of rows positions per sequence, heads heads each,
// fits in have values.
func (s AttentionShape) need(name string, have, row, seq, rows, heads int) {
	width := heads * s.HeadDim
	if row < width && rows > 1 {
		attnPanic(s, name+"'s row stride is less than heads × head size")
	}
	if have < (s.Batch-1)*seq+(rows-1)*row+width {
		attnPanic(s, name+" is short")
	}
}

// attnPanic reports a programmer error; it is apart so that the checks' fast path
// allocates nothing.
func attnPanic(s AttentionShape, what string) {
	panic(fmt.Errorf("%w: Attention %+v: %s", ErrArgs, s, what))
}

// attnJob runs one (sequence, head) pair per item.
type attnJob struct {
	s            AttentionShape
	out, q, k, v []float32
	mask         []float32
	bias         []float32    // Heads × Queries × Keys, or nil
	scores       [][]float32  // per worker: Queries × Keys
	serial       []*Workspace // per worker: single-threaded products
}

func (j *attnJob) Do(w, item int) {
	s := j.s
	b, h := item/s.Heads, item%s.Heads
	tq, tk, d := s.Queries, s.Keys, s.HeadDim
	scores := j.scores[w][:tq*tk]
	sw := j.serial[w]
	qo, kvo, oo := b*s.QSeq+h*d, b*s.KVSeq+h/(s.Heads/s.kvHeads())*d, b*s.OutSeq+h*d
	Sgemm(sw, false, true, tq, tk, d, s.Scale, j.q[qo:], s.QRow, j.k[kvo:], s.KVRow, 0, scores, tk)
	for i := 0; i < tq; i++ {
		// A causal query's softmax runs over exactly the keys it sees and the rest are
		// 0: with the products summed in the GEMM's order whatever the number of
		// queries, a query's output is the same bits in a whole-prompt prefill, a
		// chunked one and a decode step.
		row := scores[i*tk : i*tk+tk]
		seen := tk
		if s.Causal {
			seen = s.Past + i + 1
		}
		if j.bias != nil {
			Add(row[:seen], row[:seen], j.bias[(h*tq+i)*tk:][:seen])
		}
		if j.mask != nil {
			for c, m := range j.mask[b*s.MaskSeq : b*s.MaskSeq+seen] {
				row[c] += m
			}
		}
		Softmax(row[:seen], 1, seen)
		clear(row[seen:])
	}
	Sgemm(sw, false, false, tq, d, tk, 1, scores, tk, j.v[kvo:], s.KVRow, 0, j.out[oo:], s.OutRow)
}
