package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/lumen-ml/lumen/tensor"
)

// MaxHeaderSize is the largest JSON header accepted: 100,000,000 bytes, the limit of
// the reference safetensors implementation (real headers are kilobytes).
const MaxHeaderSize = 100_000_000

// Info describes one tensor of a file.
type Info struct {
	Name  string
	DType tensor.DType
	Shape []int
	// Begin and End are the tensor's byte offsets within the data section.
	Begin, End int64
}

// Bytes returns the size of the tensor's data.
func (i Info) Bytes() int64 { return i.End - i.Begin }

// File is one opened safetensors file. Its methods are safe for concurrent use.
//
// Tensors from a memory-mapped or in-memory file alias that memory when the data is
// aligned for its element type (and are copied otherwise); they stay valid until
// Close. Writes to an aliasing tensor change only this process's private copy of the
// page, never the file.
type File struct {
	name      string // file name used in errors
	infos     map[string]Info
	names     []string // sorted
	metadata  map[string]string
	dataStart int64
	dataLen   int64

	data   []byte      // whole file, when mapped or in memory
	r      io.ReaderAt // otherwise
	closer func() error

	mu     sync.RWMutex
	closed bool
}

// Source is a set of named tensors: a single File or a Sharded checkpoint.
type Source interface {
	Names() []string
	Info(name string) (Info, bool)
	Tensor(name string) (*tensor.Tensor, error)
	Metadata() map[string]string
	Close() error
}

var (
	_ Source = (*File)(nil)
	_ Source = (*Sharded)(nil)
)

// FromBytes parses a safetensors file held in memory; tensors alias data where
// alignment allows. name is used in error messages.
func FromBytes(data []byte, name string) (*File, error) {
	f, err := parseHeader(name, int64(len(data)), func(p []byte, off int64) error {
		copy(p, data[off:])
		return nil
	})
	if err != nil {
		return nil, err
	}
	f.data = data
	return f, nil
}

