package safetensors

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/internal/testfiles"
	"github.com/lumen-ml/lumen/tensor"
)

// CorruptClasses names each malformed-input class; the hand-crafted files in
// testdata/corrupt are called CLASS--CASE.safetensors, and the CLI tests read them.
var corruptClasses = map[error]string{
	ErrHeaderLength: "header-length", ErrHeaderNotObject: "not-object", ErrBadEntry: "bad-entry",
	ErrUnknownDType: "unknown-dtype", ErrSizeMismatch: "size-mismatch", ErrOffsetsOutOfRange: "offsets",
	ErrOverlap: "overlap", ErrHole: "hole", ErrDuplicateName: "duplicate-name", ErrInvalidName: "invalid-name",
}

// checkCorpusFile keeps testdata/corrupt in step with the table in TestCorruptFiles:
// with LUMEN_UPDATE_TESTDATA=1 it writes the file, otherwise it requires it to match.
func checkCorpusFile(t *testing.T, class error, name string, b []byte) {
	t.Helper()
	p := filepath.Join("testdata", "corrupt", corruptClasses[class]+"--"+strings.ReplaceAll(name, " ", "-")+".safetensors")
	if os.Getenv("LUMEN_UPDATE_TESTDATA") == "1" {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return
	}
	got, err := os.ReadFile(p)
	require.NoError(t, err, "run with LUMEN_UPDATE_TESTDATA=1 to regenerate")
	require.Equal(t, b, got, "%s is stale; run with LUMEN_UPDATE_TESTDATA=1", p)
}

// raw assembles a file from a header text and a data section.
func raw(header string, data []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	return append(append(b, header...), data...)
}

// openAll parses b through the in-memory, reader and mmap paths and checks that they
// agree on success or on the error class.
func openAll(t *testing.T, b []byte) (*File, error) {
	t.Helper()
	f1, err1 := FromBytes(b, "mem.safetensors")
	f2, err2 := NewReader(bytes.NewReader(b), int64(len(b)), "reader.safetensors")
	p := filepath.Join(t.TempDir(), "x.safetensors")
	require.NoError(t, os.WriteFile(p, b, 0o644))
	f3, err3 := Open(p)
	require.Equal(t, err1 == nil, err2 == nil, "reader path disagrees: %v / %v", err1, err2)
	require.Equal(t, err1 == nil, err3 == nil, "mmap path disagrees: %v / %v", err1, err3)
	if err1 != nil {
		require.Contains(t, err3.Error(), p, "the error names the file")
		return nil, err1
	}
	for _, f := range []*File{f2, f3} {
		require.Equal(t, f1.Names(), f.Names())
		for _, n := range f1.Names() {
			a, err := f1.Tensor(n)
			require.NoError(t, err)
			b, err := f.Tensor(n)
			require.NoError(t, err)
			ab, _ := a.Bytes()
			bb, _ := b.Bytes()
			require.Equal(t, ab, bb, n)
		}
		require.NoError(t, f.Close())
	}
	return f1, nil
}

