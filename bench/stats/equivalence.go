package stats

import (
	"fmt"
	"math"
	"slices"
)

// PearsonThreshold is the paper's bar for equivalent probability distributions.
const PearsonThreshold = 0.999

// Equivalence compares two implementations' outputs for the same inputs, as the
// method requires before any timing.
type Equivalence struct {
	MaxAbsDiff  float64 // over the logits
	Pearson     float64 // lowest per-row correlation of the softmax distributions
	ArgmaxEqual bool    // every row's argmax agrees
	TokensEqual bool    // generated ids agree (true when none are compared)
	Equivalent  bool    // Pearson > PearsonThreshold, argmax and tokens equal
}

// CompareOutputs compares rows×cols logits from two implementations (row-major), and
// optionally their generated token ids (nil to skip).
func CompareOutputs(a, b []float32, rows, cols int, idsA, idsB []int) (Equivalence, error) {
	if rows <= 0 || cols <= 0 || len(a) != rows*cols || len(b) != rows*cols {
		return Equivalence{}, fmt.Errorf("%w: %d and %d logits for %d×%d", ErrSample, len(a), len(b), rows, cols)
	}
	e := Equivalence{Pearson: 1, ArgmaxEqual: true, TokensEqual: slices.Equal(idsA, idsB)}
	for r := 0; r < rows; r++ {
		ra, rb := a[r*cols:(r+1)*cols], b[r*cols:(r+1)*cols]
		for i := range ra {
			e.MaxAbsDiff = math.Max(e.MaxAbsDiff, math.Abs(float64(ra[i])-float64(rb[i])))
		}
		if argmax(ra) != argmax(rb) {
			e.ArgmaxEqual = false
		}
		e.Pearson = math.Min(e.Pearson, pearson(softmax64(ra), softmax64(rb)))
	}
	e.Equivalent = e.Pearson > PearsonThreshold && e.ArgmaxEqual && e.TokensEqual
	return e, nil
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

func softmax64(x []float32) []float64 {
	m := float64(x[argmax(x)])
	out := make([]float64, len(x))
	var s float64
	for i, v := range x {
		out[i] = math.Exp(float64(v) - m)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

// pearson is the correlation coefficient (1 for two identical constant vectors).
func pearson(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx, my = mx/n, my/n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		if sxx == syy {
			return 1
		}
		return 0
	}
	return sxy / math.Sqrt(sxx*syy)
}
