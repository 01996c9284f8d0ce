package tensor

import (
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// ErrShape is wrapped by every error about an invalid shape, dimension or index.
var ErrShape = errors.New("tensor: invalid shape")

// ErrDType is wrapped by every error about an element type that an operation cannot handle.
var ErrDType = errors.New("tensor: unsupported dtype")

// Tensor is an n-dimensional strided view over a byte buffer.
//
// A Tensor value describes the view (element type, shape, strides in elements, offset
// in elements); the buffer may be shared by many views. Views made by Reshape, Narrow,
// Transpose and Permute never copy; Contiguous copies only when the layout requires
// it. A Tensor may alias memory it does not own (a memory-mapped safetensors file,
// a gorgonia tensor): it is valid as long as that memory is.
//
// Tensors are not synchronised: concurrent reads are safe, a write concurrent with
// any other access is not.
type Tensor struct {
	dtype   DType
	shape   []int
	strides []int
	offset  int
	data    []byte
}

// MaxElements bounds the element count of any tensor created by this package, so that
// byte sizes can never overflow an int.
const MaxElements = 1 << 48

// numElements returns the product of shape, or an error on a negative dimension or
// an overflow past MaxElements.
func numElements(shape []int) (int, error) {
	n := 1
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("%w: dimension %d of %v is negative", ErrShape, i, shape)
		}
		if d != 0 && n > MaxElements/d {
			return 0, fmt.Errorf("%w: %v has more than 2^48 elements", ErrShape, shape)
		}
		n *= d
	}
	return n, nil
}

func contiguousStrides(shape []int) []int {
	strides := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		strides[i] = s
		s *= shape[i]
	}
	return strides
}

// New allocates a zero-filled contiguous tensor. A scalar has an empty shape.
func New(dt DType, shape ...int) (*Tensor, error) {
	if !dt.Valid() {
		return nil, fmt.Errorf("%w: %v", ErrDType, dt)
	}
	n, err := numElements(shape)
	if err != nil {
		return nil, err
	}
	return &Tensor{dtype: dt, shape: clone(shape), strides: contiguousStrides(shape), data: alignedBytes(n * dt.Size())}, nil
}

// alignedBytes allocates a byte slice whose start is 8-byte aligned, so that any
// element type can be viewed in place.
func alignedBytes(n int) []byte {
	if n == 0 {
		return []byte{}
	}
	words := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), n)
}

// FromBytes wraps data (row-major, contiguous, little-endian) as a tensor without
// copying. data must hold exactly the bytes of shape × dt, and must be aligned to the
// element size if typed access (Float32s and friends) is wanted.
func FromBytes(dt DType, data []byte, shape ...int) (*Tensor, error) {
	if !dt.Valid() {
		return nil, fmt.Errorf("%w: %v", ErrDType, dt)
	}
	n, err := numElements(shape)
	if err != nil {
		return nil, err
	}
	if n*dt.Size() != len(data) {
		return nil, fmt.Errorf("%w: %v of %v needs %d bytes, got %d", ErrShape, shape, dt, n*dt.Size(), len(data))
	}
	return &Tensor{dtype: dt, shape: clone(shape), strides: contiguousStrides(shape), data: data}, nil
}

// FromFloat32 wraps data as an F32 tensor of the given shape, without copying.
func FromFloat32(data []float32, shape ...int) (*Tensor, error) {
	return FromBytes(F32, bytesOf(data), shape...)
}

// FromFloat64 wraps data as an F64 tensor of the given shape, without copying.
func FromFloat64(data []float64, shape ...int) (*Tensor, error) {
	return FromBytes(F64, bytesOf(data), shape...)
}

// FromInt32 wraps data as an I32 tensor of the given shape, without copying.
func FromInt32(data []int32, shape ...int) (*Tensor, error) {
	return FromBytes(I32, bytesOf(data), shape...)
}

// FromInt64 wraps data as an I64 tensor of the given shape, without copying.
func FromInt64(data []int64, shape ...int) (*Tensor, error) {
	return FromBytes(I64, bytesOf(data), shape...)
}

