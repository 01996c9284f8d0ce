package ops

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/lumen-ml/lumen/ops/asm"
	"github.com/lumen-ml/lumen/tensor"
)

// QType is a ggml storage format of a weight matrix: floats, or quantised blocks.
// Its values are ggml's (enum ggml_type), so a GGUF tensor's type converts directly.
type QType uint32

// The ggml formats the operators take (those of llama.cpp's common Q4_K_M, Q5_K_M
// and Q8_0 files, and the legacy ones).
const (
	QF32  QType = 0
	QF16  QType = 1
	Q4_0  QType = 2
	Q4_1  QType = 3
	Q5_0  QType = 6
	Q5_1  QType = 7
	Q8_0  QType = 8
	Q2_K  QType = 10
	Q3_K  QType = 11
	Q4_K  QType = 12
	Q5_K  QType = 13
	Q6_K  QType = 14
	QBF16 QType = 30
)

var qtypes = map[QType]struct {
	name         string
	elems, bytes int
}{
	QF32: {"F32", 1, 4}, QF16: {"F16", 1, 2}, QBF16: {"BF16", 1, 2},
	Q4_0: {"Q4_0", 32, 18}, Q4_1: {"Q4_1", 32, 20}, Q5_0: {"Q5_0", 32, 22}, Q5_1: {"Q5_1", 32, 24},
	Q8_0: {"Q8_0", 32, 34}, Q2_K: {"Q2_K", 256, 84}, Q3_K: {"Q3_K", 256, 110}, Q4_K: {"Q4_K", 256, 144},
	Q5_K: {"Q5_K", 256, 176}, Q6_K: {"Q6_K", 256, 210},
}

// Supported reports whether the operators take the format.
func (t QType) Supported() bool { _, ok := qtypes[t]; return ok }

func (t QType) String() string {
	if q, ok := qtypes[t]; ok {
		return q.name
	}
	return fmt.Sprintf("ggml_type(%d)", uint32(t))
}

// Block returns the elements and bytes of one block (1 and the element size for
// the float formats).
func (t QType) Block() (elems, bytes int) {
	q, ok := qtypes[t]
	if !ok {
		panic(fmt.Sprintf("ops: %v is not a supported ggml format", t))
	}
	return q.elems, q.bytes
}

// RowBytes is the size of a row of n elements (n a multiple of the block).
func (t QType) RowBytes(n int) int {
	e, b := t.Block()
	return n / e * b
}

func f16(p []byte) float32 { return tensor.F16ToF32(binary.LittleEndian.Uint16(p)) }

// Dequantize writes the values of the blocks in src to dst, exactly as gguf-py's
// dequantize (every float32 operation rounded in its order). len(dst) must be the
// elements src holds; it returns an error wrapping ErrArgs otherwise.
func Dequantize(t QType, dst []float32, src []byte) error {
	if !t.Supported() {
		return fmt.Errorf("%w: Dequantize: %v is not a supported ggml format", ErrArgs, t)
	}
	e, b := t.Block()
	if len(src)%b != 0 || len(src)/b*e != len(dst) {
		return fmt.Errorf("%w: Dequantize %v: %d bytes for %d values (blocks of %d values in %d bytes)", ErrArgs, t, len(src), len(dst), e, b)
	}
	switch t {
	case QF32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case QF16:
		tensor.F16BytesToF32(dst, src)
	case QBF16:
		tensor.BF16BytesToF32(dst, src)
	default:
		for i := 0; i < len(src)/b; i++ {
			dequantBlock(t, dst[i*e:(i+1)*e], src[i*b:(i+1)*b])
		}
	}
	return nil
}

