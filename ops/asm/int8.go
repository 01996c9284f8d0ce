package asm

import (
	"fmt"
	"math"
	"unsafe"
)

// Int8 products: activations are quantised per row to 7-bit unsigned values with a
// zero point, weights per output column to signed 8-bit values in [-127, 127], and
// the products are summed exactly in int32.
//
// Seven-bit activations are the AVX2 trick PyTorch's fbgemm also uses ("reduce
// range"): vpmaddubsw multiplies unsigned by signed bytes and adds adjacent pairs
// into a saturating int16, and 2·127·127 = 32258 fits where 2·255·127 would not, so
// no sum ever saturates and the assembly is exact. The zero point is compensated in
// the epilogue with the weight column sums.
//
// Layouts:
//   - A: row-major uint8 rows of K4·4 bytes (K padded with anything: the weights
//     there are zero), row stride lda ≥ K4·4.
//   - B: one 16-column panel is K4 groups of 64 bytes; group q holds, for columns
//     j = 0..15, the four weights of rows 4q..4q+3 of column j (bytes 4j..4j+3).

// I8MR is the number of rows of the int8 GEMM tile; I8NR the number of columns.
const (
	I8MR = 6
	I8NR = 16
)

// I8Epilogue turns a tile's int32 sums into float32 outputs:
//
//	c[i][j] = float32(acc[i][j])·ColScale[j]·RowScale[i] + Bias[j] − RowZero[i]·ColSum[j]
//
// evaluated in that order, each operation rounded to float32 (no fused
// multiply-add), so the assembly and the Go twin agree bit for bit. RowScale and
// RowZero have one entry per tile row (the activation scale and scale·zero point);
// ColScale, ColSum (weight scale · Σ_k w[k][j]) and Bias have 16. A nil *I8Epilogue
// asks for the raw sums: c then receives the int32 bit patterns.
type I8Epilogue struct {
	RowScale, RowZero      []float32
	ColScale, ColSum, Bias []float32
}

// panel is ep for the 16 columns of panel p of a multi-panel epilogue, with ep's rows.
func (ep *I8Epilogue) panel(p int) *I8Epilogue {
	sub := *ep
	sub.ColScale, sub.ColSum = ep.ColScale[16*p:16*p+16], ep.ColSum[16*p:16*p+16]
	if ep.Bias != nil {
		sub.Bias = ep.Bias[16*p : 16*p+16]
	}
	return &sub
}

// i8Args is the epilogue as the assembly reads it (fixed offsets).
type i8Args struct {
	rowScale, rowZero, colScale, colSum, bias *float32
	raw                                       int
}

var (
	zeros16 [16]float32
	zeros64 [64]float32
)

// args is ep as the assembly reads it (nil: raw sums); zeros stands for a nil Bias.
func (ep *I8Epilogue) args(zeros []float32) i8Args {
	if ep == nil {
		return i8Args{raw: 1}
	}
	args := i8Args{rowScale: &ep.RowScale[0], rowZero: &ep.RowZero[0], colScale: &ep.ColScale[0], colSum: &ep.ColSum[0], bias: &zeros[0]}
	if ep.Bias != nil {
		args.bias = &ep.Bias[0]
	}
	return args
}

// I8Kernel computes one mr×16 tile (mr is I8MR or 1, the GEMV case):
//
//	acc[i][j] = Σ_{p<4·k4} int(a[i*lda+p]) · int(b[p/4*64 + 4j + p%4])
//
// with a's bytes at most 127 (7-bit activations), then applies ep and writes c[i*ldc+j]
// (as float32 values, or as int32 bits when ep is nil). It returns an error if a slice
// is too short, mr is not supported, or l does not run on this CPU.
func I8Kernel(l Level, mr, k4 int, a []uint8, lda int, b []int8, c []float32, ldc int, ep *I8Epilogue) error {
	if mr != I8MR && mr != 1 {
		return fmt.Errorf("asm: I8Kernel with %d rows (want %d or 1)", mr, I8MR)
	}
	if err := i8Check("I8Kernel", l, mr, k4, a, lda, b, c, ldc, ep); err != nil {
		return err
	}
	i8Kernel(l, mr, k4, a, lda, b, c, ldc, ep)
	return nil
}