// FromUint16 wraps raw 16-bit patterns as an F16 or BF16 tensor, without copying.
func FromUint16(dt DType, data []uint16, shape ...int) (*Tensor, error) {
	if dt.Size() != 2 {
		return nil, fmt.Errorf("%w: FromUint16 wants a 2-byte dtype, got %v", ErrDType, dt)
	}
	return FromBytes(dt, bytesOf(data), shape...)
}

func bytesOf[E any](s []E) []byte {
	if len(s) == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

func clone(s []int) []int { return append(make([]int, 0, len(s)), s...) }

// DType returns the element type.
func (t *Tensor) DType() DType { return t.dtype }

// Shape returns a copy of the shape.
func (t *Tensor) Shape() []int { return clone(t.shape) }

// Strides returns a copy of the strides, in elements.
func (t *Tensor) Strides() []int { return clone(t.strides) }

// Offset returns the position of the first element in the buffer, in elements.
func (t *Tensor) Offset() int { return t.offset }

// Rank returns the number of dimensions.
func (t *Tensor) Rank() int { return len(t.shape) }

// Dim returns the size of dimension i; negative i counts from the end.
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.shape)
	}
	if i < 0 || i >= len(t.shape) {
		return 0
	}
	return t.shape[i]
}

// Len returns the number of elements.
func (t *Tensor) Len() int {
	n, _ := numElements(t.shape)
	return n
}

// ByteLen returns the number of bytes the elements occupy when contiguous.
func (t *Tensor) ByteLen() int { return t.Len() * t.dtype.Size() }

// IsContiguous reports whether the view is row-major contiguous, so its elements are
// one run of the buffer.
func (t *Tensor) IsContiguous() bool {
	s := 1
	for i := len(t.shape) - 1; i >= 0; i-- {
		if t.shape[i] != 1 && t.strides[i] != s {
			return false
		}
		s *= t.shape[i]
	}
	return true
}

// Bytes returns the elements' bytes for a contiguous tensor, aliasing the buffer, or
// an error if the view is not contiguous.
func (t *Tensor) Bytes() ([]byte, error) {
	if !t.IsContiguous() {
		return nil, fmt.Errorf("%w: Bytes needs a contiguous tensor (shape %v, strides %v); call Contiguous first", ErrShape, t.shape, t.strides)
	}
	sz := t.dtype.Size()
	return t.data[t.offset*sz : (t.offset+t.Len())*sz], nil
}

func typed[E any](t *Tensor, want DType) ([]E, error) {
	if t.dtype != want {
		return nil, fmt.Errorf("%w: want %v, tensor is %v", ErrDType, want, t.dtype)
	}
	b, err := t.Bytes()
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return []E{}, nil
	}
	var zero E
	if uintptr(unsafe.Pointer(&b[0]))%unsafe.Alignof(zero) != 0 {
		return nil, fmt.Errorf("%w: %v data is not %d-byte aligned; call Clone for an aligned copy", ErrDType, want, unsafe.Alignof(zero))
	}
	return unsafe.Slice((*E)(unsafe.Pointer(&b[0])), len(b)/int(unsafe.Sizeof(zero))), nil
}

// Float32s returns the elements of a contiguous F32 tensor as a slice aliasing the buffer.
func (t *Tensor) Float32s() ([]float32, error) { return typed[float32](t, F32) }

// Float64s returns the elements of a contiguous F64 tensor as a slice aliasing the buffer.
func (t *Tensor) Float64s() ([]float64, error) { return typed[float64](t, F64) }

// Int32s returns the elements of a contiguous I32 tensor as a slice aliasing the buffer.
func (t *Tensor) Int32s() ([]int32, error) { return typed[int32](t, I32) }

// Int64s returns the elements of a contiguous I64 tensor as a slice aliasing the buffer.
func (t *Tensor) Int64s() ([]int64, error) { return typed[int64](t, I64) }

// Uint16s returns the raw bit patterns of a contiguous F16 or BF16 tensor, aliasing the buffer.
func (t *Tensor) Uint16s() ([]uint16, error) {
	if t.dtype != F16 && t.dtype != BF16 {
		return nil, fmt.Errorf("%w: want F16 or BF16, tensor is %v", ErrDType, t.dtype)
	}
	return typed[uint16](t, t.dtype)
}