// dequantBlock expands one block of a quantised format. The explicit float32
// conversions keep the compiler from fusing a multiply and an add, so the result is
// gguf-py's bit for bit.
func dequantBlock(t QType, y []float32, x []byte) {
	switch t {
	case Q4_0:
		d := f16(x)
		for j := range 16 {
			y[j] = d * float32(int(x[2+j]&15)-8)
			y[j+16] = d * float32(int(x[2+j]>>4)-8)
		}
	case Q4_1:
		d, m := f16(x), f16(x[2:])
		for j := range 16 {
			y[j] = float32(d*float32(x[4+j]&15)) + m
			y[j+16] = float32(d*float32(x[4+j]>>4)) + m
		}
	case Q5_0, Q5_1:
		d := f16(x)
		var m float32
		o := 2
		if t == Q5_1 {
			m, o = f16(x[2:]), 4
		}
		qh := binary.LittleEndian.Uint32(x[o:])
		qs := x[o+4:]
		for j := range 16 {
			lo := int(qs[j]&15) | int(qh>>j&1)<<4
			hi := int(qs[j]>>4) | int(qh>>(j+16)&1)<<4
			if t == Q5_0 {
				y[j], y[j+16] = d*float32(lo-16), d*float32(hi-16)
			} else {
				y[j], y[j+16] = float32(d*float32(lo))+m, float32(d*float32(hi))+m
			}
		}
	case Q8_0:
		d := f16(x)
		for j := range 32 {
			y[j] = float32(int8(x[2+j])) * d
		}
	case Q2_K:
		sc, qs := x[:16], x[16:80]
		d, dmin := f16(x[80:]), f16(x[82:])
		for e := range 256 {
			c, s, l := e/128, e%128/32, e%32
			q := float32(qs[32*c+l] >> (2 * s) & 3)
			g := sc[e/16]
			dl, ml := d*float32(g&15), dmin*float32(g>>4)
			y[e] = float32(dl*q) - ml
		}
	case Q3_K:
		hmask, qs, sc := x[:32], x[32:96], x[96:108]
		d := f16(x[108:])
		var scales [16]float32
		for i := range 16 {
			lo := sc[i%8] >> (4 * (i / 8)) & 15
			hi := sc[8+i%4] >> (2 * (i / 4)) & 3
			scales[i] = float32(int8(lo|hi<<4) - 32)
		}
		for e := range 256 {
			c, s, l := e/128, e%128/32, e%32
			ql := int8(qs[32*c+l] >> (2 * s) & 3)
			qh := int8(hmask[l]>>(e/32)&1) ^ 1
			y[e] = float32(d*scales[e/16]) * float32(ql-qh<<2)
		}
	case Q4_K, Q5_K:
		d, dmin := f16(x), f16(x[2:])
		sc, mn := kScaleMin(x[4:16])
		qh, qs := []byte(nil), x[16:]
		if t == Q5_K {
			qh, qs = x[16:48], x[48:]
		}
		for e := range 256 {
			g, l := e/32, e%32
			q := int(qs[32*(g/2)+l] >> (4 * (g % 2)) & 15)
			if qh != nil {
				q |= int(qh[l]>>g&1) << 4
			}
			y[e] = float32(float32(d*float32(sc[g]))*float32(q)) - dmin*float32(mn[g])
		}
	case Q6_K:
		ql, qh, sc := x[:128], x[128:192], x[192:208]
		d := f16(x[208:])
		for e := range 256 {
			c := e / 128
			lo := ql[64*c+e%64] >> (4 * (e % 128 / 64)) & 15
			hi := qh[32*c+e%32] >> (2 * (e % 128 / 32)) & 3
			q := int8(lo|hi<<4) - 32
			y[e] = float32(d*float32(int8(sc[e/16]))) * float32(q)
		}
	}
}

// kScaleMin unpacks the eight 6-bit scales and minimums of a Q4_K/Q5_K block.
func kScaleMin(s []byte) (sc, mn [8]uint8) {
	for j := range 4 {
		sc[j], mn[j] = s[j]&63, s[j+4]&63
		sc[j+4] = s[j+8]&15 | (s[j]>>6)<<4
		mn[j+4] = s[j+8]>>4 | (s[j+4]>>6)<<4
	}
	return sc, mn
}

// QMatrix is a Rows×Cols weight matrix in a ggml format, row-major: row i is output
// feature i, as ggml and nn.Linear store them. It holds the blocks it was given (a
// view into a mapped GGUF file, typically) and never copies or widens them. A
// QMatrix is read-only and safe for concurrent use.
type QMatrix struct {
	t          QType
	rows, cols int
	rowBytes   int
	data       []byte
}

// NewQMatrix wraps the blocks of a rows×cols matrix. It returns an error wrapping
// ErrArgs if the format is not supported, cols is not whole blocks, or data is not
// the matrix's size.
func NewQMatrix(t QType, rows, cols int, data []byte) (*QMatrix, error) {
	if !t.Supported() {
		return nil, fmt.Errorf("%w: %v is not a supported ggml format", ErrArgs, t)
	}
	e, _ := t.Block()
	if rows <= 0 || cols <= 0 || cols%e != 0 {
		return nil, fmt.Errorf("%w: a %d×%d %v matrix (rows of whole %d-element blocks)", ErrArgs, rows, cols, t, e)
	}
	rb := t.RowBytes(cols)
	if len(data) != rows*rb {
		return nil, fmt.Errorf("%w: a %d×%d %v matrix is %d bytes, got %d", ErrArgs, rows, cols, t, rows*rb, len(data))
	}
	return &QMatrix{t: t, rows: rows, cols: cols, rowBytes: rb, data: data}, nil
}

