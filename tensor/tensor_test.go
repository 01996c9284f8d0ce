package tensor

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func iota32(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(i)
	}
	return s
}

func at(t *testing.T, x *Tensor, idx ...int) float64 {
	t.Helper()
	v, err := x.At(idx...)
	require.NoError(t, err)
	return v
}

func TestNewAndAccess(t *testing.T) {
	for _, dt := range DTypes() {
		x, err := New(dt, 2, 3)
		require.NoError(t, err, dt)
		require.Equal(t, 6*dt.Size(), x.ByteLen())
		require.NoError(t, x.Set(1, 1, 2))
		assert.Equal(t, 1.0, at(t, x, 1, 2), dt)
		assert.Equal(t, 0.0, at(t, x, 0, 0), dt)
		if dt.IsFloat() {
			require.NoError(t, x.Set(-0.5, 0, 1))
			assert.Equal(t, -0.5, at(t, x, 0, 1), dt)
		}
	}
	_, err := New(F32, 2, -1)
	require.ErrorIs(t, err, ErrShape)
	_, err = New(Invalid, 2)
	require.ErrorIs(t, err, ErrDType)
	_, err = New(F32, 1<<30, 1<<30)
	require.ErrorIs(t, err, ErrShape)
	s, err := New(F64)
	require.NoError(t, err)
	require.Equal(t, 1, s.Len())
	require.NoError(t, s.Set(math.Pi))
	require.Equal(t, math.Pi, at(t, s))
}

func TestAccessErrors(t *testing.T) {
	x, _ := FromFloat32(iota32(6), 2, 3)
	_, err := x.At(2, 0)
	require.ErrorIs(t, err, ErrShape)
	_, err = x.At(0)
	require.ErrorIs(t, err, ErrShape)
	_, err = x.At(0, -1)
	require.ErrorIs(t, err, ErrShape)
	require.ErrorIs(t, x.Set(1, 0, 3), ErrShape)
	_, err = x.Int64s()
	require.ErrorIs(t, err, ErrDType)
	_, err = FromFloat32(iota32(5), 2, 3)
	require.ErrorIs(t, err, ErrShape)
}

func TestIntegerSaturation(t *testing.T) {
	cases := []struct {
		dt   DType
		in   float64
		want float64
	}{
		{U8, 300, 255}, {U8, -3, 0}, {I8, -200, -128}, {I16, 1e9, 32767}, {U16, math.NaN(), 0},
		{I32, -1e12, math.MinInt32}, {U32, 5e9, math.MaxUint32}, {I64, 1e30, math.MaxInt64},
		{I64, -1e30, math.MinInt64}, {U64, -5, 0}, {Bool, 7, 1}, {I32, 2.9, 2}, {I32, -2.9, -2},
	}
	for _, c := range cases {
		x, _ := New(c.dt, 1)
		require.NoError(t, x.Set(c.in, 0))
		assert.Equal(t, c.want, at(t, x, 0), "%v <- %v", c.dt, c.in)
	}
}