func TestCorruptFiles(t *testing.T) {
	eight := make([]byte, 8)
	cases := []struct {
		name    string
		file    []byte
		want    error
		message string
	}{
		{"short file", []byte("abc"), ErrHeaderLength, "too short"},
		{"header past end", append(binary.LittleEndian.AppendUint64(nil, 1000), "{}"...), ErrHeaderLength, "past the end"},
		{"header over limit", append(binary.LittleEndian.AppendUint64(nil, 200_000_000), "{}"...), ErrHeaderLength, "limit"},
		{"header is an array", raw(`[1,2]`, nil), ErrHeaderNotObject, "want '{'"},
		{"header is a string", raw(`"x"`, nil), ErrHeaderNotObject, ""},
		{"header is empty", raw(``, nil), ErrHeaderNotObject, ""},
		{"header truncated JSON", raw(`{"a":{"dtype":"F32"`, nil), ErrBadEntry, ""},
		{"trailing data", raw(`{}x`, nil), ErrHeaderNotObject, "trailing"},
		{"invalid UTF-8 metadata", raw(`{"__metadata__":{"k":"`+"\xff"+`"}}`, nil), ErrHeaderNotObject, "UTF-8"},
		{"unknown dtype", raw(`{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}}`, make([]byte, 2)), ErrUnknownDType, `"Q4"`},
		{"shape times dtype", raw(`{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}`, make([]byte, 20)), ErrSizeMismatch, "[2 3] × F32"},
		{"shape overflow", raw(`{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}`, eight), ErrSizeMismatch, ""},
		{"offsets past data", raw(`{"a":{"dtype":"U8","shape":[16],"data_offsets":[0,16]}}`, eight), ErrOffsetsOutOfRange, "8-byte data section"},
		{"offsets reversed", raw(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[8,4]}}`, eight), ErrOffsetsOutOfRange, ""},
		{"offsets negative", raw(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[-4,0]}}`, eight), ErrOffsetsOutOfRange, ""},
		{"overlap", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)), ErrOverlap, `"b"`},
		{"hole", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, make([]byte, 12)), ErrHole, "[4, 8)"},
		{"trailing bytes", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, eight), ErrHole, "end of the data section"},
		{"duplicate name", raw(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}`, eight), ErrDuplicateName, `"a"`},
		{"duplicate metadata", raw(`{"__metadata__":{},"__metadata__":{}}`, nil), ErrDuplicateName, ""},
		{"empty name", raw(`{"":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}`, eight), ErrInvalidName, "empty"},
		{"non-UTF-8 name", raw(`{"a`+"\xc3\x28"+`":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}`, eight), ErrInvalidName, "UTF-8"},
		{"lone surrogate name", raw(`{"\ud800":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}`, eight), ErrInvalidName, "surrogate"},
		{"missing dtype", raw(`{"a":{"shape":[8],"data_offsets":[0,8]}}`, eight), ErrBadEntry, "dtype"},
		{"missing offsets", raw(`{"a":{"dtype":"U8","shape":[8]}}`, eight), ErrBadEntry, "data_offsets"},
		{"three offsets", raw(`{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,4,8]}}`, eight), ErrBadEntry, "3 entries"},
		{"negative dim", raw(`{"a":{"dtype":"U8","shape":[-8],"data_offsets":[0,8]}}`, eight), ErrBadEntry, "negative"},
		{"fractional dim", raw(`{"a":{"dtype":"U8","shape":[8.5],"data_offsets":[0,8]}}`, eight), ErrBadEntry, ""},
		{"entry not object", raw(`{"a":[1]}`, nil), ErrBadEntry, ""},
		{"metadata not strings", raw(`{"__metadata__":{"k":1}}`, nil), ErrBadEntry, "__metadata__"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkCorpusFile(t, c.want, c.name, c.file)
			_, err := openAll(t, c.file)
			require.Error(t, err)
			require.ErrorIs(t, err, c.want)
			require.Contains(t, err.Error(), "mem.safetensors")
			require.Contains(t, err.Error(), c.message)
		})
	}
}

func TestValidEdgeCases(t *testing.T) {
	// Zero-size tensors may share an offset; scalars have an empty shape; whitespace
	// padding after the header object is allowed; unknown entry fields are ignored.
	f, err := openAll(t, raw(`{"__metadata__":{"k":"v"},"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"s":{"dtype":"F64","shape":[],"data_offsets":[0,8],"extra":1}}   `, make([]byte, 8)))
	require.NoError(t, err)
	require.Equal(t, []string{"e", "s", "z"}, f.Names())
	require.Equal(t, map[string]string{"k": "v"}, f.Metadata())
	s, err := f.Tensor("s")
	require.NoError(t, err)
	require.Equal(t, 0, s.Rank())
	e, err := f.Tensor("e")
	require.NoError(t, err)
	require.Equal(t, []int{0, 3}, e.Shape())
	_, err = f.Tensor("nope")
	require.ErrorIs(t, err, ErrNotFound)
	require.NoError(t, f.Close())
	require.NoError(t, f.Close())
	_, err = f.Tensor("s")
	require.ErrorIs(t, err, ErrClosed)

	f, err = openAll(t, raw(`{}`, nil))
	require.NoError(t, err)
	require.Empty(t, f.Names())
	require.Nil(t, f.Metadata())
}

// randomTensor fills a tensor of the given dtype with random bytes.
func randomTensor(t *testing.T, r *rand.Rand, dt tensor.DType, shape ...int) *tensor.Tensor {
	x, err := tensor.New(dt, shape...)
	require.NoError(t, err)
	b, _ := x.Bytes()
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if dt == tensor.Bool {
		for i := range b {
			b[i] &= 1
		}
	}
	return x
}

