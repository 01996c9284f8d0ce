package asm

import (
	"math"
)

// Expf is a float32 exp accurate to 2 ulp where the result is a normal float32; results
// below 2^-125 flush to 0, above the float32 range give +Inf; NaN stays NaN. It is the
// scalar twin of the vector exp inside the activation kernels and uses the same
// reduction and polynomial (Cephes expf).
func Expf(x float32) float32 {
	if x != x {
		return x
	}
	x = min(max(x, -88.8), 88.8)
	// x = n·ln2 + r, |r| ≤ ln2/2, with ln2 split in two so that n·C1 is exact. Adding
	// and subtracting 1.5·2^23 rounds to the nearest integer, like VROUNDPS.
	const round = 12582912
	n := x*1.44269504088896341 + round
	n -= round
	r := x - n*0.693359375
	r -= n * -2.12194440e-4
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*(r*r) + r + 1
	// Scale by 2^(n-1), then double, so that n = 128 still yields finite results.
	e := min(max(int32(n)+126, 0), 254)
	return p * math.Float32frombits(uint32(e)<<23) * 2
}

// GELUTanhGo is the twin of the gelu_new kernel: 0.5·x·(1 + tanh(u)) with
// u = √(2/π)·(x + 0.044715·x³), computed as the identical x / (1 + e^(−2u)).
func GELUTanhGo(x []float32) {
	const c2 = -2 * 0.7978845608028654
	for i, v := range x {
		u := (v*v*0.044715)*v + v
		x[i] = v / (1 + Expf(c2*u))
	}
}

// GELUErfGo is the twin of the exact-GELU kernel: 0.5·x·(1 + erf(x/√2)), with erfc from
// Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7).
func GELUErfGo(x []float32) {
	for i, v := range x {
		z := v * 0.7071067811865476
		a := float32(math.Abs(float64(z)))
		t := 1 / (1 + 0.3275911*a)
		y := t * (0.254829592 + t*(-0.284496736+t*(1.421413741+t*(-1.453152027+t*1.061405429))))
		// 1 + erf(z) is erfc(|z|) = y·e^(−z²) for z < 0, computed without the
		// cancellation of 1 + (−(1 − y·e)); 2 − y·e otherwise.
		q := y * Expf(-(a * a))
		if z >= 0 || z != z {
			q = 2 - q
		}
		x[i] = 0.5 * v * q
	}
}

// ExpSubSumGo is the twin of the softmax kernel: x[i] = e^(x[i] − m); it returns Σ x[i].
func ExpSubSumGo(x []float32, m float32) float32 {
	var s float32
	for i, v := range x {
		e := Expf(v - m)
		x[i] = e
		s += e
	}
	return s
}

// SiLUMulGo is the twin of the SwiGLU kernel: g[i] = g[i]/(1 + e^(−g[i])) · u[i].
func SiLUMulGo(g, u []float32) {
	u = u[:len(g)]
	for i, v := range g {
		g[i] = v / (1 + Expf(-v)) * u[i]
	}
}

// SiLUMul applies SwiGLU's SiLU(g)·u in place in g at level l (len(u) ≥ len(g)).
func SiLUMul(l Level, g, u []float32) {
	if len(u) < len(g) {
		panic("asm: SiLUMul: u is shorter than g")
	}
	n := vecLen(l, len(g))
	if n > 0 && siluMulArch(l, g[:n], u[:n]) {
		g, u = g[n:], u[n:]
	}
	SiLUMulGo(g, u)
}

// GELUTanh applies GPT-2's gelu_new in place at level l.
func GELUTanh(l Level, x []float32) {
	n := vecLen(l, len(x))
	if n > 0 && geluTanhArch(l, x[:n]) {
		x = x[n:]
	}
	GELUTanhGo(x)
}

// GELUErf applies BERT's exact (erf) GELU in place at level l.
func GELUErf(l Level, x []float32) {
	n := vecLen(l, len(x))
	if n > 0 && geluErfArch(l, x[:n]) {
		x = x[n:]
	}
	GELUErfGo(x)
}

