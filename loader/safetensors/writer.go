package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lumen-ml/lumen/tensor"
)

// Write writes tensors and metadata in the safetensors format, exactly as the
// reference implementation (v0.4) does: tensors ordered by dtype, widest first in the
// format's dtype order, then by name; a compact JSON header with __metadata__ first;
// the header padded with spaces to a multiple of 8 bytes, so that every tensor of
// 8 bytes or less per element is aligned. Non-contiguous tensors are written in
// row-major order.
func Write(w io.Writer, tensors map[string]*tensor.Tensor, metadata map[string]string) error {
	names := make([]string, 0, len(tensors))
	for name, t := range tensors {
		if err := checkName(name); err != nil || name == "__metadata__" {
			if err == nil {
				err = fmt.Errorf("the name is reserved for the metadata")
			}
			return fmt.Errorf("safetensors: write: tensor %q: %w: %v", name, ErrInvalidName, err)
		}
		if t == nil {
			return fmt.Errorf("safetensors: write: tensor %q is nil", name)
		}
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		if da, db := tensors[a].DType(), tensors[b].DType(); da != db {
			return int(db) - int(da)
		}
		return strings.Compare(a, b)
	})

	var h bytes.Buffer
	h.WriteByte('{')
	if len(metadata) > 0 {
		h.WriteString(`"__metadata__":{`)
		for i, k := range slices.Sorted(maps.Keys(metadata)) {
			if !utf8.ValidString(k) || !utf8.ValidString(metadata[k]) {
				return fmt.Errorf("safetensors: write: metadata %q: %w: not valid UTF-8", k, ErrInvalidName)
			}
			if i > 0 {
				h.WriteByte(',')
			}
			appendJSONString(&h, k)
			h.WriteByte(':')
			appendJSONString(&h, metadata[k])
		}
		h.WriteByte('}')
	}
	var offset int64
	for i, name := range names {
		t := tensors[name]
		if i > 0 || len(metadata) > 0 {
			h.WriteByte(',')
		}
		appendJSONString(&h, name)
		h.WriteString(`:{"dtype":"`)
		h.WriteString(t.DType().String())
		h.WriteString(`","shape":[`)
		for j, d := range t.Shape() {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
		}
		end := offset + int64(t.ByteLen())
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, offset, end)
		offset = end
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}

	bw := bufio.NewWriterSize(w, 1<<20)
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(h.Len()))
	bw.Write(lenBuf[:])
	bw.Write(h.Bytes())
	for _, name := range names {
		b, err := tensors[name].Contiguous().Bytes()
		if err != nil {
			return fmt.Errorf("safetensors: write: tensor %q: %w", name, err)
		}
		if _, err := bw.Write(b); err != nil {
			return fmt.Errorf("safetensors: write: tensor %q: %w", name, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	return nil
}

// WriteFile writes the tensors to path atomically: to a temporary file in the same
// directory, renamed into place once complete.
func WriteFile(path string, tensors map[string]*tensor.Tensor, metadata map[string]string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := Write(tmp, tensors, metadata); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// appendJSONString writes s as a JSON string the way serde_json does: only '"', '\\'
// and control characters below 0x20 are escaped.
func appendJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
