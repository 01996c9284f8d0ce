package gguf

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/internal/shared"
)

// golden is testdata/fixture.json, written by tools/gguf/make_fixture.py with
// gguf-py 0.19.0 alongside fixture.gguf.
type golden struct {
	Version    uint32 `json:"version"`
	DataOffset int64  `json:"data_offset"`
	Alignment  int64  `json:"alignment"`
	Metadata   map[string]struct {
		Type  string `json:"type"`
		Elem  string `json:"elem"`
		Value any    `json:"value"`
	} `json:"metadata"`
	Tensors []struct {
		Name   string  `json:"name"`
		Shape  []int64 `json:"shape"`
		Type   string  `json:"type"`
		Offset int64   `json:"offset"`
		Bytes  int64   `json:"bytes"`
		SHA256 string  `json:"sha256"`
	} `json:"tensors"`
}

// metadataOrder returns the keys of the golden's "metadata" object in file order.
func metadataOrder(t *testing.T, raw []byte) []string {
	var top struct {
		Metadata json.RawMessage `json:"metadata"`
	}
	require.NoError(t, json.Unmarshal(raw, &top))
	dec := json.NewDecoder(bytes.NewReader(top.Metadata))
	_, err := dec.Token() // {
	require.NoError(t, err)
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}

// sameValue compares a decoded value with the golden's (numbers as json.Number).
func sameValue(t *testing.T, key string, want, got any) {
	switch w := want.(type) {
	case json.Number:
		switch g := got.(type) {
		case uint64:
			assert.Equal(t, w.String(), strconv.FormatUint(g, 10), key)
		case int64:
			assert.Equal(t, w.String(), strconv.FormatInt(g, 10), key)
		case float64:
			f, err := w.Float64()
			require.NoError(t, err, key)
			assert.Equal(t, f, g, key)
		default:
			t.Errorf("%s: got %T %v, want the number %s", key, got, got, w)
		}
	case []any:
		g, ok := got.([]any)
		if !assert.True(t, ok, "%s: got %T, want an array", key, got) || !assert.Len(t, g, len(w), key) {
			return
		}
		for i := range w {
			sameValue(t, key+"["+strconv.Itoa(i)+"]", w[i], g[i])
		}
	default:
		assert.Equal(t, want, got, key)
	}
}

func TestFixture(t *testing.T) {
	raw, err := os.ReadFile("testdata/fixture.json")
	require.NoError(t, err)
	var g golden
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&g))

	f, err := Open("testdata/fixture.gguf")
	require.NoError(t, err)
	defer f.Close()
	assert.Equal(t, g.Version, f.Version())
	assert.Equal(t, g.DataOffset, f.DataOffset())
	assert.Equal(t, g.Alignment, f.Alignment())
	assert.Equal(t, metadataOrder(t, raw), f.Keys())
	for key, w := range g.Metadata {
		v, ok := f.Metadata(key)
		require.True(t, ok, key)
		assert.Equal(t, w.Type, v.Type.String(), key)
		if w.Elem != "" {
			assert.Equal(t, w.Elem, v.Elem.String(), key)
		}
		sameValue(t, key, w.Value, v.Any())
	}

	tensors := f.Tensors()
	require.Len(t, tensors, len(g.Tensors))
	for i, w := range g.Tensors {
		got := tensors[i]
		assert.Equal(t, w.Name, got.Name)
		assert.Equal(t, w.Shape, got.Shape, w.Name)
		assert.Equal(t, w.Type, got.Type.String(), w.Name)
		assert.Equal(t, w.Offset, got.Offset, w.Name)
		assert.Equal(t, w.Bytes, got.Bytes, w.Name)
		data, err := f.Data(w.Name)
		require.NoError(t, err)
		sum := sha256.Sum256(data)
		assert.Equal(t, w.SHA256, hex.EncodeToString(sum[:]), w.Name)
		one, ok := f.Tensor(w.Name)
		assert.True(t, ok)
		assert.Equal(t, got, one)
	}
	_, err = f.Data("nope")
	assert.ErrorIs(t, err, ErrNotFound)
	_, ok := f.Tensor("nope")
	assert.False(t, ok)

	// The typed accessors.
	v, _ := f.Metadata("test.strings")
	s, ok := v.Strings()
	assert.True(t, ok)
	assert.Equal(t, []string{"a", "", "Ġthe", "日本"}, s)
	assert.Equal(t, 4, v.Len())
	v, _ = f.Metadata("test.ints")
	ints, ok := v.Ints()
	assert.True(t, ok)
	assert.Equal(t, []int64{1, -2, 3}, ints)
	_, ok = v.Strings()
	assert.False(t, ok)
	v, _ = f.Metadata("test.floats")
	fl, ok := v.Floats()
	assert.True(t, ok)
	assert.Equal(t, []float64{0.25, -1.5}, fl)
	_, ok = v.Ints()
	assert.False(t, ok, "floats are not ints")
	v, _ = f.Metadata("test.u64")
	_, ok = v.Int()
	assert.False(t, ok, "18e18 does not fit an int64")
	x, ok := v.Float()
	assert.True(t, ok)
	assert.Equal(t, 18e18, x)
	v, _ = f.Metadata("llama.context_length")
	n, ok := v.Int()
	assert.True(t, ok)
	assert.EqualValues(t, 128, n)
	assert.NoError(t, f.Close())
	assert.NoError(t, f.Close(), "a second Close is harmless")
}

