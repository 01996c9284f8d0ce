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

// MaxPool2x2ReLUBackward is MaxPool2x2ReLU's backward pass over the same rows: x is
// the pooling's input (2·rows rows of w), y its output and dy the gradient of y (rows
// rows of ⌊w/2⌋). Every position of dx's 2·rows rows is written: a window whose
// output is positive passes its gradient to the first position (row-major) equal to
// the output, PyTorch's choice among ties; the window's other positions, windows
// whose output is not positive (NaN included), and an odd last column get 0. It
// panics if a slice is short.
func MaxPool2x2ReLUBackward(l Level, dx, x, y, dy []float32, rows, w int) {
	ow := w / 2
	if rows < 0 || w < 0 || len(x) < rows*2*w || len(dx) < rows*2*w || len(y) < rows*ow || len(dy) < rows*ow {
		panic(fmt.Sprintf("asm: MaxPool2x2ReLUBackward of %d rows of width %d: dx %d, x %d, y %d, dy %d", rows, w, len(dx), len(x), len(y), len(dy)))
	}
	if rows == 0 {
		return
	}
	if w < 2 {
		clear(dx[:rows*2*w])
		return
	}
	if !maxPoolBackwardArch(l, dx, x, y, dy, rows, w) {
		MaxPool2x2ReLUBackwardGo(dx, x, y, dy, rows, w)
	}
	if w%2 == 1 {
		for r := range 2 * rows {
			dx[r*w+w-1] = 0
		}
	}
}

// MaxPool2x2ReLUBackwardGo is the pure-Go twin of MaxPool2x2ReLUBackward's assembly
// (it leaves an odd last column alone).
func MaxPool2x2ReLUBackwardGo(dx, x, y, dy []float32, rows, w int) {
	ow := w / 2
	for r := range rows {
		r0 := x[2*r*w : 2*r*w+2*ow]
		r1 := x[(2*r+1)*w:][:len(r0)]
		d0 := dx[2*r*w:][:len(r0)]
		d1 := dx[(2*r+1)*w:][:len(r0)]
		o := y[r*ow : r*ow+ow]
		do := dy[r*ow:][:len(o)]
		for ox, m := range o {
			// m is the window's maximum (or 0): pick the first position equal to it
			// with conditional moves, not branches — which one wins is data.
			i := 2 * ox
			if i+1 >= len(r0) {
				break // never: len(r0) = 2·len(o); tells the compiler so
			}
			// Masks of all ones: e0…e3 mark the first position equal to m; the
			// gradient passes only when the window passed the ReLU.
			var keep, e0, e1, e2 uint32
			if m > 0 {
				keep = ^uint32(0)
			}
			if r0[i] == m {
				e0 = ^uint32(0)
			}
			if r0[i+1] == m {
				e1 = ^uint32(0)
			}
			if r1[i] == m {
				e2 = ^uint32(0)
			}
			e1 &^= e0
			e2 &^= e0 | e1
			e3 := ^(e0 | e1 | e2)
			g := math.Float32bits(do[ox]) & keep
			d0[i] = math.Float32frombits(g & e0)
			d0[i+1] = math.Float32frombits(g & e1)
			d1[i] = math.Float32frombits(g & e2)
			d1[i+1] = math.Float32frombits(g & e3)
		}
	}
}
