// Package stats holds the statistics of the benchmark method: summaries with
// percentiles, percentile-bootstrap confidence intervals, the Shapiro-Wilk normality
// test, Welch's t-test, the Mann-Whitney U test, Bonferroni correction, and the
// Cohen's d and Cliff's delta effect sizes. Results match SciPy's (1.10) on the same
// samples; the tests hold SciPy's values.
package stats

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// ErrSample is wrapped by errors about samples a statistic cannot use.
var ErrSample = errors.New("stats: invalid sample")

// Summary describes one sample.
type Summary struct {
	N                    int
	Mean, Median, StdDev float64 // StdDev is the sample (n−1) standard deviation
	Min, Max             float64
	P50, P95, P99        float64
	CILow, CIHigh        float64 // 95 % percentile-bootstrap interval of the mean
}

// Summarize computes the summary; the bootstrap uses resamples draws from seed.
func Summarize(x []float64, resamples int, seed uint64) (Summary, error) {
	if len(x) == 0 {
		return Summary{}, fmt.Errorf("%w: empty", ErrSample)
	}
	s := slices.Sorted(slices.Values(x))
	sum := Summary{N: len(x), Mean: mean(x), Min: s[0], Max: s[len(s)-1],
		P50: Percentile(s, 50), P95: Percentile(s, 95), P99: Percentile(s, 99)}
	sum.Median = sum.P50
	if len(x) > 1 {
		sum.StdDev = math.Sqrt(variance(x))
	}
	sum.CILow, sum.CIHigh = BootstrapCI(x, mean, resamples, 0.95, seed)
	return sum, nil
}

func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// variance is the unbiased sample variance.
func variance(x []float64) float64 {
	m := mean(x)
	var s float64
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return s / float64(len(x)-1)
}

// Percentile returns the q-th percentile (0–100) of sorted data by linear
// interpolation between closest ranks (NumPy's default).
func Percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	h := (float64(len(sorted)) - 1) * q / 100
	lo := int(math.Floor(h))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (h-float64(lo))*(sorted[hi]-sorted[lo])
}

// BootstrapCI is the percentile-bootstrap confidence interval of stat(x) at the given
// level (0.95 for 95 %), from resamples resamples drawn with a generator seeded by seed.
func BootstrapCI(x []float64, stat func([]float64) float64, resamples int, level float64, seed uint64) (lo, hi float64) {
	if len(x) == 0 || resamples <= 0 {
		return math.NaN(), math.NaN()
	}
	r := rand.New(rand.NewPCG(seed, 0xb0075))
	vals := make([]float64, resamples)
	buf := make([]float64, len(x))
	for b := range vals {
		for i := range buf {
			buf[i] = x[r.IntN(len(x))]
		}
		vals[b] = stat(buf)
	}
	slices.Sort(vals)
	alpha := (1 - level) / 2
	return Percentile(vals, 100*alpha), Percentile(vals, 100*(1-alpha))
}

