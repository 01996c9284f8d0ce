// Package gguf reads GGUF files (versions 2 and 3), the format of llama.cpp and
// ggml: a header, typed metadata (key-value pairs, arrays included), tensor
// descriptions, and the tensors' data, aligned, at the end.
//
// Everything a file claims is checked against its size before anything is
// allocated: counts, string and array lengths, dimensions and their product,
// tensor types, offsets, alignment and overlaps. A file that fails names the field
// and what was expected, wrapping ErrFormat. The tensor data is not copied: Open
// maps the file into memory (read-only) and Data returns views into it.
//
// Quantised tensors are returned as their raw blocks; their layouts are ggml's
// (Type.BlockSize gives elements and bytes per block).
package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sort"
)

// ErrFormat is wrapped by every error about a malformed or unsupported file.
var ErrFormat = errors.New("gguf: malformed file")

// ErrNotFound is wrapped by errors about a tensor the file does not have.
var ErrNotFound = errors.New("gguf: no such tensor")

// Type is a ggml tensor type.
type Type uint32

// The ggml types (ggml.h's enum ggml_type; gguf-py's GGMLQuantizationType).
const (
	F32     Type = 0
	F16     Type = 1
	Q4_0    Type = 2
	Q4_1    Type = 3
	Q5_0    Type = 6
	Q5_1    Type = 7
	Q8_0    Type = 8
	Q8_1    Type = 9
	Q2_K    Type = 10
	Q3_K    Type = 11
	Q4_K    Type = 12
	Q5_K    Type = 13
	Q6_K    Type = 14
	Q8_K    Type = 15
	IQ2_XXS Type = 16
	IQ2_XS  Type = 17
	IQ3_XXS Type = 18
	IQ1_S   Type = 19
	IQ4_NL  Type = 20
	IQ3_S   Type = 21
	IQ2_S   Type = 22
	IQ4_XS  Type = 23
	I8      Type = 24
	I16     Type = 25
	I32     Type = 26
	I64     Type = 27
	F64     Type = 28
	IQ1_M   Type = 29
	BF16    Type = 30
	TQ1_0   Type = 34
	TQ2_0   Type = 35
	MXFP4   Type = 39
)

type typeInfo struct {
	name         string
	block, bytes int // elements and bytes per block
}

// types are the block sizes of gguf-py 0.19.0's GGML_QUANT_SIZES.
var types = map[Type]typeInfo{
	F32: {"F32", 1, 4}, F16: {"F16", 1, 2}, Q4_0: {"Q4_0", 32, 18}, Q4_1: {"Q4_1", 32, 20},
	Q5_0: {"Q5_0", 32, 22}, Q5_1: {"Q5_1", 32, 24}, Q8_0: {"Q8_0", 32, 34}, Q8_1: {"Q8_1", 32, 40},
	Q2_K: {"Q2_K", 256, 84}, Q3_K: {"Q3_K", 256, 110}, Q4_K: {"Q4_K", 256, 144}, Q5_K: {"Q5_K", 256, 176},
	Q6_K: {"Q6_K", 256, 210}, Q8_K: {"Q8_K", 256, 292}, IQ2_XXS: {"IQ2_XXS", 256, 66}, IQ2_XS: {"IQ2_XS", 256, 74},
	IQ3_XXS: {"IQ3_XXS", 256, 98}, IQ1_S: {"IQ1_S", 256, 50}, IQ4_NL: {"IQ4_NL", 32, 18}, IQ3_S: {"IQ3_S", 256, 110},
	IQ2_S: {"IQ2_S", 256, 82}, IQ4_XS: {"IQ4_XS", 256, 136}, I8: {"I8", 1, 1}, I16: {"I16", 1, 2},
	I32: {"I32", 1, 4}, I64: {"I64", 1, 8}, F64: {"F64", 1, 8}, IQ1_M: {"IQ1_M", 256, 56}, BF16: {"BF16", 1, 2},
	TQ1_0: {"TQ1_0", 256, 54}, TQ2_0: {"TQ2_0", 256, 66}, MXFP4: {"MXFP4", 32, 17},
}