// NewReader parses a safetensors file read through r, of the given total size. The
// header is read at once; each Tensor call reads that tensor's bytes. name is used in
// error messages.
func NewReader(r io.ReaderAt, size int64, name string) (*File, error) {
	f, err := parseHeader(name, size, func(p []byte, off int64) error {
		_, err := r.ReadAt(p, off)
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	f.r = r
	return f, nil
}

// parseHeader reads and validates the header. readAt reads exactly len(p) bytes at
// off; callers guarantee off+len(p) <= size before calling it.
func parseHeader(name string, size int64, readAt func(p []byte, off int64) error) (*File, error) {
	fail := func(sentinel error, format string, args ...any) error {
		return fmt.Errorf("safetensors: %s: %w: %s", name, sentinel, fmt.Sprintf(format, args...))
	}
	if size < 8 {
		return nil, fail(ErrHeaderLength, "file is %d bytes, too short for the 8-byte header length", size)
	}
	var lenBuf [8]byte
	if err := readAt(lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("safetensors: %s: reading header length: %w", name, err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxHeaderSize {
		return nil, fail(ErrHeaderLength, "header length %d exceeds the %d-byte limit", n, MaxHeaderSize)
	}
	if int64(n) > size-8 {
		return nil, fail(ErrHeaderLength, "header length %d runs past the end of the %d-byte file", n, size)
	}
	header := make([]byte, n)
	if err := readAt(header, 8); err != nil {
		return nil, fmt.Errorf("safetensors: %s: reading %d-byte header: %w", name, n, err)
	}
	f := &File{name: name, dataStart: 8 + int64(n), dataLen: size - 8 - int64(n), infos: map[string]Info{}}
	if err := f.parseJSON(header, fail); err != nil {
		return nil, err
	}
	if err := f.checkLayout(fail); err != nil {
		return nil, err
	}
	f.names = make([]string, 0, len(f.infos))
	for k := range f.infos {
		f.names = append(f.names, k)
	}
	slices.Sort(f.names)
	return f, nil
}

type rawEntry struct {
	DType       *string  `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

func (f *File) parseJSON(header []byte, fail func(error, string, ...any) error) error {
	trimmed := bytes.TrimRight(header, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return fail(ErrHeaderNotObject, "header starts with %q, want '{'", firstBytes(trimmed))
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return fail(ErrHeaderNotObject, "%v", err)
	}
	sawMeta := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail(ErrHeaderNotObject, "%v", err)
		}
		key, _ := tok.(string)
		if key == "__metadata__" {
			if sawMeta {
				return fail(ErrDuplicateName, "__metadata__ appears twice")
			}
			sawMeta = true
			if err := dec.Decode(&f.metadata); err != nil {
				return fail(ErrBadEntry, "__metadata__ must map strings to strings: %v", err)
			}
			continue
		}
		if err := checkName(key); err != nil {
			return fail(ErrInvalidName, "tensor %q: %v", key, err)
		}
		if _, dup := f.infos[key]; dup {
			return fail(ErrDuplicateName, "tensor %q appears twice in the header", key)
		}
		var e rawEntry
		if err := dec.Decode(&e); err != nil {
			return fail(ErrBadEntry, "tensor %q: %v", key, err)
		}
		info, err := f.entryInfo(key, e, fail)
		if err != nil {
			return err
		}
		f.infos[key] = info
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return fail(ErrHeaderNotObject, "%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fail(ErrHeaderNotObject, "trailing data after the header object")
	}
	// Names were checked above; invalid UTF-8 anywhere else (in metadata, say) would
	// have been replaced silently by the decoder.
	if !utf8.Valid(header) {
		return fail(ErrHeaderNotObject, "header is not valid UTF-8")
	}
	return nil
}

func firstBytes(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}

// checkName rejects names the format cannot carry faithfully. encoding/json turns
// invalid UTF-8 and lone surrogate escapes into U+FFFD, so a replacement character in
// a decoded name means the raw name was not valid Unicode text.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case strings.ContainsRune(name, utf8.RuneError):
		return errors.New("name is not valid UTF-8 (invalid bytes or a lone surrogate escape)")
	}
	return nil
}

func (f *File) entryInfo(name string, e rawEntry, fail func(error, string, ...any) error) (Info, error) {
	tfail := func(sentinel error, format string, args ...any) error {
		return fail(sentinel, "tensor %q: %s", name, fmt.Sprintf(format, args...))
	}
	switch {
	case e.DType == nil:
		return Info{}, tfail(ErrBadEntry, "missing \"dtype\"")
	case e.Shape == nil:
		return Info{}, tfail(ErrBadEntry, "missing \"shape\"")
	case e.DataOffsets == nil:
		return Info{}, tfail(ErrBadEntry, "missing \"data_offsets\"")
	case len(*e.DataOffsets) != 2:
		return Info{}, tfail(ErrBadEntry, "data_offsets has %d entries, want [begin, end]", len(*e.DataOffsets))
	}
	dt, err := tensor.ParseDType(*e.DType)
	if err != nil {
		return Info{}, tfail(ErrUnknownDType, "%q is not one of BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64", *e.DType)
	}
	begin, end := (*e.DataOffsets)[0], (*e.DataOffsets)[1]
	if begin < 0 || end < begin || end > f.dataLen {
		return Info{}, tfail(ErrOffsetsOutOfRange, "data_offsets [%d, %d] not within the %d-byte data section", begin, end, f.dataLen)
	}
	shape := make([]int, len(*e.Shape))
	elems := int64(1)
	overflow := false
	for i, d := range *e.Shape {
		if d < 0 {
			return Info{}, tfail(ErrBadEntry, "shape %v has a negative dimension", *e.Shape)
		}
		shape[i] = int(d)
		if d != 0 && elems > math.MaxInt64/int64(dt.Size())/d {
			overflow = true
		}
		elems *= d
	}
	if overflow || elems*int64(dt.Size()) != end-begin || elems > tensor.MaxElements {
		return Info{}, tfail(ErrSizeMismatch, "shape %v × %v (%d bytes each) does not fill data_offsets [%d, %d] (%d bytes)", *e.Shape, dt, dt.Size(), begin, end, end-begin)
	}
	return Info{Name: name, DType: dt, Shape: shape, Begin: begin, End: end}, nil
}

// checkLayout requires the tensors to tile the data section exactly: no overlaps, no
// holes, nothing after the last tensor.
func (f *File) checkLayout(fail func(error, string, ...any) error) error {
	order := make([]Info, 0, len(f.infos))
	for _, in := range f.infos {
		order = append(order, in)
	}
	slices.SortFunc(order, func(a, b Info) int {
		if c := cmpInt64(a.Begin, b.Begin); c != 0 {
			return c
		}
		if c := cmpInt64(a.End, b.End); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	pos := int64(0)
	prev := ""
	for _, in := range order {
		switch {
		case in.Begin < pos:
			return fail(ErrOverlap, "tensor %q at [%d, %d] overlaps tensor %q, which ends at %d", in.Name, in.Begin, in.End, prev, pos)
		case in.Begin > pos:
			return fail(ErrHole, "bytes [%d, %d) of the data section belong to no tensor (next is %q at %d)", pos, in.Begin, in.Name, in.Begin)
		}
		pos, prev = in.End, in.Name
	}
	if pos != f.dataLen {
		return fail(ErrHole, "bytes [%d, %d) at the end of the data section belong to no tensor", pos, f.dataLen)
	}
	return nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Name returns the file name used in errors.
func (f *File) Name() string { return f.name }

// Names returns the tensor names in lexical order.
func (f *File) Names() []string { return slices.Clone(f.names) }

// Info returns the description of the named tensor.
func (f *File) Info(name string) (Info, bool) {
	in, ok := f.infos[name]
	in.Shape = slices.Clone(in.Shape)
	return in, ok
}

// Metadata returns a copy of the header's __metadata__ (nil when absent).
func (f *File) Metadata() map[string]string {
	if f.metadata == nil {
		return nil
	}
	m := make(map[string]string, len(f.metadata))
	for k, v := range f.metadata {
		m[k] = v
	}
	return m
}

// DataOffset returns the file position at which the data section starts.
func (f *File) DataOffset() int64 { return f.dataStart }

// Tensor returns the named tensor. For a mapped or in-memory file it aliases the file
// data when that is aligned for the element type, and is a copy otherwise; for a
// reader it is always a freshly read copy.
func (f *File) Tensor(name string) (*tensor.Tensor, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		return nil, fmt.Errorf("safetensors: %s: tensor %q: %w", f.name, name, ErrClosed)
	}
	in, ok := f.infos[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: %s: tensor %q: %w", f.name, name, ErrNotFound)
	}
	start, n := f.dataStart+in.Begin, in.End-in.Begin
	if f.data != nil {
		b := f.data[start : start+n : start+n]
		if n == 0 || uintptr(unsafe.Pointer(&b[0]))%uintptr(in.DType.Size()) == 0 {
			return tensor.FromBytes(in.DType, b, in.Shape...)
		}
		t, err := tensor.FromBytes(in.DType, b, in.Shape...)
		if err != nil {
			return nil, err
		}
		return t.Clone(), nil // unaligned: Clone gives an aligned copy
	}
	t, err := tensor.New(in.DType, in.Shape...)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: tensor %q: %w", f.name, name, err)
	}
	buf, _ := t.Bytes()
	if n > 0 {
		if _, err := f.r.ReadAt(buf, start); err != nil && !(errors.Is(err, io.EOF) && len(buf) == int(n)) {
			return nil, fmt.Errorf("safetensors: %s: reading tensor %q (%d bytes at %d): %w", f.name, name, n, start, err)
		}
	}
	return t, nil
}

// Close releases the mapping or file. Tensors that alias a mapped file must not be
// used after Close. Close is idempotent.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	f.data = nil
	if f.closer != nil {
		return f.closer()
	}
	return nil
}
