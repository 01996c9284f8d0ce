// Package gorgonia converts between Lumen tensors and gorgonia.org/tensor dense
// tensors without copying, so that code built on gorgonia can feed Lumen models and
// read their outputs.
//
// Both directions share memory: a write through one is seen through the other.
// Supported element types are F32, F64, I32, I64 and U8 (gorgonia's Float32, Float64,
// Int32, Int64, Uint8); anything else — F16, BF16, FP8, booleans, scalars, zero-size
// tensors, non-contiguous or column-major views, masked tensors — is an error,
// never a silent copy.
package gorgonia

import (
	"errors"
	"fmt"

	gt "gorgonia.org/tensor"

	"github.com/lumen-ml/lumen/tensor"
)

// ErrUnsupported is wrapped by every error for a tensor that cannot be shared
// between the two libraries.
var ErrUnsupported = errors.New("gorgonia interop: unsupported tensor")

// ToDense returns a gorgonia Dense that shares t's memory.
func ToDense(t *tensor.Tensor) (*gt.Dense, error) {
	if t == nil {
		return nil, fmt.Errorf("%w: nil tensor", ErrUnsupported)
	}
	if t.Rank() == 0 || t.Len() == 0 {
		return nil, fmt.Errorf("%w: %v: gorgonia has no zero-copy form for scalars or zero-size tensors", ErrUnsupported, t)
	}
	if !t.IsContiguous() {
		return nil, fmt.Errorf("%w: %v is a non-contiguous view (strides %v); call Contiguous first", ErrUnsupported, t, t.Strides())
	}
	var backing any
	var err error
	switch t.DType() {
	case tensor.F32:
		backing, err = t.Float32s()
	case tensor.F64:
		backing, err = t.Float64s()
	case tensor.I32:
		backing, err = t.Int32s()
	case tensor.I64:
		backing, err = t.Int64s()
	case tensor.U8:
		backing, err = t.Bytes()
	default:
		return nil, fmt.Errorf("%w: %v has dtype %v, which gorgonia cannot represent; convert with ToFloat32 first", ErrUnsupported, t, t.DType())
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	return gt.New(gt.WithShape(t.Shape()...), gt.WithBacking(backing)), nil
}

// FromDense returns a Lumen tensor that shares d's memory.
func FromDense(d *gt.Dense) (*tensor.Tensor, error) {
	if d == nil {
		return nil, fmt.Errorf("%w: nil Dense", ErrUnsupported)
	}
	shape := []int(d.Shape())
	switch {
	case d.IsScalar() || d.Shape().TotalSize() == 0:
		return nil, fmt.Errorf("%w: gorgonia %v: scalars and zero-size tensors have no zero-copy form", ErrUnsupported, d.Shape())
	case d.IsMasked():
		return nil, fmt.Errorf("%w: gorgonia %v is masked", ErrUnsupported, d.Shape())
	case d.RequiresIterator():
		return nil, fmt.Errorf("%w: gorgonia %v is a non-contiguous or transposed view; call Materialize first", ErrUnsupported, d.Shape())
	case !d.DataOrder().IsRowMajor():
		return nil, fmt.Errorf("%w: gorgonia %v is column-major", ErrUnsupported, d.Shape())
	}
	n := d.Shape().TotalSize()
	var t *tensor.Tensor
	var err error
	switch data := d.Data().(type) {
	case []float32:
		t, err = tensor.FromFloat32(data[:n], shape...)
	case []float64:
		t, err = tensor.FromFloat64(data[:n], shape...)
	case []int32:
		t, err = tensor.FromInt32(data[:n], shape...)
	case []int64:
		t, err = tensor.FromInt64(data[:n], shape...)
	case []uint8:
		t, err = tensor.FromBytes(tensor.U8, data[:n], shape...)
	default:
		return nil, fmt.Errorf("%w: gorgonia dtype %v has no Lumen equivalent", ErrUnsupported, d.Dtype())
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	return t, nil
}
