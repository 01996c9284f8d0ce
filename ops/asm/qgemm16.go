package asm

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Q8Pack16 is up to 16 activation rows of Q8 blocks arranged for QGemm16: the rows
// side by side in the lanes of a vector. Per block of 32 columns (Q8PackBlockBytes):
//
//	q    [8][16][4]int8  the 4 values of group l (columns 4l…4l+3) of row i at 64·l + 4·i
//	corr [8][16]int32    −128 · Σ of those 4 values (the Q8_0 kernel's offset)
//	d    [16]float32     the rows' scales D
//	s    [16]float32     the rows' S = D·ΣQs
//
// Missing rows (fewer than 16) are zero. Make one with PackQ8x16; reuse it across calls.
type Q8Pack16 struct {
	buf      []byte
	nb, rows int
}

// Q8PackBlockBytes is the size of one block of a Q8Pack16.
const Q8PackBlockBytes = 8*64 + 8*64 + 64 + 64

// Rows is the number of activation rows packed.
func (p *Q8Pack16) Rows() int { return p.rows }

// PackQ8x16 packs rows (1 to 16 rows of the same number of blocks) into p, reusing
// its buffer.
func PackQ8x16(p *Q8Pack16, rows [][]Q8Block) {
	if len(rows) == 0 || len(rows) > 16 {
		panic(fmt.Sprintf("asm: PackQ8x16 of %d rows (1 to 16)", len(rows)))
	}
	nb := len(rows[0])
	for _, r := range rows {
		if len(r) != nb {
			panic(fmt.Sprintf("asm: PackQ8x16 of rows of %d and %d blocks", nb, len(r)))
		}
	}
	n := nb * Q8PackBlockBytes
	if cap(p.buf) < n {
		p.buf = make([]byte, n)
	}
	p.buf, p.nb, p.rows = p.buf[:n], nb, len(rows)
	if len(rows) < 16 {
		clear(p.buf) // the missing rows' lanes are zero
	}
	for b := range nb {
		blk := (*[Q8PackBlockBytes]byte)(p.buf[b*Q8PackBlockBytes:])
		for i, r := range rows {
			a := &r[b]
			for l := range 8 {
				q := (*[4]int8)(a.Qs[4*l:])
				o := 64*l + 4*i
				blk[o], blk[o+1], blk[o+2], blk[o+3] = byte(q[0]), byte(q[1]), byte(q[2]), byte(q[3])
				sum := int32(q[0]) + int32(q[1]) + int32(q[2]) + int32(q[3])
				binary.LittleEndian.PutUint32(blk[512+o:], uint32(-128*sum))
			}
			binary.LittleEndian.PutUint32(blk[1024+4*i:], math.Float32bits(a.D))
			binary.LittleEndian.PutUint32(blk[1088+4*i:], math.Float32bits(a.S))
		}
	}
}

// QGemm16 computes the products of len(y)/16 weight rows (row r at w[r*rowBytes:],
// of format wt, as many blocks as p) with the packed activation rows: y[r*16+i] is
// weight row r times activation row i (rows past p.Rows() get 0).
//
// Each y[r*16+i] is the same bits as QGemv(l, …) gives for that row alone — every
// block's int32 sums kept in QGemv's eight groups of four, scaled and added in its
// order — so a sequence's results do not depend on which rows it is batched with. Per
// block of a weight row the AVX-512 VNNI kernel unpacks the weights once and runs
// VPDPBUSD on all 16 rows, where QGemv and QGemv2 unpack per one or two rows. It
// returns an error if a slice is short or l does not run on this CPU.
func QGemm16(l Level, wt QWeight, w []byte, rowBytes int, p *Q8Pack16, y []float32) error {
	if len(y)%16 != 0 {
		return fmt.Errorf("asm: QGemm16 into %d values (16 per weight row)", len(y))
	}
	rows := len(y) / 16
	if run, err := checkQGemv("QGemm16", l, wt, w, rowBytes, p.nb, rows); !run {
		clear(y)
		return err
	}
	if qgemm16Arch(l, wt, w, rowBytes, rows, p, y) {
		return nil
	}
	QGemm16Go(l, wt, w, rowBytes, p, y)
	return nil
}

// HasQGemm16 reports whether level l has an assembly QGemm16 for wt; elsewhere its
// twin (QGemv per row) runs and QGemv2 is as fast.
func HasQGemm16(l Level, wt QWeight) bool {
	return Available(l) && qgemm16Has(l, wt)
}

// QGemm16Go is QGemm16's twin: QGemv at level l per activation row, unpacked back
// from the pack.
func QGemm16Go(l Level, wt QWeight, w []byte, rowBytes int, p *Q8Pack16, y []float32) {
	rows := len(y) / 16
	a := make([]Q8Block, p.nb)
	out := make([]float32, rows)
	for i := range 16 {
		if i >= p.rows {
			for r := range rows {
				y[r*16+i] = 0
			}
			continue
		}
		for b := range a {
			blk := p.buf[b*Q8PackBlockBytes:]
			for l := range 8 {
				for j := range 4 {
					a[b].Qs[4*l+j] = int8(blk[64*l+4*i+j])
				}
			}
			a[b].D = math.Float32frombits(binary.LittleEndian.Uint32(blk[1024+4*i:]))
			a[b].S = math.Float32frombits(binary.LittleEndian.Uint32(blk[1088+4*i:]))
		}
		if !qgemvArch(l, wt, w, rowBytes, a, out) {
			qgemvGo(wt, w, rowBytes, a, out)
		}
		for r, v := range out {
			y[r*16+i] = v
		}
	}
}