// ShapiroWilk returns the W statistic and p-value of the Shapiro-Wilk normality test
// (Royston's AS R94 algorithm, as SciPy uses), for 3 ≤ n ≤ 5000.
func ShapiroWilk(x []float64) (w, p float64, err error) {
	n := len(x)
	if n < 3 || n > 5000 {
		return 0, 0, fmt.Errorf("%w: Shapiro-Wilk needs 3 to 5000 values, got %d", ErrSample, n)
	}
	s := slices.Sorted(slices.Values(x))
	if s[n-1]-s[0] < 1e-19 {
		return 0, 0, fmt.Errorf("%w: Shapiro-Wilk of a constant sample", ErrSample)
	}
	poly := func(c []float64, x float64) float64 { // c[0] + c[1]x + c[2]x² + …
		r := 0.0
		for i := len(c) - 1; i >= 0; i-- {
			r = r*x + c[i]
		}
		return r
	}
	nn2 := n / 2
	a := make([]float64, nn2+1) // 1-based, as in AS R94
	an := float64(n)
	if n == 3 {
		a[1] = math.Sqrt(0.5)
	} else {
		m := make([]float64, nn2+1)
		var summ2 float64
		for i := 1; i <= nn2; i++ {
			m[i] = distuv.UnitNormal.Quantile((float64(i) - 0.375) / (an + 0.25)) // negative: lower half
			summ2 += m[i] * m[i]
		}
		summ2 *= 2
		ssumm2, rsn := math.Sqrt(summ2), 1/math.Sqrt(an)
		a1 := poly([]float64{0, 0.221157, -0.147981, -2.07119, 4.434685, -2.706056}, rsn) - m[1]/ssumm2
		i1 := 2
		var fac float64
		if n > 5 {
			i1 = 3
			a2 := -m[2]/ssumm2 + poly([]float64{0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633}, rsn)
			fac = math.Sqrt((summ2 - 2*m[1]*m[1] - 2*m[2]*m[2]) / (1 - 2*a1*a1 - 2*a2*a2))
			a[2] = a2
		} else {
			fac = math.Sqrt((summ2 - 2*m[1]*m[1]) / (1 - 2*a1*a1))
		}
		a[1] = a1
		for i := i1; i <= nn2; i++ {
			a[i] = -m[i] / fac
		}
	}
	// W is the squared correlation of the sorted data with the antisymmetric weights.
	mx := mean(s)
	var num, ssx, ssc float64
	for i := 0; i < n; i++ {
		var c float64
		switch j := n - 1 - i; {
		case i < j:
			c = -a[i+1]
		case i > j:
			c = a[j+1]
		}
		num += c * s[i]
		ssc += c * c
		ssx += (s[i] - mx) * (s[i] - mx)
	}
	w = num * num / (ssc * ssx)
	if n == 3 {
		p = 6 / math.Pi * (math.Asin(math.Sqrt(w)) - math.Pi/3)
		return w, max(p, 0), nil
	}
	y := math.Log(1 - w)
	var mu, sigma float64
	if n <= 11 {
		gamma := poly([]float64{-2.273, 0.459}, an)
		if y >= gamma {
			return w, 1e-99, nil
		}
		y = -math.Log(gamma - y)
		mu = poly([]float64{0.544, -0.39978, 0.025054, -6.714e-4}, an)
		sigma = math.Exp(poly([]float64{1.3822, -0.77857, 0.062767, -0.0020322}, an))
	} else {
		ln := math.Log(an)
		mu = poly([]float64{-1.5861, -0.31082, -0.083751, 0.0038915}, ln)
		sigma = math.Exp(poly([]float64{-0.4803, -0.082676, 0.0030302}, ln))
	}
	return w, distuv.Normal{Mu: mu, Sigma: sigma}.Survival(y), nil
}

// Welch returns Welch's t statistic, its degrees of freedom and the two-sided p-value
// for a difference in means.
func Welch(a, b []float64) (t, df, p float64, err error) {
	if len(a) < 2 || len(b) < 2 {
		return 0, 0, 0, fmt.Errorf("%w: Welch's test needs two values per sample", ErrSample)
	}
	va, vb := variance(a)/float64(len(a)), variance(b)/float64(len(b))
	if va+vb == 0 {
		return 0, 0, 0, fmt.Errorf("%w: Welch's test of two constant samples", ErrSample)
	}
	t = (mean(a) - mean(b)) / math.Sqrt(va+vb)
	df = (va + vb) * (va + vb) / (va*va/float64(len(a)-1) + vb*vb/float64(len(b)-1))
	p = 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Survival(math.Abs(t))
	return t, df, min(p, 1), nil
}

// MannWhitney returns the U statistic of a (SciPy's U1) and the two-sided p-value:
// exact when both samples are shorter than 8 and have no ties, otherwise the normal
// approximation with tie and continuity corrections (SciPy's "auto").
func MannWhitney(a, b []float64) (u, p float64, err error) {
	n1, n2 := len(a), len(b)
	if n1 == 0 || n2 == 0 {
		return 0, 0, fmt.Errorf("%w: Mann-Whitney needs two non-empty samples", ErrSample)
	}
	// Ranks of the pooled sample, ties getting their average rank.
	type item struct {
		v     float64
		first bool
	}
	all := make([]item, 0, n1+n2)
	for _, v := range a {
		all = append(all, item{v, true})
	}
	for _, v := range b {
		all = append(all, item{v, false})
	}
	slices.SortStableFunc(all, func(x, y item) int {
		switch {
		case x.v < y.v:
			return -1
		case x.v > y.v:
			return 1
		}
		return 0
	})
	var r1, tieTerm float64
	ties := false
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		rank := float64(i+j+1) / 2 // average of ranks i+1..j
		for k := i; k < j; k++ {
			if all[k].first {
				r1 += rank
			}
		}
		if t := float64(j - i); t > 1 {
			ties = true
			tieTerm += t*t*t - t
		}
		i = j
	}
	u1 := r1 - float64(n1*(n1+1))/2
	big := math.Max(u1, float64(n1*n2)-u1)
	if n1 < 8 && n2 < 8 && !ties {
		return u1, min(1, 2*exactUpperTail(n1, n2, int(math.Round(big)))), nil
	}
	n := float64(n1 + n2)
	sd := math.Sqrt(float64(n1*n2) / 12 * ((n + 1) - tieTerm/(n*(n-1))))
	if sd == 0 {
		return u1, 1, nil
	}
	z := (big - float64(n1*n2)/2 - 0.5) / sd
	return u1, min(1, 2*distuv.UnitNormal.Survival(z)), nil
}