// i8Check checks the operands of rows consecutive rows of one panel (I8Kernel,
// I8Tiles) and that l runs here; a nil ep is the raw sums.
func i8Check(fn string, l Level, rows, k4 int, a []uint8, lda int, b []int8, c []float32, ldc int, ep *I8Epilogue) error {
	if k4 < 1 || lda < 4*k4 || len(a) < (rows-1)*lda+4*k4 || len(b) < 64*k4 || ldc < 16 || len(c) < (rows-1)*ldc+16 {
		return fmt.Errorf("asm: %s(%v) rows=%d k4=%d lda=%d ldc=%d: slices too short (a %d, b %d, c %d)", fn, l, rows, k4, lda, ldc, len(a), len(b), len(c))
	}
	if ep != nil && (len(ep.RowScale) < rows || len(ep.RowZero) < rows || len(ep.ColScale) < 16 || len(ep.ColSum) < 16 || (ep.Bias != nil && len(ep.Bias) < 16)) {
		return fmt.Errorf("asm: %s epilogue too short for %d rows (row %d/%d, col %d/%d/%d)", fn, rows, len(ep.RowScale), len(ep.RowZero), len(ep.ColScale), len(ep.ColSum), len(ep.Bias))
	}
	if !Available(l) {
		return fmt.Errorf("asm: level %v is not supported by this CPU", l)
	}
	return nil
}

// I8Tiles is I8Kernel over tiles consecutive six-row tiles of one panel: tile t
// reads rows 6t.. of a (stride lda), writes rows 6t.. of c (stride ldc), and takes its
// RowScale and RowZero from entry 6t on; the column arrays serve every tile. One
// check for the lot: the loop nest calls it once per panel and row block.
func I8Tiles(l Level, tiles, k4 int, a []uint8, lda int, b []int8, c []float32, ldc int, ep *I8Epilogue) error {
	if tiles < 1 {
		return fmt.Errorf("asm: I8Tiles with %d tiles", tiles)
	}
	if ep == nil {
		return fmt.Errorf("asm: I8Tiles without an epilogue")
	}
	if err := i8Check("I8Tiles", l, I8MR*tiles, k4, a, lda, b, c, ldc, ep); err != nil {
		return err
	}
	tile := *ep
	for t := range tiles {
		r := I8MR * t
		tile.RowScale, tile.RowZero = ep.RowScale[r:r+I8MR], ep.RowZero[r:r+I8MR]
		i8Kernel(l, I8MR, k4, a[r*lda:], lda, b, c[r*ldc:], ldc, &tile)
	}
	return nil
}

// I8TilesPair is I8Tiles over two consecutive panels (32 columns: b holds the two
// panels' 128·k4 bytes, ep's column arrays 32 entries, c 32 columns a row): with
// AVX512-VNNI one six-row × 32-column kernel, twice the products per load of the
// 16-column one; elsewhere I8Tiles on each panel. The same bits either way.
func I8TilesPair(l Level, tiles, k4 int, a []uint8, lda int, b []int8, c []float32, ldc int, ep *I8Epilogue) error {
	rows := I8MR * tiles
	switch {
	case tiles < 1 || ep == nil:
		return fmt.Errorf("asm: I8TilesPair with %d tiles (epilogue %v)", tiles, ep != nil)
	case len(b) < 128*k4 || ldc < 32 || len(c) < (rows-1)*ldc+32:
		return fmt.Errorf("asm: I8TilesPair(%v) k4=%d: B of %d bytes, C of %d values with stride %d for %d rows", l, k4, len(b), len(c), ldc, rows)
	case len(ep.ColScale) < 32 || len(ep.ColSum) < 32 || (ep.Bias != nil && len(ep.Bias) < 32):
		return fmt.Errorf("asm: I8TilesPair epilogue too short for 32 columns")
	}
	if err := i8Check("I8TilesPair", l, rows, k4, a, lda, b, c, ldc, ep); err != nil {
		return err
	}
	if HasVNNI(l) {
		tile := *ep
		for t := range tiles {
			r := I8MR * t
			tile.RowScale, tile.RowZero = ep.RowScale[r:r+I8MR], ep.RowZero[r:r+I8MR]
			args := tile.args(zeros64[:])
			i8Kernel6x32Arch(k4, a[r*lda:], lda, b, c[r*ldc:], ldc, &args)
		}
		return nil
	}
	for p := range 2 {
		if err := I8Tiles(l, tiles, k4, a, lda, b[64*k4*p:], c[16*p:], ldc, ep.panel(p)); err != nil {
			return err
		}
	}
	return nil
}

