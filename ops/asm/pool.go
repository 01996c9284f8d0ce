package asm

import (
	"fmt"
	"math"
)

// MaxPool2x2ReLU writes rows output rows of ⌊w/2⌋ values to y: output row r, value o
// is max(0, the 2×2 window of input rows 2r, 2r+1 at columns 2o, 2o+1) — 2×2 max
// pooling, stride 2, then ReLU (x holds 2·rows rows of w; an odd last column is not
// pooled; planes of even height can go as one call). A window holding a NaN gives NaN
// (Go's float32(math.NaN()) bits); −0 gives +0. It panics if a slice is short.
func MaxPool2x2ReLU(l Level, y, x []float32, rows, w int) {
	if rows < 0 || w < 0 || len(x) < rows*2*w || len(y) < rows*(w/2) {
		panic(fmt.Sprintf("asm: MaxPool2x2ReLU of %d rows of width %d: x %d, y %d", rows, w, len(x), len(y)))
	}
	if rows == 0 || w < 2 {
		return
	}
	if maxPoolArch(l, y, x, rows, w) {
		return
	}
	MaxPool2x2ReLUGo(y, x, rows, w)
}

// MaxPool2x2ReLUGo is the pure-Go twin of MaxPool2x2ReLU's assembly: for IEEE floats
// that are not NaN, the order of non-negative values is the order of their bit
// patterns as int32, and every negative one (−0 included) is a negative int32, so
// max(0, a, b, c, d) is the integer max of the bit patterns with 0.
func MaxPool2x2ReLUGo(y, x []float32, rows, w int) {
	ow := w / 2
	nan := float32(math.NaN())
	for r := range rows {
		r0 := x[2*r*w : 2*r*w+2*ow]
		r1 := x[(2*r+1)*w:][:len(r0)]
		o := y[r*ow : r*ow+ow]
		for ox := range o {
			i := 2 * ox
			if i+1 >= len(r0) {
				break // never: len(r0) = 2·len(o); tells the compiler so
			}
			a, b, c, d := r0[i], r0[i+1], r1[i], r1[i+1]
			m := max(0, int32(math.Float32bits(a)), int32(math.Float32bits(b)), int32(math.Float32bits(c)), int32(math.Float32bits(d)))
			v := math.Float32frombits(uint32(m))
			if a != a || b != b || c != c || d != d {
				v = nan
			}
			o[ox] = v
		}
	}
}