// Type is the matrix's format.
func (m *QMatrix) Type() QType { return m.t }

// Rows is the number of rows (output features).
func (m *QMatrix) Rows() int { return m.rows }

// Cols is the number of columns (input features).
func (m *QMatrix) Cols() int { return m.cols }

// Bytes is the size of the blocks.
func (m *QMatrix) Bytes() int { return len(m.data) }

// Row writes row i's values to dst (Cols long).
func (m *QMatrix) Row(i int, dst []float32) {
	if i < 0 || i >= m.rows || len(dst) != m.cols {
		panic(fmt.Errorf("%w: QMatrix.Row(%d) into %d values of a %d×%d matrix", ErrArgs, i, len(dst), m.rows, m.cols))
	}
	must(Dequantize(m.t, dst, m.data[i*m.rowBytes:(i+1)*m.rowBytes]))
}

// QAct chooses how QLinear treats the activations.
type QAct int

const (
	// QActQ8 quantises each activation row to 8-bit blocks of 32 (llama.cpp's Q8_0/
	// Q8_1) and sums the block products in int32: the fast path, for Q4_0, Q4_1 and
	// Q8_0 weights. The other formats take the F32 path whatever the choice.
	QActQ8 QAct = iota
	// QActF32 keeps the activations in float32: each block of weights is widened in
	// a small per-worker buffer and multiplied in float32 (the accurate path).
	QActF32
)

func (a QAct) String() string {
	if a == QActF32 {
		return "f32"
	}
	return "q8"
}

// qChunk is the weight rows of one QLinear work item: small enough to stay in the
// L2 cache while every activation row passes over them (128 rows of 1536 Q4_1
// values are 123 KB), long enough for the hardware prefetcher to stream them from
// DRAM at decode. SmolLM2 decode at 2 threads (Zen 4): 32 rows 101–105 tokens/s,
// 128 rows 131–144; prefill 128 at 1 thread 164–175 → 172–189.
const qChunk = 128

// QLinear computes y = x·Wᵀ for rows rows: x is rows×Cols, y rows×Rows. The blocks
// are multiplied where they lie (never widened into a whole matrix); ws runs the
// work over its pool (nil: single-threaded). Inconsistent lengths panic with an error
// wrapping ErrArgs.
func QLinear(ws *Workspace, y, x []float32, rows int, w *QMatrix, act QAct) {
	if w == nil || rows < 0 || len(x) != rows*w.cols || len(y) != rows*w.rows {
		panic(fmt.Errorf("%w: QLinear of %d rows: x has %d values, y %d, for a %v weight", ErrArgs, rows, len(x), len(y), w))
	}
	if rows == 0 {
		return
	}
	ws = orTemp(ws)
	j := &ws.q
	*j = qJob{w: w, x: x, y: y, rows: rows, l: asm.Best, act: j.act, serial: j.serial, deq: j.deq, packs: j.packs, tmp: j.tmp}
	if wt, ok := q8Weight(w.t); ok && act == QActQ8 {
		j.wt, j.q8 = wt, true
		nb := w.cols / 32
		if cap(j.act) < rows*nb {
			j.act = make([]asm.Q8Block, rows*nb)
		}
		j.act = j.act[:rows*nb]
		if rows < qQuantRows {
			for i := range rows {
				asm.QuantizeQ8(j.l, j.act[i*nb:(i+1)*nb], x[i*w.cols:(i+1)*w.cols])
			}
		} else { // prefill: the rows' quantisation over the pool too
			ws.run((rows+qQuantRows-1)/qQuantRows, (*qQuantJob)(j))
		}
		j.packRows(ws)
	} else {
		j.serial = ws.serialWorkspaces()
		for len(j.deq) < len(j.serial) {
			j.deq = append(j.deq, nil)
		}
	}
	ws.run((w.rows+qChunk-1)/qChunk, j)
	j.x, j.y, j.w = nil, nil, nil
}

// qPackMin is the fewest activation rows that go through asm.QGemm16 as one group
// of (up to) 16: it costs the same for 1 row as for 16, about three QGemv2 rows'
// worth per row of 16, so a group of 6 or more is cheaper than pairs (SmolLM2's
// 1536×576 Q4_1 up projection, Xeon SPR: 10.9 µs a row in groups of 16, 31.8 in pairs).
const qPackMin = 6