// builder writes GGUF files by hand, for what gguf-py will not write.
type builder struct {
	bytes.Buffer
}

func (b *builder) u32(x uint32) *builder { binary.Write(&b.Buffer, binary.LittleEndian, x); return b }
func (b *builder) u64(x uint64) *builder { binary.Write(&b.Buffer, binary.LittleEndian, x); return b }
func (b *builder) str(s string) *builder { b.u64(uint64(len(s))); b.WriteString(s); return b }

// header starts a file.
func header(version uint32, tensors, kvs uint64) *builder {
	b := &builder{}
	b.WriteString("GGUF")
	return b.u32(version).u64(tensors).u64(kvs)
}

// kvU32 adds a UINT32 metadata pair.
func (b *builder) kvU32(key string, v uint32) *builder { return b.str(key).u32(uint32(Uint32)).u32(v) }

// tensor adds a tensor description.
func (b *builder) tensor(name string, typ Type, offset uint64, dims ...uint64) *builder {
	b.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		b.u64(d)
	}
	return b.u32(uint32(typ)).u64(offset)
}

// data pads to the alignment and appends n bytes of tensor data.
func (b *builder) data(align, n int) []byte {
	for b.Len()%align != 0 {
		b.WriteByte(0)
	}
	b.Write(make([]byte, n))
	return b.Bytes()
}

func TestHandWritten(t *testing.T) {
	// gguf-py drops empty strings and arrays; a reader must take them.
	b := header(2, 1, 4)
	b.str("empty.string").u32(uint32(String)).str("")
	b.str("empty.array").u32(uint32(Array)).u32(uint32(Int64)).u64(0)
	b.str("general.alignment").u32(uint32(Uint32)).u32(64)
	b.str("bools").u32(uint32(Array)).u32(uint32(Bool)).u64(2)
	b.WriteByte(1)
	b.WriteByte(0)
	b.tensor("w", Q8_0, 0, 64, 2)
	f, err := FromBytes(b.data(64, 2*2*34), "hand.gguf")
	require.NoError(t, err)
	assert.Equal(t, uint32(2), f.Version())
	assert.Equal(t, int64(64), f.Alignment())
	assert.Zero(t, f.DataOffset()%64)
	v, _ := f.Metadata("empty.string")
	s, ok := v.Str()
	assert.True(t, ok)
	assert.Equal(t, "", s)
	v, _ = f.Metadata("empty.array")
	assert.Equal(t, 0, v.Len())
	ints, ok := v.Ints()
	assert.True(t, ok)
	assert.Empty(t, ints)
	v, _ = f.Metadata("bools")
	assert.Equal(t, []any{true, false}, v.Any())
	d, err := f.Data("w")
	require.NoError(t, err)
	assert.Len(t, d, 136)
	ti, _ := f.Tensor("w")
	assert.Equal(t, int64(128), ti.Elements())

	// No tensors at all: the data section is empty.
	f, err = FromBytes(header(3, 0, 0).Bytes(), "none.gguf")
	require.NoError(t, err)
	assert.Empty(t, f.Tensors())
}

