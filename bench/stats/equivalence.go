package stats

import (
	"fmt"
	"math"
	"slices"
)

// PearsonThreshold is the paper's bar for equivalent probability distributions.
const PearsonThreshold = 0.999

// BF16PearsonThreshold is the bar for a BF16 run's distributions (see
// Equivalence.BF16): BF16 keeps 8 significant bits, and an implementation that also
// runs its activations in BF16 (PyTorch's way) correlates at ~0.993 with F32
// activations over BF16 weights.
const BF16PearsonThreshold = 0.99

// Equivalence compares two implementations' outputs for the same inputs, as the
// method requires before any timing.
type Equivalence struct {
	MaxAbsDiff  float64 // over the logits
	Pearson     float64 // lowest per-row correlation of the softmax distributions
	ArgmaxEqual bool    // every row's argmax agrees
	TokensEqual bool    // generated ids agree (true when none are compared)
	Equivalent  bool    // Pearson > PearsonThreshold, argmax and tokens equal
	// Training checks (CompareTraining) fill these instead of the above.
	LossRelDiff  float64 `json:",omitempty"` // largest relative difference of the first steps' losses
	AccuracyDiff float64 `json:",omitempty"` // |difference| of the test accuracies after the epoch
}

// Training equivalence (CompareTraining): the losses of the first steps from the same
// weights and batches, and the test accuracy after the same epoch.
const (
	LossTolerance     = 1e-4  // relative, per step
	AccuracyTolerance = 0.005 // absolute: half a percentage point
)

// CompareTraining compares two training runs from the same initial weights and data
// order: each of the first steps' losses within LossTolerance relative, the test
// accuracies after the epoch within AccuracyTolerance. Pearson, ArgmaxEqual and
// TokensEqual are set to their neutral values (1, true, true).
func CompareTraining(lossA, lossB []float32, accA, accB float64) (Equivalence, error) {
	if len(lossA) == 0 || len(lossA) != len(lossB) {
		return Equivalence{}, fmt.Errorf("%w: %d and %d losses", ErrSample, len(lossA), len(lossB))
	}
	e := Equivalence{Pearson: 1, ArgmaxEqual: true, TokensEqual: true}
	for i := range lossA {
		a, b := float64(lossA[i]), float64(lossB[i])
		d := math.Abs(a-b) / math.Max(math.Abs(a), 1e-30)
		if d != d {
			d = math.Inf(1)
		}
		e.LossRelDiff = math.Max(e.LossRelDiff, d)
		e.MaxAbsDiff = math.Max(e.MaxAbsDiff, math.Abs(a-b))
	}
	e.AccuracyDiff = math.Abs(accA - accB)
	e.Equivalent = e.LossRelDiff <= LossTolerance && e.AccuracyDiff <= AccuracyTolerance
	return e, nil
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
		if Argmax(ra) != Argmax(rb) {
			e.ArgmaxEqual = false
		}
		e.Pearson = math.Min(e.Pearson, Pearson(softmax64(ra), softmax64(rb)))
	}
	e.Equivalent = e.Pearson > PearsonThreshold && e.ArgmaxEqual && e.TokensEqual
	return e, nil
}

// BF16 applies the criterion for BF16 runs to a CompareOutputs result: the
// distributions correlate above BF16PearsonThreshold and every row's argmax (the first
// generated token) agrees. Later generated ids need not agree: greedy decoding
// amplifies rounding, one different token changes every later one, and what a decode
// step costs does not depend on which token it reads.
func (e Equivalence) BF16() Equivalence {
	e.Equivalent = e.Pearson > BF16PearsonThreshold && e.ArgmaxEqual
	return e
}

// Int8PearsonThreshold is the bar for an int8 run (dynamic quantisation) against
// another implementation's int8 run or against F32: the distributions (or values)
// correlate above it.
const Int8PearsonThreshold = 0.99

// Int8 applies the criterion for int8 runs to a CompareOutputs or CompareValues
// result: Pearson above Int8PearsonThreshold. The argmax and ids are reported, not
// required: each implementation rounds its activations and weights its own way, and
// a near-tie may fall either side.
func (e Equivalence) Int8() Equivalence {
	e.Equivalent = e.Pearson > Int8PearsonThreshold
	return e
}

// CompareValues compares two implementations' raw outputs that are not logits (hidden
// states, a matrix product): the Pearson correlation of the values themselves must
// exceed PearsonThreshold and the largest absolute difference must stay within
// tol × max(1, max |a|). ArgmaxEqual and TokensEqual are true (not compared).
func CompareValues(a, b []float32, tol float64) (Equivalence, error) {
	if len(a) == 0 || len(a) != len(b) || !(tol >= 0) {
		return Equivalence{}, fmt.Errorf("%w: %d and %d values, tolerance %v", ErrSample, len(a), len(b), tol)
	}
	e := Equivalence{ArgmaxEqual: true, TokensEqual: true}
	x, y := make([]float64, len(a)), make([]float64, len(b))
	scale := 1.0
	for i := range a {
		x[i], y[i] = float64(a[i]), float64(b[i])
		d := math.Abs(x[i] - y[i])
		if d != d {
			d = math.Inf(1) // a NaN on one side only is the largest difference
			if x[i] != x[i] && y[i] != y[i] {
				d = 0
			}
		}
		e.MaxAbsDiff = math.Max(e.MaxAbsDiff, d)
		scale = math.Max(scale, math.Abs(x[i]))
	}
	e.Pearson = Pearson(x, y)
	e.Equivalent = e.Pearson > PearsonThreshold && e.MaxAbsDiff <= tol*scale
	return e, nil
}

// Argmax is the index of the largest value (the first on ties).
func Argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

func softmax64(x []float32) []float64 {
	m := float64(x[Argmax(x)])
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

// Pearson is the correlation coefficient (1 for two identical constant vectors).
func Pearson(x, y []float64) float64 {
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