// Reshape returns a view with a new shape holding the same number of elements. One
// dimension may be -1 and is then inferred. A non-contiguous tensor cannot be
// reshaped without a copy and gives an error: call Contiguous first.
func (t *Tensor) Reshape(shape ...int) (*Tensor, error) {
	shape = clone(shape)
	infer := -1
	known := 1
	for i, d := range shape {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			return nil, fmt.Errorf("%w: Reshape to %v: only one dimension may be -1", ErrShape, shape)
		default:
			known *= d
		}
	}
	n := t.Len()
	if infer >= 0 {
		if known == 0 || n%known != 0 {
			return nil, fmt.Errorf("%w: cannot Reshape %v (%d elements) to %v", ErrShape, t.shape, n, shape)
		}
		shape[infer] = n / known
	}
	m, err := numElements(shape)
	if err != nil {
		return nil, err
	}
	if m != n {
		return nil, fmt.Errorf("%w: cannot Reshape %v (%d elements) to %v (%d elements)", ErrShape, t.shape, n, shape, m)
	}
	if !t.IsContiguous() {
		return nil, fmt.Errorf("%w: Reshape needs a contiguous tensor (shape %v, strides %v); call Contiguous first", ErrShape, t.shape, t.strides)
	}
	return &Tensor{dtype: t.dtype, shape: shape, strides: contiguousStrides(shape), offset: t.offset, data: t.data}, nil
}

func (t *Tensor) axis(dim int) (int, error) {
	d := dim
	if d < 0 {
		d += len(t.shape)
	}
	if d < 0 || d >= len(t.shape) {
		return 0, fmt.Errorf("%w: dimension %d out of range for rank %d", ErrShape, dim, len(t.shape))
	}
	return d, nil
}

// Narrow returns the view of elements start..start+length-1 along dim.
func (t *Tensor) Narrow(dim, start, length int) (*Tensor, error) {
	d, err := t.axis(dim)
	if err != nil {
		return nil, err
	}
	if start < 0 || length < 0 || start > t.shape[d] || length > t.shape[d]-start {
		return nil, fmt.Errorf("%w: Narrow(%d, %d, %d) out of range for size %d", ErrShape, dim, start, length, t.shape[d])
	}
	v := t.view()
	v.shape[d] = length
	if length > 0 {
		v.offset += start * t.strides[d]
	}
	return v, nil
}

// Slice returns the view of elements start..end-1 along dim (Narrow with an end index).
func (t *Tensor) Slice(dim, start, end int) (*Tensor, error) {
	return t.Narrow(dim, start, end-start)
}

// Select returns the view at index i along dim, with that dimension removed.
func (t *Tensor) Select(dim, i int) (*Tensor, error) {
	d, err := t.axis(dim)
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= t.shape[d] {
		return nil, fmt.Errorf("%w: Select(%d, %d) out of range for size %d", ErrShape, dim, i, t.shape[d])
	}
	v := t.view()
	v.offset += i * t.strides[d]
	v.shape = append(v.shape[:d], v.shape[d+1:]...)
	v.strides = append(v.strides[:d], v.strides[d+1:]...)
	return v, nil
}

// Transpose returns the view with dimensions d0 and d1 swapped.
func (t *Tensor) Transpose(d0, d1 int) (*Tensor, error) {
	a, err := t.axis(d0)
	if err != nil {
		return nil, err
	}
	b, err := t.axis(d1)
	if err != nil {
		return nil, err
	}
	v := t.view()
	v.shape[a], v.shape[b] = v.shape[b], v.shape[a]
	v.strides[a], v.strides[b] = v.strides[b], v.strides[a]
	return v, nil
}

// Permute returns the view whose dimension i is dimension perm[i] of t.
func (t *Tensor) Permute(perm ...int) (*Tensor, error) {
	if len(perm) != len(t.shape) {
		return nil, fmt.Errorf("%w: Permute %v for rank %d", ErrShape, perm, len(t.shape))
	}
	seen := make([]bool, len(perm))
	v := t.view()
	for i, p := range perm {
		if p < 0 || p >= len(perm) || seen[p] {
			return nil, fmt.Errorf("%w: Permute %v is not a permutation of 0..%d", ErrShape, perm, len(perm)-1)
		}
		seen[p] = true
		v.shape[i], v.strides[i] = t.shape[p], t.strides[p]
	}
	return v, nil
}

