package stats

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPearsonMatchesNumPy(t *testing.T) {
	// np.corrcoef(sampleA[:25], sampleB)[0, 1]
	require.InDelta(t, pearsonRef, Pearson(sampleA[:25], sampleB), 1e-12)
	require.Equal(t, 1.0, Pearson([]float64{2, 2}, []float64{3, 3}))
}

// pearsonRef is np.corrcoef(a[:25], b)[0, 1] for the samples above (NumPy 1.24).
const pearsonRef = -0.19977048252048826

func TestCompareOutputs(t *testing.T) {
	a := []float32{1, 2, 3, 0, 5, -1}
	e, err := CompareOutputs(a, a, 2, 3, []int{4, 5}, []int{4, 5})
	require.NoError(t, err)
	require.True(t, e.Equivalent)
	require.Zero(t, e.MaxAbsDiff)

	b := []float32{1, 2, 3.00005, 0, 5, -1.00002}
	e, _ = CompareOutputs(a, b, 2, 3, nil, nil)
	require.True(t, e.Equivalent)
	require.InDelta(t, 5e-5, e.MaxAbsDiff, 1e-6)
	require.Greater(t, e.Pearson, 0.9999)

	c := []float32{3, 2, 1, 0, 5, -1} // row 0's argmax moves
	e, _ = CompareOutputs(a, c, 2, 3, nil, nil)
	require.False(t, e.ArgmaxEqual)
	require.False(t, e.Equivalent)
	e, _ = CompareOutputs(a, a, 2, 3, []int{1}, []int{2})
	require.False(t, e.TokensEqual)
	require.False(t, e.Equivalent)
	_, err = CompareOutputs(a, a[:5], 2, 3, nil, nil)
	require.ErrorIs(t, err, ErrSample)
	require.False(t, math.IsNaN(e.Pearson))

	// BF16: later ids may differ; the distributions and the first token may not.
	e, _ = CompareOutputs(a, a, 2, 3, []int{1, 7}, []int{1, 8})
	require.False(t, e.Equivalent)
	require.True(t, e.BF16().Equivalent)
	require.False(t, e.BF16().TokensEqual, "still reported")
	e, _ = CompareOutputs(a, c, 2, 3, nil, nil)
	require.False(t, e.BF16().Equivalent, "the first token moved")
	d := []float32{1, 2, 3, 5, 0, -1} // row 1's argmax moves the other way: low correlation
	e, _ = CompareOutputs(a, d, 2, 3, nil, nil)
	require.False(t, e.BF16().Equivalent)
	f := []float32{1.5, 2, 3, 0, 5, -1} // close, below the F32 bar, above the BF16 one
	e, _ = CompareOutputs(a, f, 2, 3, nil, nil)
	require.Less(t, e.Pearson, PearsonThreshold)
	require.Greater(t, e.Pearson, BF16PearsonThreshold)
	require.False(t, e.Equivalent)
	require.True(t, e.BF16().Equivalent)
}

func TestCompareValues(t *testing.T) {
	a := []float32{10, -20, 30, 0.5}
	e, err := CompareValues(a, a, 1e-3)
	require.NoError(t, err)
	require.True(t, e.Equivalent)
	require.Equal(t, 1.0, e.Pearson)

	// The tolerance scales with the largest reference magnitude (30 here): 0.02 passes
	// at 1e-3 (0.03 allowed), 0.05 does not.
	b := []float32{10.02, -20, 30, 0.5}
	e, _ = CompareValues(a, b, 1e-3)
	require.True(t, e.Equivalent)
	require.InDelta(t, 0.02, e.MaxAbsDiff, 1e-5)
	b[0] = 10.05
	e, _ = CompareValues(a, b, 1e-3)
	require.False(t, e.Equivalent)

	// Same magnitudes, unrelated pattern: small differences relative to 1 but no correlation.
	e, _ = CompareValues([]float32{1e-4, 0, 0, 0}, []float32{0, 1e-4, 0, 0}, 1e-3)
	require.False(t, e.Equivalent)
	require.Less(t, e.Pearson, 0.5)

	e, _ = CompareValues([]float32{1, float32(math.NaN())}, []float32{1, 2}, 1)
	require.False(t, e.Equivalent, "a NaN on one side is a difference")
	_, err = CompareValues(a, a[:3], 1e-3)
	require.ErrorIs(t, err, ErrSample)
	_, err = CompareValues(nil, nil, 1e-3)
	require.ErrorIs(t, err, ErrSample)
}

func TestCompareTraining(t *testing.T) {
	a := []float32{2.31, 2.25, 2.1}
	e, err := CompareTraining(a, []float32{2.31, 2.2500001, 2.1}, 0.981, 0.984)
	require.NoError(t, err)
	require.True(t, e.Equivalent)
	require.InDelta(t, 0.003, e.AccuracyDiff, 1e-12)
	require.Less(t, e.LossRelDiff, 1e-6)

	e, err = CompareTraining(a, []float32{2.31, 2.2503, 2.1}, 0.981, 0.981)
	require.NoError(t, err)
	require.False(t, e.Equivalent, "a loss 1.3e-4 off")
	e, err = CompareTraining(a, a, 0.981, 0.975)
	require.NoError(t, err)
	require.False(t, e.Equivalent, "accuracy 0.6 pp off")
	e, err = CompareTraining(a, []float32{2.31, float32(math.NaN()), 2.1}, 0.981, 0.981)
	require.NoError(t, err)
	require.False(t, e.Equivalent, "a NaN loss")
	_, err = CompareTraining(a, a[:2], 0.9, 0.9)
	require.ErrorIs(t, err, ErrSample)
}

func TestInt8Criterion(t *testing.T) {
	a := []float32{1, 2, 3, 0, 5, -1}
	near := []float32{1.2, 2, 2.9, 0.1, 5, -1}
	e, err := CompareOutputs(a, near, 2, 3, []int{1, 2}, []int{1, 3})
	require.NoError(t, err)
	require.False(t, e.Equivalent)
	require.True(t, e.Int8().Equivalent, "Pearson %v", e.Pearson)
	require.False(t, e.Int8().TokensEqual, "still reported")
	far := []float32{3, 2, 1, 5, 0, -1}
	e, _ = CompareOutputs(a, far, 2, 3, nil, nil)
	require.False(t, e.Int8().Equivalent)
	v, err := CompareValues([]float32{10, -20, 30, 0.5}, []float32{10.5, -19.5, 29, 0.9}, 1e-3)
	require.NoError(t, err)
	require.False(t, v.Equivalent)
	require.True(t, v.Int8().Equivalent)
	v, _ = CompareValues([]float32{10, -20, 30, 0.5}, []float32{-10, 20, 30, 0.5}, 1e-3)
	require.False(t, v.Int8().Equivalent)
}
