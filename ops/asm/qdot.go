package asm

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/lumen-ml/lumen/tensor"
)

// ggml block products: a weight row stored in ggml's blocks of 32 (Q4_0, Q4_1,
// Q8_0) times an activation row quantised to Q8Blocks, summed in int32 within a
// block and in float32 across blocks — llama.cpp's scheme (its Q8_0 / Q8_1
// activation blocks).
//
// Weight blocks (ggml's block_q4_0, block_q4_1, block_q8_0):
//   - Q4_0, 18 bytes: d (float16), 16 bytes of nibbles; element j < 16 is the low
//     nibble of byte j, element j+16 its high nibble; value d·(nibble − 8).
//   - Q4_1, 20 bytes: d, m (float16), 16 bytes of nibbles as Q4_0; value d·nibble + m.
//   - Q8_0, 34 bytes: d (float16), 32 int8; value d·q.

// Q8Block is 32 activations quantised to int8: value D·Qs[i]. S is D·ΣQs, the
// term that the offsets of the Q4_1 format multiply.
type Q8Block struct {
	D, S float32
	Qs   [32]int8
}

// QWeight names a ggml weight format these kernels take.
type QWeight int

// The weight formats of the block kernels.
const (
	QW4_0 QWeight = iota
	QW4_1
	QW8_0
)

// BlockBytes is the size of one 32-element weight block.
func (w QWeight) BlockBytes() int {
	switch w {
	case QW4_0:
		return 18
	case QW4_1:
		return 20
	case QW8_0:
		return 34
	}
	panic(fmt.Sprintf("asm: unknown QWeight %d", int(w)))
}

func (w QWeight) String() string {
	return [...]string{"Q4_0", "Q4_1", "Q8_0"}[w]
}

// QuantizeQ8 quantises x (32·len(dst) values) to dst as llama.cpp's
// quantize_row_q8_1 does: per block d = max|x|/127 (rounded to float16, as ggml
// stores it), q = round(x/d), ties away from zero (the scale's reciprocal taken
// before rounding), S = d·Σq with the unrounded d, itself rounded to float16 as
// ggml's block_q8_1 stores it.
//
// l picks the kernel (AVX2 at the AVX2 and AVX-512 levels, else the Go twin); both
// give the same bits. Non-finite activations give unspecified blocks.
func QuantizeQ8(l Level, dst []Q8Block, x []float32) {
	if len(x) != 32*len(dst) {
		panic(fmt.Sprintf("asm: QuantizeQ8 of %d values into %d blocks", len(x), len(dst)))
	}
	if !quantizeQ8Arch(l, dst, x) {
		quantizeQ8Go(dst, x)
	}
}