func (t *Tensor) view() *Tensor {
	return &Tensor{dtype: t.dtype, shape: clone(t.shape), strides: clone(t.strides), offset: t.offset, data: t.data}
}

// Contiguous returns t itself when it is already contiguous, and otherwise a
// contiguous copy.
func (t *Tensor) Contiguous() *Tensor {
	if t.IsContiguous() {
		return t
	}
	return t.Clone()
}

// Clone returns a contiguous, 8-byte-aligned copy that shares nothing with t.
func (t *Tensor) Clone() *Tensor {
	n := t.Len()
	sz := t.dtype.Size()
	out := &Tensor{dtype: t.dtype, shape: clone(t.shape), strides: contiguousStrides(t.shape), data: alignedBytes(n * sz)}
	if n == 0 {
		return out
	}
	if t.IsContiguous() {
		copy(out.data, t.data[t.offset*sz:(t.offset+n)*sz])
		return out
	}
	// Copy runs of the innermost dimension.
	inner := t.shape[len(t.shape)-1]
	innerStride := t.strides[len(t.strides)-1]
	idx := make([]int, len(t.shape)-1)
	dst := 0
	for {
		src := t.offset
		for i, x := range idx {
			src += x * t.strides[i]
		}
		if innerStride == 1 {
			copy(out.data[dst*sz:(dst+inner)*sz], t.data[src*sz:(src+inner)*sz])
		} else {
			for j := 0; j < inner; j++ {
				s := (src + j*innerStride) * sz
				copy(out.data[(dst+j)*sz:(dst+j+1)*sz], t.data[s:s+sz])
			}
		}
		dst += inner
		k := len(idx) - 1
		for ; k >= 0; k-- {
			idx[k]++
			if idx[k] < t.shape[k] {
				break
			}
			idx[k] = 0
		}
		if k < 0 {
			return out
		}
	}
}

// index returns the byte position of the element at idx.
func (t *Tensor) index(idx []int) (int, error) {
	if len(idx) != len(t.shape) {
		return 0, fmt.Errorf("%w: %d indices for rank %d", ErrShape, len(idx), len(t.shape))
	}
	p := t.offset
	for i, x := range idx {
		if x < 0 || x >= t.shape[i] {
			return 0, fmt.Errorf("%w: index %v out of range for shape %v", ErrShape, idx, t.shape)
		}
		p += x * t.strides[i]
	}
	return p * t.dtype.Size(), nil
}

// At returns the element at idx converted to float64 (exactly, except for 64-bit
// integers beyond 2^53).
func (t *Tensor) At(idx ...int) (float64, error) {
	p, err := t.index(idx)
	if err != nil {
		return 0, err
	}
	return decode(t.dtype, t.data[p:p+t.dtype.Size()]), nil
}

// Set stores v at idx, converting it to the tensor's element type (rounding to
// nearest-even for floating types, truncating toward zero and saturating for integers).
func (t *Tensor) Set(v float64, idx ...int) error {
	p, err := t.index(idx)
	if err != nil {
		return err
	}
	encode(t.dtype, t.data[p:p+t.dtype.Size()], v)
	return nil
}

// ToFloat32 returns the elements as a new contiguous F32 tensor, converting from any
// element type (exactly for F16, BF16 and FP8).
func (t *Tensor) ToFloat32() (*Tensor, error) {
	out, err := New(F32, t.shape...)
	if err != nil {
		return nil, err
	}
	dst, _ := out.Float32s()
	if err := t.ConvertInto(dst); err != nil {
		return nil, err
	}
	return out, nil
}