// TestMalformed checks that every way a file can lie is an error naming the
// field, wrapping ErrFormat, before anything is allocated by its word.
func TestMalformed(t *testing.T) {
	const big = uint64(1) << 60
	kvHeader := func(kvs uint64) *builder { return header(3, 0, kvs) }
	oneTensor := func(build func(b *builder)) []byte {
		b := header(3, 1, 0)
		build(b)
		return b.data(32, 64)
	}
	twoTensors := func(build func(b *builder)) []byte {
		b := header(3, 2, 0)
		build(b)
		return b.data(32, 256)
	}
	nested := func(depth int) []byte {
		b := kvHeader(1)
		b.str("deep").u32(uint32(Array))
		for range depth {
			b.u32(uint32(Array)).u64(1)
		}
		b.u32(uint32(Uint8)).u64(0)
		return b.Bytes()
	}
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "magic needs 4 bytes"},
		{"magic", []byte("GGML\x03\x00\x00\x00"), `magic "GGML"`},
		{"version 1", header(1, 0, 0).Bytes(), "version 1 is not supported"},
		{"version 4", header(4, 0, 0).Bytes(), "version 4 is not supported"},
		{"truncated header", header(3, 0, 0).Bytes()[:20], "metadata_kv_count needs 8 bytes"},
		{"tensor count 2^60", header(3, big, 0).Bytes(), "tensor_count 1152921504606846976 cannot fit"},
		{"kv count 2^60", header(3, 0, big).Bytes(), "metadata_kv_count 1152921504606846976 cannot fit"},
		{"key length 2^40", kvHeader(1).u64(1 << 40).u32(0).u32(0).Bytes(), "metadata key 0 needs 1099511627776 bytes"},
		{"string 2^40", kvHeader(1).str("s").u32(uint32(String)).u64(1 << 40).Bytes(), `string "s" needs 1099511627776 bytes`},
		{"array 2^60", kvHeader(1).str("a").u32(uint32(Array)).u32(uint32(Uint8)).u64(big).Bytes(), `"a": 1152921504606846976 elements of UINT8 cannot fit`},
		{"string array 2^60", kvHeader(1).str("a").u32(uint32(Array)).u32(uint32(String)).u64(big).Bytes(), `"a": 1152921504606846976 elements of STRING cannot fit`},
		{"string in array", kvHeader(1).str("a").u32(uint32(Array)).u32(uint32(String)).u64(1).u64(1 << 40).Bytes(), `string 0 of "a" needs 1099511627776 bytes`},
		{"value type", kvHeader(1).str("k").u32(99).u64(0).Bytes(), `"k": unknown value type 99`},
		{"element type", kvHeader(1).str("k").u32(uint32(Array)).u32(77).u64(0).Bytes(), `"k": unknown element type 77`},
		{"bool", kvHeader(1).str("b").u32(uint32(Bool)).u32(2).Bytes(), `"b": bool byte 2`},
		{"bool in array", kvHeader(1).str("b").u32(uint32(Array)).u32(uint32(Bool)).u64(2).u32(0x0201).Bytes(), `"b": bool byte 2 (element 1)`},
		{"duplicate key", kvHeader(2).kvU32("k", 1).kvU32("k", 2).Bytes(), `metadata key "k" appears twice`},
		{"truncated value", kvHeader(1).str("k").u32(uint32(Uint64)).u32(1).Bytes(), `value of "k" needs 8 bytes, 4 are left`},
		{"nesting", nested(9), `"deep": arrays nested more than 8 deep`},
		{"alignment 3", kvHeader(1).kvU32("general.alignment", 3).Bytes(), "general.alignment 3 is not a power of two"},
		{"alignment 0", kvHeader(1).kvU32("general.alignment", 0).Bytes(), "general.alignment 0 is not a power of two"},
		{"alignment type", kvHeader(1).str("general.alignment").u32(uint32(Uint64)).u64(32).Bytes(), "general.alignment 32 is not a power of two held as UINT32"},
		{"no dims", oneTensor(func(b *builder) { b.tensor("t", F32, 0) }), `tensor "t": 0 dimensions (1 to 4 allowed)`},
		{"five dims", oneTensor(func(b *builder) { b.tensor("t", F32, 0, 1, 1, 1, 1, 1) }), `tensor "t": 5 dimensions`},
		{"dim 0", oneTensor(func(b *builder) { b.tensor("t", F32, 0, 4, 0) }), `tensor "t": dimension 1 is 0`},
		{"dim 2^63", oneTensor(func(b *builder) { b.tensor("t", F32, 0, 1<<63) }), `tensor "t": dimension 0 is 9223372036854775808`},
		{"product", oneTensor(func(b *builder) { b.tensor("t", F32, 0, 1<<32, 1<<32) }), `tensor "t": the product of its dimensions [4294967296 4294967296] overflows`},
		{"bytes", oneTensor(func(b *builder) { b.tensor("t", F64, 0, 1<<62) }), `tensor "t": its size overflows`},
		{"ggml type", oneTensor(func(b *builder) { b.tensor("t", Type(99), 0, 4) }), `tensor "t": ggml type 99 is not known`},
		{"blocks", oneTensor(func(b *builder) { b.tensor("t", Q4_0, 0, 33) }), `tensor "t": a row of 33 elements is not whole Q4_0 blocks of 32`},
		{"misaligned", oneTensor(func(b *builder) { b.tensor("t", F32, 4, 4) }), `tensor "t": offset 4 is not a multiple of the alignment 32`},
		{"past the end", oneTensor(func(b *builder) { b.tensor("t", F32, 32, 16) }), `tensor "t": bytes [32, 96) of the data section, which holds 64`},
		{"far past the end", oneTensor(func(b *builder) { b.tensor("t", F32, 1<<62, 4) }), `tensor "t": bytes [4611686018427387904, `},
		{"offset 2^63", oneTensor(func(b *builder) { b.tensor("t", F32, 1<<63, 4) }), `tensor "t": offset 9223372036854775808`},
		{"overlap", twoTensors(func(b *builder) { b.tensor("a", F32, 0, 16).tensor("b", F32, 32, 16) }), `tensors "a" and "b" overlap`},
		{"duplicate tensor", twoTensors(func(b *builder) { b.tensor("a", F32, 0, 4).tensor("a", F32, 32, 4) }), `tensor "a" appears twice`},
		{"truncated tensor", header(3, 1, 0).str("t" + strings.Repeat("x", 40)).u32(2).u64(4).Bytes(), `tensor "txxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" dimension 1 needs 8 bytes`},
		{"no data section", func() []byte {
			b := header(3, 1, 0)
			b.tensor("t", F32, 0, 1)
			return b.Bytes()[:b.Len()]
		}(), "the data section would start at byte 64, past the end of the 57-byte file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := FromBytes(c.file, "bad.gguf")
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrFormat)
			assert.Contains(t, err.Error(), "bad.gguf")
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestOpenErrors(t *testing.T) {
	_, err := Open("testdata/does-not-exist.gguf")
	assert.ErrorIs(t, err, os.ErrNotExist)
	p := t.TempDir() + "/empty.gguf"
	require.NoError(t, os.WriteFile(p, nil, 0o644))
	_, err = Open(p)
	assert.ErrorIs(t, err, ErrFormat)
	assert.Contains(t, err.Error(), "empty.gguf")
	// A mapped file that fails to parse is unmapped, and a good one stays usable.
	raw, err := os.ReadFile("testdata/fixture.gguf")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, raw[:len(raw)-100], 0o644))
	_, err = Open(p)
	assert.ErrorIs(t, err, ErrFormat)
}