func TestRoundTripEveryDType(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	tensors := map[string]*tensor.Tensor{}
	for i, dt := range tensor.DTypes() {
		tensors[dt.String()+".matrix"] = randomTensor(t, r, dt, 3, 5+i)
		tensors[dt.String()+".vector"] = randomTensor(t, r, dt, 7)
		tensors[dt.String()+".scalar"] = randomTensor(t, r, dt)
	}
	base := randomTensor(t, r, tensor.F32, 4, 6)
	tensors["strided.view"], _ = base.Transpose(0, 1)
	meta := map[string]string{"format": "pt", "quote\"and\\slash": "tab\there <&> é"}

	var buf bytes.Buffer
	require.NoError(t, Write(&buf, tensors, meta))
	hlen := binary.LittleEndian.Uint64(buf.Bytes())
	require.Zero(t, hlen%8, "header padded to 8 bytes")

	f, err := openAll(t, buf.Bytes())
	require.NoError(t, err)
	require.Equal(t, meta, f.Metadata())
	require.Len(t, f.Names(), len(tensors))
	for name, want := range tensors {
		got, err := f.Tensor(name)
		require.NoError(t, err)
		require.Equal(t, want.DType(), got.DType(), name)
		require.Equal(t, want.Shape(), got.Shape(), name)
		wb, _ := want.Contiguous().Bytes()
		gb, _ := got.Bytes()
		require.Equal(t, wb, gb, name)
	}
	// Writing what was read gives the identical file.
	again := map[string]*tensor.Tensor{}
	for _, n := range f.Names() {
		again[n], _ = f.Tensor(n)
	}
	var buf2 bytes.Buffer
	require.NoError(t, Write(&buf2, again, f.Metadata()))
	require.Equal(t, buf.Bytes(), buf2.Bytes())
}

func TestWriteRejects(t *testing.T) {
	x, _ := tensor.New(tensor.F32, 2)
	for _, name := range []string{"", "__metadata__", "bad\xff"} {
		err := Write(&bytes.Buffer{}, map[string]*tensor.Tensor{name: x}, nil)
		require.ErrorIs(t, err, ErrInvalidName, "%q", name)
	}
	require.Error(t, Write(&bytes.Buffer{}, map[string]*tensor.Tensor{"a": nil}, nil))
	require.ErrorIs(t, Write(&bytes.Buffer{}, nil, map[string]string{"k": "\xff"}), ErrInvalidName)
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.safetensors")
	x, _ := tensor.FromFloat32([]float32{1, 2, 3}, 3)
	require.NoError(t, WriteFile(p, map[string]*tensor.Tensor{"x": x}, nil))
	entries, _ := os.ReadDir(dir)
	require.Len(t, entries, 1, "no temporary file left behind")
	f, err := Open(p)
	require.NoError(t, err)
	defer f.Close()
	y, err := f.Tensor("x")
	require.NoError(t, err)
	v, _ := y.Float32s()
	require.Equal(t, []float32{1, 2, 3}, v)
	require.Error(t, WriteFile(filepath.Join(dir, "no", "such", "dir.safetensors"), nil, nil))
}

// TestFixturesByteIdentical: the v0.4-written fixture weights are reproduced byte for
// byte by reading every tensor and writing them back.
func TestFixturesByteIdentical(t *testing.T) {
	for _, rel := range []string{
		"fixtures/gpt2-tiny/model.safetensors", "fixtures/gpt2-tiny/model-f16.safetensors",
		"fixtures/gpt2-tiny/model-bf16.safetensors", "fixtures/bert-tiny/model.safetensors",
		"fixtures/bert-tiny-qa/model.safetensors", "fixtures/bert-tiny-cls/model.safetensors",
		"fixtures/minilm-tiny/model.safetensors", "fixtures/gpt2-tiny/golden.safetensors",
	} {
		t.Run(rel, func(t *testing.T) {
			p := shared.Path(t, strings.Split(rel, "/")...)
			orig, err := os.ReadFile(p)
			require.NoError(t, err)
			f, err := Open(p)
			require.NoError(t, err)
			defer f.Close()
			all := map[string]*tensor.Tensor{}
			for _, n := range f.Names() {
				all[n], err = f.Tensor(n)
				require.NoError(t, err)
			}
			var buf bytes.Buffer
			require.NoError(t, Write(&buf, all, f.Metadata()))
			require.True(t, bytes.Equal(orig, buf.Bytes()), "rewritten file differs from the original")
		})
	}
}