// ExpSubSum sets x[i] = e^(x[i] − m) at level l and returns the sum (the middle pass
// of a softmax). m should be the maximum of x and finite.
func ExpSubSum(l Level, x []float32, m float32) float32 {
	n := vecLen(l, len(x))
	var s float32
	if n > 0 {
		if v, ok := expSubSumArch(l, x[:n], m); ok {
			s, x = v, x[n:]
		}
	}
	return s + ExpSubSumGo(x, m)
}

// Max returns the largest value of x at level l: NaN if x holds one, -Inf if x is
// empty (a softmax's first pass).
func Max(l Level, x []float32) float32 {
	m := float32(math.Inf(-1))
	n := vecLen(l, len(x))
	if n > 0 {
		if v, ok := maxArch(l, x[:n]); ok {
			m, x = v, x[n:]
		}
	}
	for _, v := range x {
		if v > m || v != v {
			m = v
		}
		if m != m {
			break
		}
	}
	return m
}

// Add sets dst[i] = a[i] + b[i] at level l (residual connections, biases); dst may
// alias a or b, and the three have dst's length (the caller checks). A float add is
// exact to its rounding, so every level gives AddGo's bits.
func Add(l Level, dst, a, b []float32) {
	n := vecLen(l, len(dst))
	if n > 0 && addArch(l, dst[:n], a[:n], b[:n]) {
		dst, a, b = dst[n:], a[n:], b[n:]
	}
	AddGo(dst, a, b)
}

// AddRows adds v to each of rows rows of the strided matrix c: c[r·ldc + j] += v[j]
// for j < len(v) (a bias on a block of a product, in one call). Exact, as Add.
func AddRows(l Level, c []float32, ldc, rows int, v []float32) {
	n := len(v)
	if rows <= 0 || n == 0 {
		return
	}
	if ldc < n || len(c) < (rows-1)*ldc+n {
		panic("asm: AddRows: the matrix is short")
	}
	if l == AVX512 && addRowsArch(l, c, ldc, rows, v) {
		return
	}
	for r := 0; r < rows; r++ {
		row := c[r*ldc : r*ldc+n]
		Add(l, row, row, v)
	}
}

// AddGo is the twin of the add kernels.
func AddGo(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// Scale sets x[i] *= s at level l (a softmax's last pass).
func Scale(l Level, x []float32, s float32) {
	n := vecLen(l, len(x))
	if n > 0 && scaleArch(l, x[:n], s) {
		x = x[n:]
	}
	for i := range x {
		x[i] *= s
	}
}

// LayerNormRow normalises one row at level l: with the mean and variance summed in
// float64, dst[i] = (x[i] − mean)·inv·gamma[i] + beta[i], inv = 1/√(var + eps), each
// step rounded to float32. The assembly sums in a different order than the Go loop,
// which can move the last bit of the mean or inv.
func LayerNormRow(l Level, dst, x, gamma, beta []float32, eps float32) {
	n := len(x)
	head := vecLen(l, n)
	var sums [2]float64
	var s float64
	vec := head > 0 && sumsF64Arch(l, x[:head], 0, &sums)
	if vec {
		s = sums[0]
	} else {
		head = 0
	}
	for _, v := range x[head:] {
		s += float64(v)
	}
	mean := s / float64(n)
	var ss float64
	if vec {
		sumsF64Arch(l, x[:head], mean, &sums)
		ss = sums[1]
	}
	for _, v := range x[head:] {
		d := float64(v) - mean
		ss += d * d
	}
	inv := float32(1 / math.Sqrt(ss/float64(n)+float64(eps)))
	m := float32(mean)
	if vec && normAffineArch(l, dst[:head], x[:head], gamma[:head], beta[:head], m, inv) {
		dst, x, gamma, beta = dst[head:], x[head:], gamma[head:], beta[head:]
	}
	for j, v := range x {
		dst[j] = (v-m)*inv*gamma[j] + beta[j]
	}
}