// String is the type's ggml name ("Q4_K"), or "type(N)" for an unknown one.
func (t Type) String() string {
	if ti, ok := types[t]; ok {
		return ti.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize returns the elements and bytes of one block of the type; ok is false
// for a type this package does not know.
func (t Type) BlockSize() (elems, bytes int, ok bool) {
	ti, ok := types[t]
	return ti.block, ti.bytes, ok
}

// ValueType is the type of a metadata value.
type ValueType uint32

// The metadata value types of the GGUF specification.
const (
	Uint8   ValueType = 0
	Int8    ValueType = 1
	Uint16  ValueType = 2
	Int16   ValueType = 3
	Uint32  ValueType = 4
	Int32   ValueType = 5
	Float32 ValueType = 6
	Bool    ValueType = 7
	String  ValueType = 8
	Array   ValueType = 9
	Uint64  ValueType = 10
	Int64   ValueType = 11
	Float64 ValueType = 12
)

var valueTypeNames = [...]string{"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL", "STRING",
	"ARRAY", "UINT64", "INT64", "FLOAT64"}

// String is the type's name as gguf-py writes it ("UINT32", "ARRAY").
func (v ValueType) String() string {
	if int(v) < len(valueTypeNames) {
		return valueTypeNames[v]
	}
	return fmt.Sprintf("value_type(%d)", uint32(v))
}

// size is the bytes of one scalar of the type (0 for strings and arrays).
func (v ValueType) size() int {
	switch v {
	case Uint8, Int8, Bool:
		return 1
	case Uint16, Int16:
		return 2
	case Uint32, Int32, Float32:
		return 4
	case Uint64, Int64, Float64:
		return 8
	}
	return 0
}

// Value is one metadata value. Scalars are held as uint64, int64, float64, bool or
// string. Arrays are held compactly (an array of scalars as its bytes, an array of
// strings as []string), so that metadata takes about the memory the file gives it;
// the accessors decode them.
type Value struct {
	Type ValueType
	Elem ValueType // the element type of an array
	v    any       // scalar, scalarArray, []string or []Value (arrays of arrays)
}

// scalarArray is an array of fixed-size scalars, as the file's bytes.
type scalarArray struct {
	n   int
	raw []byte
}

// scalar decodes one fixed-size scalar of type t from p.
func scalar(t ValueType, p []byte) any {
	switch t {
	case Uint8:
		return uint64(p[0])
	case Int8:
		return int64(int8(p[0]))
	case Bool:
		return p[0] == 1
	case Uint16:
		return uint64(binary.LittleEndian.Uint16(p))
	case Int16:
		return int64(int16(binary.LittleEndian.Uint16(p)))
	case Uint32:
		return uint64(binary.LittleEndian.Uint32(p))
	case Int32:
		return int64(int32(binary.LittleEndian.Uint32(p)))
	case Float32:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(p)))
	case Uint64:
		return binary.LittleEndian.Uint64(p)
	case Int64:
		return int64(binary.LittleEndian.Uint64(p))
	case Float64:
		return math.Float64frombits(binary.LittleEndian.Uint64(p))
	}
	panic(fmt.Sprintf("gguf: scalar of value type %v", t))
}

// Len is the number of elements of an array (0 for a scalar).
func (v Value) Len() int {
	switch a := v.v.(type) {
	case scalarArray:
		return a.n
	case []string:
		return len(a)
	case []Value:
		return len(a)
	}
	return 0
}

// Any returns the value as plain Go: uint64, int64, float64, bool, string, or []any
// for an array.
func (v Value) Any() any {
	a, ok := v.Array()
	if !ok {
		return v.v
	}
	out := make([]any, len(a))
	for i, e := range a {
		out[i] = e.Any()
	}
	return out
}

// Str returns a string value.
func (v Value) Str() (string, bool) { s, ok := v.v.(string); return s, ok }

// Bool returns a bool value.
func (v Value) Bool() (bool, bool) { b, ok := v.v.(bool); return b, ok }

// Int returns an integer value of any width and sign, if it fits an int64.
func (v Value) Int() (int64, bool) { return asInt(v.v) }