// TestOfficialSamples reads the safetensors project's own sample files, whose
// unpadded headers leave the data unaligned: values must come out right anyway.
func TestOfficialSamples(t *testing.T) {
	dir := shared.Path(t, "fixtures", "safetensors-format")
	want := map[string]tensor.DType{"B": tensor.U8, "b": tensor.I8, "H": tensor.U16, "h": tensor.I16,
		"I": tensor.U32, "i": tensor.I32, "d": tensor.F64, "e": tensor.F16, "f": tensor.F32}
	expect := map[tensor.DType][]float64{}
	for _, dt := range want {
		switch dt {
		case tensor.U8:
			expect[dt] = []float64{253, 254, 255, 0, 1, 2}
		case tensor.U16:
			expect[dt] = []float64{65533, 65534, 65535, 0, 1, 2}
		case tensor.U32:
			expect[dt] = []float64{4294967293, 4294967294, 4294967295, 0, 1, 2}
		default:
			expect[dt] = []float64{-3, -2, -1, 0, 1, 2}
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	require.Len(t, files, 10)
	seen := 0
	for _, p := range files {
		f, err := Open(p)
		require.NoError(t, err, p)
		require.Equal(t, map[string]string{"test": "a"}, f.Metadata())
		for _, n := range f.Names() {
			x, err := f.Tensor(n)
			require.NoError(t, err, n)
			require.Equal(t, want[n], x.DType(), "%s:%s", p, n)
			require.Equal(t, []int{6}, x.Shape())
			for i, v := range expect[x.DType()] {
				got, _ := x.At(i)
				require.Equal(t, v, got, "%s:%s[%d]", p, n, i)
			}
			seen++
		}
		require.NoError(t, f.Close())
	}
	require.Equal(t, 18, seen)
}

func TestAliasingWhenAligned(t *testing.T) {
	x, _ := tensor.FromFloat32([]float32{1, 2, 3, 4}, 4)
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, map[string]*tensor.Tensor{"x": x}, nil))
	data := buf.Bytes()
	f, err := FromBytes(data, "mem")
	require.NoError(t, err)
	y, _ := f.Tensor("x")
	require.NoError(t, y.Set(42, 0))
	off := f.DataOffset()
	require.Equal(t, []byte{0, 0, 0x28, 0x42}, data[off:off+4], "aligned tensors alias the file bytes") // 42.0f
	// Shift the whole file by one byte: now the data is unaligned and must be copied.
	shifted := append([]byte{0}, data...)[1:]
	f2, err := FromBytes(shifted, "mem")
	require.NoError(t, err)
	z, _ := f2.Tensor("x")
	vals, err := z.Float32s()
	require.NoError(t, err)
	require.Equal(t, []float32{42, 2, 3, 4}, vals)
}

func TestEvictKeepsDataReadable(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.safetensors")
	vals := make([]float32, 1<<16)
	for i := range vals {
		vals[i] = float32(i)
	}
	x, _ := tensor.FromFloat32(vals, len(vals))
	require.NoError(t, WriteFile(p, map[string]*tensor.Tensor{"x": x}, nil))
	f, err := Open(p)
	require.NoError(t, err)
	defer f.Close()
	y, err := f.Tensor("x")
	require.NoError(t, err)
	got, _ := y.Float32s()
	require.Equal(t, vals, got)
	require.NoError(t, f.Evict("x"))
	require.Equal(t, vals, got, "evicted pages read back from the file")
	require.ErrorIs(t, f.Evict("nope"), ErrNotFound)
}

func TestMmapWritesArePrivate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.safetensors")
	x, _ := tensor.FromFloat32([]float32{1, 2}, 2)
	require.NoError(t, WriteFile(p, map[string]*tensor.Tensor{"x": x}, nil))
	before, _ := os.ReadFile(p)
	f, err := Open(p)
	require.NoError(t, err)
	y, _ := f.Tensor("x")
	require.NoError(t, y.Set(7, 1))
	require.NoError(t, f.Close())
	after, _ := os.ReadFile(p)
	require.Equal(t, before, after)
}

// TestOpenLargerThanMemory: a 256 GiB file (sparse) is more than the system lets a
// process map copy-on-write; Open falls back to reading tensors on demand instead of
// failing with "mmap: cannot allocate memory".
func TestOpenLargerThanMemory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.safetensors")
	testfiles.HeaderOnly(t, path, map[string][]int{"w": {1 << 18, 1 << 18}})
	f, err := Open(path)
	require.NoError(t, err)
	defer f.Close()
	in, ok := f.Info("w")
	require.True(t, ok)
	require.Equal(t, int64(1)<<38, in.Bytes())
}