// ConvertInto writes the elements, in row-major order and converted to float32, to
// dst, which must have exactly Len elements. F16 and BF16 use the fast slice
// converters; other types go element by element.
func (t *Tensor) ConvertInto(dst []float32) error {
	if len(dst) != t.Len() {
		return fmt.Errorf("%w: ConvertInto needs %d elements, got %d", ErrShape, t.Len(), len(dst))
	}
	c := t.Contiguous()
	b, _ := c.Bytes()
	switch c.dtype {
	case F32:
		if f, err := c.Float32s(); err == nil {
			copy(dst, f)
			return nil
		}
	case F16:
		F16BytesToF32(dst, b)
		return nil
	case BF16:
		BF16BytesToF32(dst, b)
		return nil
	}
	sz := c.dtype.Size()
	for i := range dst {
		dst[i] = float32(decode(c.dtype, b[i*sz:(i+1)*sz]))
	}
	return nil
}

func decode(dt DType, b []byte) float64 {
	switch dt {
	case Bool, U8:
		return float64(b[0])
	case I8:
		return float64(int8(b[0]))
	case F8E5M2:
		return float64(F8E5M2ToF32(b[0]))
	case F8E4M3:
		return float64(F8E4M3ToF32(b[0]))
	case I16:
		return float64(int16(le16(b)))
	case U16:
		return float64(le16(b))
	case F16:
		return float64(F16ToF32(le16(b)))
	case BF16:
		return float64(BF16ToF32(le16(b)))
	case I32:
		return float64(int32(le32(b)))
	case U32:
		return float64(le32(b))
	case F32:
		return float64(math.Float32frombits(le32(b)))
	case F64:
		return math.Float64frombits(le64(b))
	case I64:
		return float64(int64(le64(b)))
	case U64:
		return float64(le64(b))
	}
	return math.NaN()
}

func encode(dt DType, b []byte, v float64) {
	switch dt {
	case Bool:
		b[0] = 0
		if v != 0 {
			b[0] = 1
		}
	case U8:
		b[0] = uint8(clampInt(v, 0, math.MaxUint8))
	case I8:
		b[0] = uint8(int8(clampInt(v, math.MinInt8, math.MaxInt8)))
	case F8E5M2:
		b[0] = F32ToF8E5M2(float32(v))
	case F8E4M3:
		b[0] = F32ToF8E4M3(float32(v))
	case I16:
		put16(b, uint16(int16(clampInt(v, math.MinInt16, math.MaxInt16))))
	case U16:
		put16(b, uint16(clampInt(v, 0, math.MaxUint16)))
	case F16:
		put16(b, F32ToF16(float32(v)))
	case BF16:
		put16(b, F32ToBF16(float32(v)))
	case I32:
		put32(b, uint32(int32(clampInt(v, math.MinInt32, math.MaxInt32))))
	case U32:
		put32(b, uint32(clampInt(v, 0, math.MaxUint32)))
	case F32:
		put32(b, math.Float32bits(float32(v)))
	case F64:
		put64(b, math.Float64bits(v))
	case I64:
		switch {
		case v != v:
			put64(b, 0)
		case v >= 0x1p63:
			put64(b, math.MaxInt64)
		case v < -0x1p63:
			put64(b, 1<<63)
		default:
			put64(b, uint64(int64(v)))
		}
	case U64:
		switch {
		case v != v || v <= 0:
			put64(b, 0)
		case v >= 0x1p64:
			put64(b, math.MaxUint64)
		default:
			put64(b, uint64(v))
		}
	}
}

func clampInt(v, lo, hi float64) int64 {
	switch {
	case v != v:
		return 0
	case v < lo:
		return int64(lo)
	case v > hi:
		return int64(hi)
	}
	return int64(v)
}

func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }
func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
func le64(b []byte) uint64     { return uint64(le32(b)) | uint64(le32(b[4:]))<<32 }
func put16(b []byte, v uint16) { b[0], b[1] = byte(v), byte(v>>8) }
func put32(b []byte, v uint32) { put16(b, uint16(v)); put16(b[2:], uint16(v>>16)) }
func put64(b []byte, v uint64) { put32(b, uint32(v)); put32(b[4:], uint32(v>>32)) }

// String gives a short description: dtype and shape.
func (t *Tensor) String() string { return fmt.Sprintf("Tensor(%v %v)", t.dtype, t.shape) }