func TestTypes(t *testing.T) {
	for ty, want := range map[Type][2]int{F32: {1, 4}, BF16: {1, 2}, Q4_1: {32, 20}, Q8_0: {32, 34}, Q4_K: {256, 144}, Q6_K: {256, 210}} {
		e, b, ok := ty.BlockSize()
		assert.True(t, ok)
		assert.Equal(t, want, [2]int{e, b}, ty.String())
	}
	_, _, ok := Type(1000).BlockSize()
	assert.False(t, ok)
	assert.Equal(t, "type(1000)", Type(1000).String())
	assert.Equal(t, "value_type(40)", ValueType(40).String())
	assert.Equal(t, "ARRAY", Array.String())
}

// FuzzFromBytes: no file, however broken, panics the parser or a reader of what it
// accepted; what it accepts is consistent.
func FuzzFromBytes(f *testing.F) {
	raw, err := os.ReadFile("testdata/fixture.gguf")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add(raw[:1200])
	b := header(2, 1, 2)
	b.str("empty").u32(uint32(Array)).u32(uint32(String)).u64(0)
	b.kvU32("general.alignment", 16)
	b.tensor("w", Q4_1, 0, 32, 2)
	f.Add(b.data(16, 40))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := FromBytes(data, "fuzz.gguf")
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			if !strings.Contains(err.Error(), "fuzz.gguf") {
				t.Fatalf("error %v does not name the file", err)
			}
			return
		}
		for _, k := range g.Keys() {
			v, _ := g.Metadata(k)
			_ = v.Any()
			v.Strings()
			v.Ints()
			v.Floats()
		}
		for _, ti := range g.Tensors() {
			d, err := g.Data(ti.Name)
			if err != nil || int64(len(d)) != ti.Bytes || ti.Elements() <= 0 || ti.Elements() > math.MaxInt64 {
				t.Fatalf("tensor %q: %d bytes, err %v, info %+v", ti.Name, len(d), err, ti)
			}
		}
	})
}

func TestSmolLM2(t *testing.T) {
	p := shared.SmolLM2(t)
	f, err := Open(p)
	require.NoError(t, err)
	defer f.Close()
	counts := map[Type]int{}
	for _, ti := range f.Tensors() {
		counts[ti.Type]++
	}
	assert.Equal(t, map[Type]int{Q4_1: 210, Q8_0: 1, F32: 61}, counts)
	v, _ := f.Metadata("tokenizer.ggml.tokens")
	toks, ok := v.Strings()
	require.True(t, ok)
	assert.Len(t, toks, 49152)
	assert.Equal(t, "<|im_start|>", toks[1])
	v, _ = f.Metadata("llama.attention.head_count_kv")
	n, _ := v.Int()
	assert.EqualValues(t, 3, n)
	emb, _ := f.Tensor("token_embd.weight")
	assert.Equal(t, []int64{576, 49152}, emb.Shape)
}
