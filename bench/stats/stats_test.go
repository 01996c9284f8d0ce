package stats

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// Samples and reference values from SciPy 1.10.1 (Debian python3-scipy):
//
//	rng = np.random.default_rng(42); a = np.round(rng.normal(10, 2, 30), 4)
//	b = np.round(rng.normal(11, 2.5, 25), 4); c = np.round(rng.lognormal(0, 1, 40), 4)
//	scipy.stats.shapiro / ttest_ind(equal_var=False) / mannwhitneyu(alternative="two-sided")
var (
	sampleA = []float64{10.6094, 7.92, 11.5009, 11.8811, 6.0979, 7.3956, 10.2557, 9.3675, 9.9664, 8.2939, 11.7588, 11.5556, 10.1321, 12.2545, 10.935, 8.2814, 10.7375, 8.0822, 11.7569, 9.9001, 9.6303, 8.6381, 12.4451, 9.6909, 9.1433, 9.2957, 11.0646, 10.7309, 10.8255, 10.8616}
	sampleB = []float64{16.3541, 9.984, 9.7194, 8.9656, 12.5399, 13.8224, 10.7151, 8.8996, 8.9388, 12.6265, 12.8581, 12.3579, 9.3362, 11.5804, 11.2917, 11.5467, 13.1786, 11.559, 12.6973, 11.1689, 11.7228, 12.5782, 7.3571, 10.2008, 9.8241}
	sampleC = []float64{0.5279, 0.7595, 4.4591, 0.4207, 2.6334, 0.1858, 0.7154, 1.1767, 1.7972, 2.0365, 2.2108, 0.7056, 0.6298, 2.3584, 0.8259, 0.2792, 0.322, 0.3987, 1.644, 1.1531, 1.9947, 0.6523, 1.1718, 1.8693, 0.7339, 1.579, 0.5159, 0.6955, 0.6827, 0.3024, 1.6274, 0.6254, 1.0126, 1.6173, 1.5629, 1.9452, 0.9062, 0.6549, 0.9234, 0.185}
	smallA  = []float64{1.1, 2.3, 0.7, 3.9, 2.2, 1.8}
	smallB  = []float64{2.9, 4.1, 3.3, 5.0, 2.6, 3.8, 4.4}
	tiesA   = []float64{1, 2, 2, 3, 3, 3, 4, 5, 5, 6}
	tiesB   = []float64{2, 3, 4, 4, 5, 6, 6, 7, 8, 8, 9}
)

func TestShapiroWilkMatchesSciPy(t *testing.T) {
	for _, c := range []struct {
		x    []float64
		w, p float64
	}{
		{sampleA, 0.9651415348052979, 0.4160515069961548},
		{sampleB, 0.9704674482345581, 0.6569477915763855},
		{sampleC, 0.854781985282898, 0.00011778050247812644},
		{smallA, 0.9400105476379395, 0.6592838168144226},
	} {
		w, p, err := ShapiroWilk(c.x)
		require.NoError(t, err)
		require.InDelta(t, c.w, w, 2e-6) // SciPy's swilk computes W in float32
		require.InDelta(t, c.p, p, 2e-5*math.Max(1, c.p/0.01))
	}
	_, _, err := ShapiroWilk([]float64{1, 2})
	require.ErrorIs(t, err, ErrSample)
	_, _, err = ShapiroWilk([]float64{3, 3, 3, 3})
	require.ErrorIs(t, err, ErrSample)
}

func TestWelchMatchesSciPy(t *testing.T) {
	tt, _, p, err := Welch(sampleA, sampleB)
	require.NoError(t, err)
	require.InDelta(t, -2.5779286039293035, tt, 1e-9)
	require.InDelta(t, 0.013231139226403453, p, 1e-9)
	_, _, _, err = Welch([]float64{1}, sampleB)
	require.ErrorIs(t, err, ErrSample)
}

func TestMannWhitneyMatchesSciPy(t *testing.T) {
	for _, c := range []struct {
		a, b []float64
		u, p float64
	}{
		{sampleA, sampleB, 235, 0.018374664542935654},    // asymptotic
		{sampleA, sampleC, 1200, 1.1211096163915445e-12}, // asymptotic, far tail
		{smallA, smallB, 4, 0.013986013986013986},        // exact
		{tiesA, tiesB, 23.5, 0.027640884214298913},       // asymptotic with ties
	} {
		u, p, err := MannWhitney(c.a, c.b)
		require.NoError(t, err)
		require.Equal(t, c.u, u)
		require.InDelta(t, c.p, p, 1e-9*math.Max(1, c.p*1e3))
	}
}

func TestSummaryAndBootstrap(t *testing.T) {
	s, err := Summarize(sampleA, 2000, 1)
	require.NoError(t, err)
	// NumPy: np.percentile(a, [50, 95, 99])
	require.InDelta(t, 10.1939, s.P50, 1e-9)
	require.InDelta(t, 12.086469999999998, s.P95, 1e-9)
	require.InDelta(t, 12.389826000000001, s.P99, 1e-9)
	require.Equal(t, s.P50, s.Median)
	require.Less(t, s.CILow, s.Mean)
	require.Greater(t, s.CIHigh, s.Mean)
	// The interval is about ±1.96·SD/√n wide.
	half := 1.96 * s.StdDev / math.Sqrt(float64(s.N))
	require.InDelta(t, 2*half, s.CIHigh-s.CILow, 0.25*half)
	again, _ := Summarize(sampleA, 2000, 1)
	require.Equal(t, s, again, "seeded bootstrap is reproducible")
	_, err = Summarize(nil, 10, 1)
	require.ErrorIs(t, err, ErrSample)
}

func TestEffectSizesAndCompare(t *testing.T) {
	require.InDelta(t, 1.0, CliffsDelta([]float64{5, 6}, []float64{1, 2}), 0)
	require.InDelta(t, 0.0, CliffsDelta([]float64{1, 2}, []float64{1, 2}), 0)
	// Cohen's d with pooled SD: hand-computed for two samples of variance 1.
	require.InDelta(t, -2.0, CohenD([]float64{0, 1, 2}, []float64{2, 3, 4}), 1e-12)
	require.Equal(t, 1.0, Bonferroni(0.3, 5))
	require.InDelta(t, 0.06, Bonferroni(0.02, 3), 1e-15)

	c, err := Compare(sampleA, sampleB, 0.05, 2)
	require.NoError(t, err)
	require.Equal(t, "welch", c.Test, "both samples pass Shapiro-Wilk")
	require.InDelta(t, 2*0.013231139226403453, c.PAdjust, 1e-9)
	c, err = Compare(sampleA, sampleC, 0.05, 1)
	require.NoError(t, err)
	require.Equal(t, "mann-whitney", c.Test, "the log-normal sample fails Shapiro-Wilk")
	require.Greater(t, c.CliffsDelta, 0.9)
}