func asInt(x any) (int64, bool) {
	switch x := x.(type) {
	case int64:
		return x, true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

// Float returns a float value (float32 widened), or an integer one converted.
func (v Value) Float() (float64, bool) { return asFloat(v.v) }

func asFloat(x any) (float64, bool) {
	switch x := x.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

// Array returns an array's elements (built on each call).
func (v Value) Array() ([]Value, bool) {
	switch a := v.v.(type) {
	case scalarArray:
		out := make([]Value, a.n)
		size := v.Elem.size()
		for i := range out {
			out[i] = Value{Type: v.Elem, v: scalar(v.Elem, a.raw[i*size:])}
		}
		return out, true
	case []string:
		out := make([]Value, len(a))
		for i, s := range a {
			out[i] = Value{Type: String, v: s}
		}
		return out, true
	case []Value:
		return a, true
	}
	return nil, false
}

// Strings returns an array of strings. The slice is the value's own: do not
// change it.
func (v Value) Strings() ([]string, bool) {
	a, ok := v.v.([]string)
	return a, ok
}

// Ints returns an array of integers that fit int64.
func (v Value) Ints() ([]int64, bool) {
	a, ok := v.v.(scalarArray)
	if !ok || v.Elem == Float32 || v.Elem == Float64 || v.Elem == Bool {
		return nil, false
	}
	out := make([]int64, a.n)
	size := v.Elem.size()
	for i := range out {
		if out[i], ok = asInt(scalar(v.Elem, a.raw[i*size:])); !ok {
			return nil, false
		}
	}
	return out, true
}

// Floats returns an array of numbers (floats or integers) as float64.
func (v Value) Floats() ([]float64, bool) {
	a, ok := v.v.(scalarArray)
	if !ok || v.Elem == Bool {
		return nil, false
	}
	out := make([]float64, a.n)
	size := v.Elem.size()
	for i := range out {
		out[i], _ = asFloat(scalar(v.Elem, a.raw[i*size:]))
	}
	return out, true
}

// TensorInfo describes one tensor. Shape is in ggml's order: Shape[0] is the
// fastest-varying dimension (a row's length), the reverse of PyTorch's.
type TensorInfo struct {
	Name   string
	Shape  []int64
	Type   Type
	Offset int64 // from the start of the data section
	Bytes  int64
}

// Elements is the product of the shape.
func (t TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// File is a parsed GGUF file. Its methods are safe for concurrent use until Close.
type File struct {
	name      string
	version   uint32
	data      []byte // the whole file
	keys      []string
	meta      map[string]Value
	tensors   []TensorInfo
	byName    map[string]int
	alignment int64
	dataStart int64
	closer    func() error
}

const (
	maxDims     = 4 // GGML_MAX_DIMS
	maxDepth    = 8 // nested arrays
	maxKeyBytes = 65535
)

// FromBytes parses a GGUF file held in memory; name is used in errors.
func FromBytes(data []byte, name string) (*File, error) {
	f := &File{name: name, data: data, meta: map[string]Value{}, byName: map[string]int{}}
	if err := f.parse(); err != nil {
		return nil, err
	}
	return f, nil
}

// reader is a cursor over the file that fails, rather than reads past, its end.
type reader struct {
	b   []byte
	off int
	f   *File
}

func (r *reader) fail(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s (at byte %d)", ErrFormat, r.f.name, fmt.Sprintf(format, args...), r.off)
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) bytes(n uint64, what string) ([]byte, error) {
	if n > uint64(r.left()) {
		return nil, r.fail("%s needs %d bytes, %d are left", what, n, r.left())
	}
	p := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return p, nil
}

func (r *reader) u32(what string) (uint32, error) {
	p, err := r.bytes(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(p), nil
}

func (r *reader) u64(what string) (uint64, error) {
	p, err := r.bytes(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(p), nil
}

func (r *reader) str(what string) (string, error) {
	n, err := r.u64(what + " length")
	if err != nil {
		return "", err
	}
	p, err := r.bytes(n, what)
	if err != nil {
		return "", err
	}
	return string(p), nil
}

func (f *File) parse() error {
	r := &reader{b: f.data, f: f}
	magic, err := r.bytes(4, "magic")
	if err != nil {
		return err
	}
	if string(magic) != "GGUF" {
		return r.fail("magic %q, want \"GGUF\"", magic)
	}
	if f.version, err = r.u32("version"); err != nil {
		return err
	}
	if f.version != 2 && f.version != 3 {
		return r.fail("version %d is not supported (2 and 3 are)", f.version)
	}
	nTensors, err := r.u64("tensor_count")
	if err != nil {
		return err
	}
	nKV, err := r.u64("metadata_kv_count")
	if err != nil {
		return err
	}
	// A key-value pair takes at least 13 bytes (key length, type, one byte), a
	// tensor description at least 32 (name length, dims, one dim, type, offset).
	if nKV > uint64(r.left())/13 {
		return r.fail("metadata_kv_count %d cannot fit in the %d bytes left", nKV, r.left())
	}
	if nTensors > uint64(r.left())/32 {
		return r.fail("tensor_count %d cannot fit in the %d bytes left", nTensors, r.left())
	}
	f.keys = make([]string, 0, nKV)
	for i := uint64(0); i < nKV; i++ {
		key, err := r.str(fmt.Sprintf("metadata key %d", i))
		if err != nil {
			return err
		}
		if len(key) > maxKeyBytes {
			return r.fail("metadata key %d is %d bytes long", i, len(key))
		}
		if _, dup := f.meta[key]; dup {
			return r.fail("metadata key %q appears twice", key)
		}
		t, err := r.u32(fmt.Sprintf("type of %q", key))
		if err != nil {
			return err
		}
		v, err := r.value(ValueType(t), key, 0)
		if err != nil {
			return err
		}
		f.meta[key] = v
		f.keys = append(f.keys, key)
	}
	f.alignment = 32
	if v, ok := f.meta["general.alignment"]; ok {
		a, ok := v.Int()
		if !ok || v.Type != Uint32 || a == 0 || a&(a-1) != 0 {
			return r.fail("general.alignment %v is not a power of two held as UINT32", v.Any())
		}
		f.alignment = a
	}
	f.tensors = make([]TensorInfo, 0, nTensors)
	for i := uint64(0); i < nTensors; i++ {
		t, err := r.tensorInfo(i)
		if err != nil {
			return err
		}
		if _, dup := f.byName[t.Name]; dup {
			return r.fail("tensor %q appears twice", t.Name)
		}
		f.byName[t.Name] = len(f.tensors)
		f.tensors = append(f.tensors, t)
	}
	start := (int64(r.off) + f.alignment - 1) / f.alignment * f.alignment
	if len(f.tensors) > 0 && start > int64(len(f.data)) {
		return r.fail("the data section would start at byte %d, past the end of the %d-byte file", start, len(f.data))
	}
	f.dataStart = min(start, int64(len(f.data)))
	return f.checkLayout()
}

// value reads one metadata value of type t (depth counts enclosing arrays).
func (r *reader) value(t ValueType, key string, depth int) (Value, error) {
	v := Value{Type: t}
	if n := t.size(); n > 0 {
		p, err := r.bytes(uint64(n), fmt.Sprintf("value of %q", key))
		if err != nil {
			return v, err
		}
		if t == Bool && p[0] > 1 {
			return v, r.fail("%q: bool byte %d is neither 0 nor 1", key, p[0])
		}
		v.v = scalar(t, p)
		return v, nil
	}
	switch t {
	case String:
		s, err := r.str(fmt.Sprintf("string %q", key))
		v.v = s
		return v, err
	case Array:
		if depth >= maxDepth {
			return v, r.fail("%q: arrays nested more than %d deep", key, maxDepth)
		}
		et, err := r.u32(fmt.Sprintf("element type of %q", key))
		if err != nil {
			return v, err
		}
		v.Elem = ValueType(et)
		size := v.Elem.size()
		if size == 0 && v.Elem != String && v.Elem != Array {
			return v, r.fail("%q: unknown element type %d", key, et)
		}
		n, err := r.u64(fmt.Sprintf("length of %q", key))
		if err != nil {
			return v, err
		}
		// Every element takes at least its size (strings and arrays at least
		// eight bytes): no count the file cannot hold gets its slice.
		least := uint64(8)
		if size > 0 {
			least = uint64(size)
		}
		if n > uint64(r.left())/least {
			return v, r.fail("%q: %d elements of %s cannot fit in the %d bytes left", key, n, v.Elem, r.left())
		}
		switch v.Elem {
		case String:
			a := make([]string, n)
			for i := range a {
				if a[i], err = r.str(fmt.Sprintf("string %d of %q", i, key)); err != nil {
					return v, err
				}
			}
			v.v = a
		case Array:
			a := make([]Value, n)
			for i := range a {
				if a[i], err = r.value(Array, key, depth+1); err != nil {
					return v, err
				}
			}
			v.v = a
		default:
			p, _ := r.bytes(n*uint64(size), "") // fits: checked above
			if v.Elem == Bool {
				for i, b := range p {
					if b > 1 {
						return v, r.fail("%q: bool byte %d (element %d) is neither 0 nor 1", key, b, i)
					}
				}
			}
			v.v = scalarArray{n: int(n), raw: slices.Clone(p)}
		}
		return v, nil
	}
	return v, r.fail("%q: unknown value type %d", key, uint32(t))
}

func (r *reader) tensorInfo(i uint64) (TensorInfo, error) {
	var t TensorInfo
	name, err := r.str(fmt.Sprintf("tensor %d name", i))
	if err != nil {
		return t, err
	}
	t.Name = name
	nd, err := r.u32(fmt.Sprintf("tensor %q n_dims", name))
	if err != nil {
		return t, err
	}
	if nd == 0 || nd > maxDims {
		return t, r.fail("tensor %q: %d dimensions (1 to %d allowed)", name, nd, maxDims)
	}
	t.Shape = make([]int64, nd)
	elems := uint64(1)
	for k := range t.Shape {
		d, err := r.u64(fmt.Sprintf("tensor %q dimension %d", name, k))
		if err != nil {
			return t, err
		}
		if d == 0 || d > math.MaxInt64 {
			return t, r.fail("tensor %q: dimension %d is %d", name, k, d)
		}
		t.Shape[k] = int64(d)
		hi, lo := bits.Mul64(elems, d)
		if hi != 0 || lo > math.MaxInt64 {
			return t, r.fail("tensor %q: the product of its dimensions %v overflows", name, t.Shape[:k+1])
		}
		elems = lo
	}
	ty, err := r.u32(fmt.Sprintf("tensor %q type", name))
	if err != nil {
		return t, err
	}
	t.Type = Type(ty)
	block, size, ok := t.Type.BlockSize()
	if !ok {
		return t, r.fail("tensor %q: ggml type %d is not known", name, ty)
	}
	if t.Shape[0]%int64(block) != 0 {
		return t, r.fail("tensor %q: a row of %d elements is not whole %s blocks of %d", name, t.Shape[0], t.Type, block)
	}
	hi, lo := bits.Mul64(elems/uint64(block), uint64(size))
	if hi != 0 || lo > math.MaxInt64 {
		return t, r.fail("tensor %q: its size overflows", name)
	}
	t.Bytes = int64(lo)
	off, err := r.u64(fmt.Sprintf("tensor %q offset", name))
	if err != nil {
		return t, err
	}
	if off > math.MaxInt64 {
		return t, r.fail("tensor %q: offset %d", name, off)
	}
	t.Offset = int64(off)
	return t, nil
}

// checkLayout checks that every tensor is aligned, inside the data section, and
// overlaps no other.
func (f *File) checkLayout() error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrFormat, f.name, fmt.Sprintf(format, args...))
	}
	size := int64(len(f.data)) - f.dataStart
	for _, t := range f.tensors {
		if t.Offset%f.alignment != 0 {
			return fail("tensor %q: offset %d is not a multiple of the alignment %d", t.Name, t.Offset, f.alignment)
		}
		if t.Offset > size || t.Bytes > size-t.Offset {
			return fail("tensor %q: bytes [%d, %d) of the data section, which holds %d", t.Name, t.Offset, t.Offset+t.Bytes, size)
		}
	}
	order := make([]int, len(f.tensors))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return f.tensors[order[a]].Offset < f.tensors[order[b]].Offset })
	for k := 1; k < len(order); k++ {
		p, q := f.tensors[order[k-1]], f.tensors[order[k]]
		if q.Offset < p.Offset+p.Bytes {
			return fail("tensors %q and %q overlap (bytes %d and %d of the data section)", p.Name, q.Name, p.Offset, q.Offset)
		}
	}
	return nil
}

// Name is the name the file was opened with.
func (f *File) Name() string { return f.name }

// Version is the file's GGUF version (2 or 3).
func (f *File) Version() uint32 { return f.version }

// Alignment is the data section's alignment (general.alignment, 32 by default).
func (f *File) Alignment() int64 { return f.alignment }

// DataOffset is where the data section begins in the file.
func (f *File) DataOffset() int64 { return f.dataStart }

// Keys returns the metadata keys in the file's order.
func (f *File) Keys() []string { return slices.Clone(f.keys) }

// Metadata returns the value of a key.
func (f *File) Metadata(key string) (Value, bool) { v, ok := f.meta[key]; return v, ok }

// Tensors returns the tensor descriptions in the file's order.
func (f *File) Tensors() []TensorInfo {
	out := make([]TensorInfo, len(f.tensors))
	for i, t := range f.tensors {
		t.Shape = slices.Clone(t.Shape)
		out[i] = t
	}
	return out
}

// Tensor returns a tensor's description.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	t := f.tensors[i]
	t.Shape = slices.Clone(t.Shape)
	return t, true
}

// Data returns a tensor's bytes: a view into the file, which must not be changed
// (a mapped file is read-only) and is valid until Close.
func (f *File) Data(name string) ([]byte, error) {
	i, ok := f.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s: %q", ErrNotFound, f.name, name)
	}
	t := f.tensors[i]
	lo := f.dataStart + t.Offset
	return f.data[lo : lo+t.Bytes : lo+t.Bytes], nil
}

// Close releases the file's memory map. Views from Data are invalid after it.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	c := f.closer
	f.closer = nil
	return c()
}