// packRows packs the quantised activation rows for asm.QGemm16 where the level has
// it: whole groups of 16, and a last group of at least qPackMin; the rows after the
// packs (j.packed of them are packed) go in pairs through QGemv2. Same bits either way.
func (j *qJob) packRows(ws *Workspace) {
	j.packed = 0
	if !asm.HasQGemm16(j.l, j.wt) || j.rows < qPackMin {
		return
	}
	nb := j.w.cols / 32
	groups := j.rows / 16
	if j.rows%16 >= qPackMin {
		groups++
	}
	for len(j.packs) < groups {
		j.packs = append(j.packs, asm.Q8Pack16{})
	}
	var rows [16][]asm.Q8Block
	for g := range groups {
		n := min(16, j.rows-16*g)
		for i := range n {
			r := 16*g + i
			rows[i] = j.act[r*nb : (r+1)*nb]
		}
		asm.PackQ8x16(&j.packs[g], rows[:n])
		j.packed += n
	}
	for len(j.tmp) < ws.threads() {
		j.tmp = append(j.tmp, nil)
	}
}

// qQuantRows is the activation rows one item of qQuantJob quantises; fewer rows
// are quantised on the caller.
const qQuantRows = 8

// qQuantJob quantises QLinear's activation rows, qQuantRows per item.
type qQuantJob qJob

func (j *qQuantJob) Do(_, item int) {
	cols := j.w.cols
	nb := cols / 32
	for i := item * qQuantRows; i < min((item+1)*qQuantRows, j.rows); i++ {
		asm.QuantizeQ8(j.l, j.act[i*nb:(i+1)*nb], j.x[i*cols:(i+1)*cols])
	}
}

// String describes the matrix ("Q4_1 576×1536").
func (m *QMatrix) String() string {
	if m == nil {
		return "nil"
	}
	return fmt.Sprintf("%v %d×%d", m.t, m.rows, m.cols)
}

func q8Weight(t QType) (asm.QWeight, bool) {
	switch t {
	case Q4_0:
		return asm.QW4_0, true
	case Q4_1:
		return asm.QW4_1, true
	case Q8_0:
		return asm.QW8_0, true
	}
	return 0, false
}

// qJob is one QLinear call; an item is qChunk weight rows against every activation row.
type qJob struct {
	w      *QMatrix
	x, y   []float32
	rows   int
	l      asm.Level
	q8     bool
	wt     asm.QWeight
	act    []asm.Q8Block  // rows × Cols/32, when q8
	serial []*Workspace   // per worker, for the F32 path's products
	deq    [][]float32    // per worker: the F32 path's widened rows, qChunk × Cols
	packs  []asm.Q8Pack16 // the first packed activation rows in groups of 16, when q8 (packRows)
	packed int
	tmp    [][]float32 // per worker: a chunk's QGemm16 results, qChunk × 16
}

func (j *qJob) Do(w, item int) {
	m := j.w
	r0 := item * qChunk
	r1 := min(r0+qChunk, m.rows)
	if j.q8 {
		nb := m.cols / 32
		blocks := m.data[r0*m.rowBytes : r1*m.rowBytes]
		act := func(i int) []asm.Q8Block { return j.act[i*nb : (i+1)*nb] }
		out := func(i int) []float32 { return j.y[i*m.rows+r0 : i*m.rows+r1] }
		for g := 0; 16*g < j.packed; g++ { // 16 activation rows per pass
			p := &j.packs[g]
			t := grow(&j.tmp[w], (r1-r0)*16)
			must(asm.QGemm16(j.l, j.wt, blocks, m.rowBytes, p, t))
			for i := range p.Rows() {
				o := out(16*g + i)
				for r := range o {
					o[r] = t[r*16+i]
				}
			}
		}
		i := j.packed
		for ; i+1 < j.rows; i += 2 { // two activation rows per pass over the chunk
			must(asm.QGemv2(j.l, j.wt, blocks, m.rowBytes, act(i), act(i+1), out(i), out(i+1)))
		}
		if i < j.rows {
			must(asm.QGemv(j.l, j.wt, blocks, m.rowBytes, act(i), out(i)))
		}
		return
	}
	sw := j.serial[w]
	buf := grow(&j.deq[w], (r1-r0)*m.cols)
	must(Dequantize(m.t, buf, m.data[r0*m.rowBytes:r1*m.rowBytes]))
	sgemm(sw, j.l, false, true, j.rows, r1-r0, m.cols, 1, j.x, m.cols, buf, m.cols, 0, j.y[r0:], m.rows)
}
