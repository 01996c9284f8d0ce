package safetensors

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/tensor"
)

// FuzzParse feeds arbitrary bytes to the parser through the in-memory and reader
// paths. Neither may panic; both must agree; every tensor of an accepted file must be
// readable with exactly the bytes its entry describes.
func FuzzParse(f *testing.F) {
	if d := shared.Dir(); d != "" {
		files, _ := filepath.Glob(filepath.Join(d, "fixtures", "safetensors-format", "*.safetensors"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	x, _ := tensor.FromFloat32([]float32{1, 2, 3}, 3)
	h, _ := tensor.FromUint16(tensor.BF16, []uint16{1, 2}, 1, 2)
	var buf bytes.Buffer
	_ = Write(&buf, map[string]*tensor.Tensor{"x": x, "h": h}, map[string]string{"format": "pt"})
	f.Add(buf.Bytes())
	for _, c := range [][]byte{
		[]byte("abc"),
		raw(`{}`, nil),
		raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)),
		raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, make([]byte, 12)),
		raw(`{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}}`, make([]byte, 2)),
		raw(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}`, make([]byte, 8)),
		raw(`{"\ud800":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}`, make([]byte, 8)),
		raw(`{"__metadata__":{"k":"v"},"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]}}`, nil),
	} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, errMem := FromBytes(data, "fuzz")
		r, errReader := NewReader(bytes.NewReader(data), int64(len(data)), "fuzz")
		if (errMem == nil) != (errReader == nil) {
			t.Fatalf("paths disagree: %v / %v", errMem, errReader)
		}
		if errMem != nil {
			return
		}
		for _, n := range m.Names() {
			in, _ := m.Info(n)
			a, err := m.Tensor(n)
			if err != nil {
				t.Fatalf("accepted file but tensor %q unreadable: %v", n, err)
			}
			b, err := r.Tensor(n)
			if err != nil {
				t.Fatalf("reader: tensor %q unreadable: %v", n, err)
			}
			ab, _ := a.Bytes()
			bb, _ := b.Bytes()
			if int64(len(ab)) != in.Bytes() || !bytes.Equal(ab, bb) {
				t.Fatalf("tensor %q: %d bytes via memory, %d via reader, entry says %d", n, len(ab), len(bb), in.Bytes())
			}
			if a.ByteLen() != len(ab) {
				t.Fatalf("tensor %q: shape %v does not match its %d bytes", n, a.Shape(), len(ab))
			}
		}
	})
}