// quantizeQ8Go is QuantizeQ8's pure-Go twin.
func quantizeQ8Go(dst []Q8Block, x []float32) {
	for b := range dst {
		blk := &dst[b]
		xs := x[32*b : 32*b+32]
		var amax float32
		for _, v := range xs {
			amax = max(amax, v, -v)
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		sum := 0
		for i, v := range xs {
			// Ties away from zero (roundf): with ties to even, 65 rather than 86
			// of 144 greedy tokens on SmolLM2 ran in lock step with llama.cpp.
			q := int(math.Round(float64(v * id)))
			blk.Qs[i] = int8(q)
			sum += q
		}
		finishQ8(blk, d, sum)
	}
}

// finishQ8 stores a block's scale d and S = d·ΣQs as ggml's block_q8_1 does: each
// rounded to float16.
func finishQ8(blk *Q8Block, d float32, sum int) {
	blk.D = roundF16(d)
	blk.S = roundF16(d * float32(sum))
}

// roundF16 rounds f to the nearest float16 (ties to even) and back, as ggml's
// FP32→FP16→FP32 round trip.
func roundF16(f float32) float32 { return tensor.F16ToF32(tensor.F32ToF16(f)) }

// QGemv computes y[r] = Σ_blocks dot(weight row r, a) for len(y) rows of the
// weight format wt; row r is w[r*rowBytes:] and holds len(a) blocks. It returns an
// error if a slice is too short or l does not run on this CPU.
func QGemv(l Level, wt QWeight, w []byte, rowBytes int, a []Q8Block, y []float32) error {
	if run, err := checkQGemv("QGemv", l, wt, w, rowBytes, len(a), len(y)); !run {
		return err
	}
	if qgemvArch(l, wt, w, rowBytes, a, y) {
		return nil
	}
	qgemvGo(wt, w, rowBytes, a, y)
	return nil
}

// QGemv2 is QGemv for two activation rows, a0 into y0 and a1 into y1, over the
// same weight rows (len(y0) of them): with Q4_1 weights each block is unpacked once
// for both (prefill and batches). The results are the same bits as two QGemv calls.
func QGemv2(l Level, wt QWeight, w []byte, rowBytes int, a0, a1 []Q8Block, y0, y1 []float32) error {
	if len(a0) != len(a1) || len(y0) != len(y1) {
		return fmt.Errorf("asm: QGemv2 of %d and %d activation blocks into %d and %d rows", len(a0), len(a1), len(y0), len(y1))
	}
	if run, err := checkQGemv("QGemv2", l, wt, w, rowBytes, len(a0), len(y0)); !run {
		return err
	}
	if qgemv2Arch(l, wt, w, rowBytes, a0, a1, y0, y1) {
		return nil
	}
	if !qgemvArch(l, wt, w, rowBytes, a0, y0) {
		qgemvGo(wt, w, rowBytes, a0, y0)
	}
	if !qgemvArch(l, wt, w, rowBytes, a1, y1) {
		qgemvGo(wt, w, rowBytes, a1, y1)
	}
	return nil
}

// checkQGemv checks a product of rows weight rows of nb blocks: whether it has
// work to do, or the error that stops it (l not on this CPU, w too short).
func checkQGemv(name string, l Level, wt QWeight, w []byte, rowBytes, nb, rows int) (bool, error) {
	if !Available(l) {
		return false, fmt.Errorf("asm: level %v does not run on this CPU", l)
	}
	if rows == 0 || nb == 0 {
		return false, nil
	}
	bb := wt.BlockBytes()
	if rowBytes < nb*bb || len(w) < (rows-1)*rowBytes+nb*bb {
		return false, fmt.Errorf("asm: %s %v: %d rows of %d blocks need %d bytes at a stride of %d, have %d",
			name, wt, rows, nb, (rows-1)*rowBytes+nb*bb, rowBytes, len(w))
	}
	return true, nil
}

// qgemvGo is the pure-Go twin: each block's int32 sum scaled and added in float32.
func qgemvGo(wt QWeight, w []byte, rowBytes int, a []Q8Block, y []float32) {
	bb := wt.BlockBytes()
	for r := range y {
		row := w[r*rowBytes:]
		var acc float32
		for b := range a {
			blk := row[b*bb : b*bb+bb]
			ab := &a[b]
			d := tensor.F16ToF32(binary.LittleEndian.Uint16(blk))
			switch wt {
			case QW4_0:
				s := int32(0)
				for j := 0; j < 16; j++ {
					q := blk[2+j]
					s += (int32(q&15) - 8) * int32(ab.Qs[j])
					s += (int32(q>>4) - 8) * int32(ab.Qs[j+16])
				}
				acc += float32(s) * (d * ab.D)
			case QW4_1:
				m := tensor.F16ToF32(binary.LittleEndian.Uint16(blk[2:]))
				s := int32(0)
				for j := 0; j < 16; j++ {
					q := blk[4+j]
					s += int32(q&15) * int32(ab.Qs[j])
					s += int32(q>>4) * int32(ab.Qs[j+16])
				}
				acc += float32(s)*(d*ab.D) + m*ab.S
			case QW8_0:
				s := int32(0)
				for j := 0; j < 32; j++ {
					s += int32(int8(blk[2+j])) * int32(ab.Qs[j])
				}
				acc += float32(s) * (d * ab.D)
			}
		}
		y[r] = acc
	}
}

// The assembly steps through the activation blocks 40 bytes at a time, reading S at
// 4 and Qs at 8: these fail to compile if Q8Block's size changes.
var (
	_ [unsafe.Sizeof(Q8Block{}) - 40]byte
	_ [40 - unsafe.Sizeof(Q8Block{})]byte
)