func TestViews(t *testing.T) {
	x, err := FromFloat32(iota32(24), 2, 3, 4)
	require.NoError(t, err)

	r, err := x.Reshape(6, -1)
	require.NoError(t, err)
	require.Equal(t, []int{6, 4}, r.Shape())
	require.Equal(t, 13.0, at(t, r, 3, 1))
	_, err = x.Reshape(5, -1)
	require.ErrorIs(t, err, ErrShape)
	_, err = x.Reshape(-1, -1)
	require.ErrorIs(t, err, ErrShape)
	_, err = x.Reshape(2, 3, 5)
	require.ErrorIs(t, err, ErrShape)

	n, err := x.Narrow(2, 1, 2) // [2,3,2]
	require.NoError(t, err)
	require.Equal(t, []int{2, 3, 2}, n.Shape())
	require.False(t, n.IsContiguous())
	require.Equal(t, 1*12+2*4+1+1.0, at(t, n, 1, 2, 1))
	_, err = n.Reshape(12)
	require.ErrorIs(t, err, ErrShape, "non-contiguous reshape must not silently copy")
	_, err = x.Narrow(2, 3, 2)
	require.ErrorIs(t, err, ErrShape)
	_, err = x.Narrow(3, 0, 1)
	require.ErrorIs(t, err, ErrShape)

	s, err := x.Slice(0, 1, 2) // contiguous slab
	require.NoError(t, err)
	require.True(t, s.IsContiguous())
	f, err := s.Float32s()
	require.NoError(t, err)
	require.Equal(t, iota32(24)[12:], f)

	tr, err := x.Transpose(0, 2) // [4,3,2]
	require.NoError(t, err)
	require.Equal(t, []int{4, 3, 2}, tr.Shape())
	p, err := x.Permute(2, 1, 0)
	require.NoError(t, err)
	for i := 0; i < 4; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 2; k++ {
				want := at(t, x, k, j, i)
				require.Equal(t, want, at(t, tr, i, j, k))
				require.Equal(t, want, at(t, p, i, j, k))
			}
		}
	}
	_, err = x.Permute(0, 0, 1)
	require.ErrorIs(t, err, ErrShape)
	_, err = x.Permute(0, 1)
	require.ErrorIs(t, err, ErrShape)

	c := tr.Contiguous()
	require.True(t, c.IsContiguous())
	cf, err := c.Float32s()
	require.NoError(t, err)
	for i := 0; i < 4; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 2; k++ {
				require.Equal(t, float32(k*12+j*4+i), cf[i*6+j*2+k])
			}
		}
	}
	require.Same(t, x, x.Contiguous())

	sel, err := x.Select(1, 2) // [2,4]
	require.NoError(t, err)
	require.Equal(t, []int{2, 4}, sel.Shape())
	require.Equal(t, 1*12+2*4+3.0, at(t, sel, 1, 3))

	// Views share memory.
	require.NoError(t, tr.Set(-1, 3, 2, 1))
	require.Equal(t, -1.0, at(t, x, 1, 2, 3))

	// Zero-length views work and clone to empty tensors.
	z, err := x.Narrow(1, 3, 0)
	require.NoError(t, err)
	require.Equal(t, 0, z.Clone().Len())
}

func TestCloneOfStridedInnerDim(t *testing.T) {
	x, _ := FromFloat32(iota32(12), 3, 4)
	tr, _ := x.Transpose(0, 1)
	n, _ := tr.Narrow(0, 1, 2) // [2,3], inner stride 4
	c := n.Clone()
	f, _ := c.Float32s()
	require.Equal(t, []float32{1, 5, 9, 2, 6, 10}, f)
}

func TestToFloat32(t *testing.T) {
	vals := []float32{0, 1, -2.5, 65504, 1e-7}
	h := make([]uint16, len(vals))
	F32ToF16Slice(h, vals)
	x, err := FromUint16(F16, h, len(vals))
	require.NoError(t, err)
	y, err := x.ToFloat32()
	require.NoError(t, err)
	f, _ := y.Float32s()
	for i := range vals {
		require.Equal(t, F16ToF32(h[i]), f[i])
	}
	i64, _ := FromInt64([]int64{3, -4, 1 << 40}, 3)
	y, err = i64.ToFloat32()
	require.NoError(t, err)
	f, _ = y.Float32s()
	require.Equal(t, []float32{3, -4, 1 << 40}, f)
	require.True(t, errors.Is(x.ConvertInto(make([]float32, 2)), ErrShape))
}

func TestUnalignedData(t *testing.T) {
	buf := alignedBytes(17) // 8-byte aligned, so buf[1:] is misaligned for float32
	x, err := FromBytes(F32, buf[1:17], 4)
	require.NoError(t, err)
	require.NoError(t, x.Set(2.5, 3))
	_, err = x.Float32s() // misaligned typed views are refused
	require.ErrorIs(t, err, ErrDType)
	y, err := x.ToFloat32()
	require.NoError(t, err)
	f, err := y.Float32s()
	require.NoError(t, err)
	require.Equal(t, []float32{0, 0, 0, 2.5}, f)
}

func TestParseDType(t *testing.T) {
	for _, dt := range DTypes() {
		got, err := ParseDType(dt.String())
		require.NoError(t, err)
		require.Equal(t, dt, got)
	}
	_, err := ParseDType("F4")
	require.Error(t, err)
	require.Equal(t, 0, Invalid.Size())
	require.Equal(t, "DType(200)", DType(200).String())
}