// exactUpperTail is P(U ≥ u) for samples of n1 and n2 without ties.
func exactUpperTail(n1, n2, u int) float64 {
	// f[i][j][k]: arrangements of i and j values with U = k; built for all i ≤ n1, j ≤ n2.
	f := make([][][]float64, n1+1)
	for i := range f {
		f[i] = make([][]float64, n2+1)
		for j := range f[i] {
			f[i][j] = make([]float64, i*j+1)
			switch {
			case i == 0 || j == 0:
				f[i][j][0] = 1
			default:
				for k := range f[i][j] {
					if k-j >= 0 && k-j < len(f[i-1][j]) {
						f[i][j][k] += f[i-1][j][k-j]
					}
					if k < len(f[i][j-1]) {
						f[i][j][k] += f[i][j-1][k]
					}
				}
			}
		}
	}
	var total, tail float64
	for k, c := range f[n1][n2] {
		total += c
		if k >= u {
			tail += c
		}
	}
	return tail / total
}

// CohenD is the standardised mean difference (mean(a) − mean(b)) / pooled SD.
func CohenD(a, b []float64) float64 {
	na, nb := float64(len(a)), float64(len(b))
	pooled := math.Sqrt(((na-1)*variance(a) + (nb-1)*variance(b)) / (na + nb - 2))
	return (mean(a) - mean(b)) / pooled
}

// CliffsDelta is P(a > b) − P(a < b) over all pairs, in [−1, 1].
func CliffsDelta(a, b []float64) float64 {
	var gt, lt int
	for _, x := range a {
		for _, y := range b {
			switch {
			case x > y:
				gt++
			case x < y:
				lt++
			}
		}
	}
	return float64(gt-lt) / float64(len(a)*len(b))
}

// Bonferroni adjusts a p-value for m comparisons.
func Bonferroni(p float64, m int) float64 { return min(1, p*float64(max(m, 1))) }

// Comparison is the outcome of Compare.
type Comparison struct {
	Test                  string  // "welch" or "mann-whitney"
	Statistic, P, PAdjust float64 // PAdjust: Bonferroni over the comparisons
	NormalA, NormalB      bool    // Shapiro-Wilk p > alpha
	CohenD, CliffsDelta   float64
}

// Compare tests whether a and b differ, as the paper does: Welch's t-test when
// Shapiro-Wilk accepts normality of both samples at alpha, the Mann-Whitney U test
// otherwise; p is Bonferroni-adjusted for comparisons tests; both effect sizes are given.
func Compare(a, b []float64, alpha float64, comparisons int) (Comparison, error) {
	var c Comparison
	if len(a) < 3 || len(b) < 3 {
		return c, fmt.Errorf("%w: comparing needs at least 3 values per sample", ErrSample)
	}
	_, pa, errA := ShapiroWilk(a)
	_, pb, errB := ShapiroWilk(b)
	c.NormalA, c.NormalB = errA == nil && pa > alpha, errB == nil && pb > alpha
	var err error
	if c.NormalA && c.NormalB {
		c.Test = "welch"
		c.Statistic, _, c.P, err = Welch(a, b)
	} else {
		c.Test = "mann-whitney"
		c.Statistic, c.P, err = MannWhitney(a, b)
	}
	if err != nil {
		return c, err
	}
	c.PAdjust = Bonferroni(c.P, comparisons)
	c.CohenD, c.CliffsDelta = CohenD(a, b), CliffsDelta(a, b)
	return c, nil
}