// i8Kernel is I8Kernel without the checks.
func i8Kernel(l Level, mr, k4 int, a []uint8, lda int, b []int8, c []float32, ldc int, ep *I8Epilogue) {
	args := ep.args(zeros16[:])
	if i8KernelArch(l, mr, k4, a, lda, b, c, ldc, &args) {
		return
	}
	I8KernelGo(mr, k4, a, lda, b, c, ldc, ep)
}

// I8KernelGo is the pure-Go twin of the I8Kernel assembly: the oracle its tests
// compare against, bit for bit.
func I8KernelGo(mr, k4 int, a []uint8, lda int, b []int8, c []float32, ldc int, ep *I8Epilogue) {
	var acc [I8MR * 16]int32
	i8Accumulate(&acc, mr, 0, k4, a, lda, b)
	args := ep.args(zeros16[:])
	i8Epilogue(&acc, mr, c, ldc, &args)
}

// i8Accumulate adds groups q0..q1-1 of the tile's products to acc (row-major mr×16).
func i8Accumulate(acc *[I8MR * 16]int32, mr, q0, q1 int, a []uint8, lda int, b []int8) {
	for i := 0; i < mr; i++ {
		row := a[i*lda : i*lda+4*q1]
		sums := acc[i*16 : i*16+16]
		for q := q0; q < q1; q++ {
			g := b[q*64 : q*64+64]
			a0, a1, a2, a3 := int32(row[4*q]), int32(row[4*q+1]), int32(row[4*q+2]), int32(row[4*q+3])
			for j := range sums {
				sums[j] += a0*int32(g[4*j]) + a1*int32(g[4*j+1]) + a2*int32(g[4*j+2]) + a3*int32(g[4*j+3])
			}
		}
	}
}

// i8Epilogue writes the tile's sums to c as args says (I8Epilogue; raw: the bits).
func i8Epilogue(acc *[I8MR * 16]int32, mr int, c []float32, ldc int, args *i8Args) {
	if args.raw != 0 {
		for i := 0; i < mr; i++ {
			for j, v := range acc[i*16 : i*16+16] {
				c[i*ldc+j] = math.Float32frombits(uint32(v))
			}
		}
		return
	}
	rowScale, rowZero := unsafe.Slice(args.rowScale, mr), unsafe.Slice(args.rowZero, mr)
	colScale, colSum, bias := unsafe.Slice(args.colScale, 16), unsafe.Slice(args.colSum, 16), unsafe.Slice(args.bias, 16)
	for i := 0; i < mr; i++ {
		out := c[i*ldc : i*ldc+16]
		rs, rz := rowScale[i], rowZero[i]
		for j := range out {
			t := float32(float32(acc[i*16+j]) * colScale[j])
			t = float32(t * rs)
			t = float32(t + bias[j])
			u := float32(rz * colSum[j])
			out[j] = t - u
		}
	}
}

// I8Gemv64 is I8Kernel with one row over four panels at once — 64 columns, four
// weight streams, as decode wants: panel q (q < 4) starts at b[q*pstride]; the
// epilogue's column arrays and c hold 64 values. It returns an error if a slice is
// too short or l does not run on this CPU.
func I8Gemv64(l Level, k4 int, a []uint8, b []int8, pstride int, c []float32, ep *I8Epilogue) error {
	if k4 < 1 || pstride < 64*k4 || len(a) < 4*k4 || len(b) < 3*pstride+64*k4 || len(c) < 64 {
		return fmt.Errorf("asm: I8Gemv64(%v) k4=%d pstride=%d: slices too short (a %d, b %d, c %d)", l, k4, pstride, len(a), len(b), len(c))
	}
	if ep != nil && (len(ep.RowScale) < 1 || len(ep.RowZero) < 1 || len(ep.ColScale) < 64 || len(ep.ColSum) < 64 || (ep.Bias != nil && len(ep.Bias) < 64)) {
		return fmt.Errorf("asm: I8Gemv64 epilogue too short (row %d/%d, col %d/%d/%d)", len(ep.RowScale), len(ep.RowZero), len(ep.ColScale), len(ep.ColSum), len(ep.Bias))
	}
	if !Available(l) {
		return fmt.Errorf("asm: level %v is not supported by this CPU", l)
	}
	args := ep.args(zeros64[:])
	if i8Gemv64Arch(l, k4, a, b, pstride, c, &args) {
		return nil
	}
	I8Gemv64Go(k4, a, b, pstride, c, ep)
	return nil
}

