package gorgonia

import (
	"testing"

	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/lumen-ml/lumen/tensor"
)

func TestRoundTripSharesMemory(t *testing.T) {
	x, err := tensor.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	require.NoError(t, err)
	d, err := ToDense(x)
	require.NoError(t, err)
	require.Equal(t, gt.Shape{2, 3}, d.Shape())
	require.Equal(t, gt.Float32, d.Dtype())
	v, err := d.At(1, 2)
	require.NoError(t, err)
	require.Equal(t, float32(6), v)

	require.NoError(t, d.SetAt(float32(-1), 0, 1))
	got, _ := x.At(0, 1)
	require.Equal(t, -1.0, got, "a write through gorgonia is visible in Lumen")

	y, err := FromDense(d)
	require.NoError(t, err)
	require.NoError(t, y.Set(9, 1, 0))
	v, _ = d.At(1, 0)
	require.Equal(t, float32(9), v, "a write through Lumen is visible in gorgonia")
}

func TestDTypes(t *testing.T) {
	for _, dt := range []tensor.DType{tensor.F32, tensor.F64, tensor.I32, tensor.I64, tensor.U8} {
		x, err := tensor.New(dt, 3, 2)
		require.NoError(t, err)
		require.NoError(t, x.Set(5, 2, 1))
		d, err := ToDense(x)
		require.NoError(t, err, dt)
		y, err := FromDense(d)
		require.NoError(t, err, dt)
		require.Equal(t, dt, y.DType())
		v, _ := y.At(2, 1)
		require.Equal(t, 5.0, v)
	}
	for _, dt := range []tensor.DType{tensor.F16, tensor.BF16, tensor.Bool, tensor.I16, tensor.F8E4M3} {
		x, _ := tensor.New(dt, 2)
		_, err := ToDense(x)
		require.ErrorIs(t, err, ErrUnsupported, dt)
	}
}

func TestRejects(t *testing.T) {
	x, _ := tensor.FromFloat32(make([]float32, 6), 2, 3)
	tr, _ := x.Transpose(0, 1)
	_, err := ToDense(tr)
	require.ErrorIs(t, err, ErrUnsupported)
	s, _ := tensor.New(tensor.F32)
	_, err = ToDense(s)
	require.ErrorIs(t, err, ErrUnsupported)
	_, err = ToDense(nil)
	require.ErrorIs(t, err, ErrUnsupported)

	d := gt.New(gt.WithShape(2, 3), gt.WithBacking([]float32{1, 2, 3, 4, 5, 6}))
	require.NoError(t, d.T())
	_, err = FromDense(d)
	require.ErrorIs(t, err, ErrUnsupported, "transposed gorgonia view")
	_, err = FromDense(gt.New(gt.WithShape(2), gt.WithBacking([]bool{true, false})))
	require.ErrorIs(t, err, ErrUnsupported)
	_, err = FromDense(gt.New(gt.FromScalar(float32(1))))
	require.ErrorIs(t, err, ErrUnsupported)
	_, err = FromDense(nil)
	require.ErrorIs(t, err, ErrUnsupported)

	// A contiguous row slice of a gorgonia tensor is fine and aliases the right rows.
	d = gt.New(gt.WithShape(3, 2), gt.WithBacking([]float32{1, 2, 3, 4, 5, 6}))
	v, err := d.Slice(gt.S(1, 3))
	require.NoError(t, err)
	y, err := FromDense(v.(*gt.Dense))
	require.NoError(t, err)
	require.Equal(t, []int{2, 2}, y.Shape())
	f, _ := y.Float32s()
	require.Equal(t, []float32{3, 4, 5, 6}, f)
}