// I8Gemv64Go is the pure-Go twin of the I8Gemv64 assembly: four one-row tiles.
func I8Gemv64Go(k4 int, a []uint8, b []int8, pstride int, c []float32, ep *I8Epilogue) {
	for q := range 4 {
		var sub *I8Epilogue
		if ep != nil {
			sub = ep.panel(q)
		}
		I8KernelGo(1, k4, a, 4*k4, b[q*pstride:], c[16*q:], 16, sub)
	}
}

// HasVNNI reports whether level l's int8 products use AVX512-VNNI on this CPU (one
// instruction per four products; the results are the same bits either way).
func HasVNNI(l Level) bool { return l == AVX512 && vnni && Available(l) }

// I8MaxK is the largest K whose int32 sums cannot overflow: 127·127 per product.
const I8MaxK = math.MaxInt32 / (127 * 127)

// I8QuantizeRow quantises x to 7-bit unsigned values in dst (len(dst) ≥ len(x)):
// with lo = min(min x, 0), hi = max(max x, 0), scale = (hi−lo)/127 and
// zero = round(−lo/scale), dst[p] = clamp(round(x[p]/scale) + zero, 0, 127), rounding
// half to even; x[p] ≈ scale·(dst[p] − zero). An all-zero row gets scale 1, zero 0;
// a row holding a NaN or an infinity gets a NaN scale, so that its products are NaN.
// The assembly and the Go twin agree bit for bit on finite input.
func I8QuantizeRow(l Level, dst []uint8, x []float32) (scale float32, zero int32) {
	if len(dst) < len(x) {
		panic(fmt.Sprintf("asm: I8QuantizeRow into %d bytes from %d values", len(dst), len(x)))
	}
	lo, hi := i8MinMax(l, x)
	scale, inv, zero := i8Params(lo, hi)
	n := len(x)
	done := 0
	if n >= 32 {
		done = i8QuantizeArch(l, dst[:n], x, inv, zero)
	}
	I8QuantizeGo(dst[done:n], x[done:], inv, zero)
	return scale, zero
}

// i8MinMax returns min(min x, 0) and max(max x, 0).
func i8MinMax(l Level, x []float32) (lo, hi float32) {
	done := 0
	if len(x) >= 32 {
		done, lo, hi = i8MinMaxArch(l, x)
	}
	tlo, thi := I8MinMaxGo(x[done:])
	return min(lo, tlo), max(hi, thi)
}

// i8Params returns the scale, its inverse and the zero point for the range [lo, hi]
// (lo ≤ 0 ≤ hi).
func i8Params(lo, hi float32) (scale, inv float32, zero int32) {
	scale = (hi - lo) / 127
	switch {
	case math.IsNaN(float64(scale)) || math.IsInf(float64(scale), 0):
		// A NaN or an infinity in the row: the products are NaN, as in float32.
		return float32(math.NaN()), 0, 0
	case scale == 0: // an all-zero row
		return 1, 1, 0
	}
	inv = 1 / scale
	zero = int32(math.RoundToEven(float64(float32(-lo * inv))))
	return scale, inv, min(max(zero, 0), 127)
}

// I8QuantizeGo is the pure-Go twin of the quantisation assembly: dst[p] =
// clamp(round(x[p]·inv) + zero, 0, 127).
func I8QuantizeGo(dst []uint8, x []float32, inv float32, zero int32) {
	for p, v := range x {
		q := int32(math.RoundToEven(float64(float32(v*inv)))) + zero
		dst[p] = uint8(min(max(q, 0), 127))
	}
}

// I8MinMaxGo is the pure-Go twin of the range assembly: min(min x, 0), max(max x, 0).
func I8MinMaxGo(x []float32) (lo, hi float32) {
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}
