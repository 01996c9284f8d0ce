package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/lumen-ml/lumen/loader/gguf"
)

// isGGUF reports whether path is a file that starts with GGUF's magic.
func isGGUF(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [4]byte
	_, err = io.ReadFull(f, magic[:])
	return err == nil && string(magic[:]) == "GGUF"
}

// inspectArrayShown is how many elements of a metadata array are listed.
const inspectArrayShown = 8

type ggufMeta struct {
	Key    string `json:"key"`
	Type   string `json:"type"`
	Length int    `json:"length,omitempty"` // arrays
	Value  any    `json:"value"`            // arrays: the first inspectArrayShown elements
}

type ggufTensor struct {
	Name   string  `json:"name"`
	Type   string  `json:"type"`
	Shape  []int64 `json:"shape"` // ggml order: a row's length first
	Offset int64   `json:"offset"`
	Bytes  int64   `json:"bytes"`
}

type ggufReport struct {
	Path       string           `json:"path"`
	Version    uint32           `json:"gguf_version"`
	Alignment  int64            `json:"alignment"`
	DataOffset int64            `json:"data_offset"`
	Metadata   []ggufMeta       `json:"metadata"`
	Tensors    []ggufTensor     `json:"tensors"`
	Params     int64            `json:"parameters"`
	Bytes      int64            `json:"bytes"`
	ByType     map[string]int64 `json:"tensors_by_type"`
}

func inspectGGUF(path string) (*ggufReport, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rep := &ggufReport{Path: path, Version: f.Version(), Alignment: f.Alignment(), DataOffset: f.DataOffset(),
		ByType: map[string]int64{}}
	for _, k := range f.Keys() {
		v, _ := f.Metadata(k)
		m := ggufMeta{Key: k, Type: v.Type.String()}
		if v.Type == gguf.Array {
			m.Type = "ARRAY of " + v.Elem.String()
			m.Length = v.Len()
			all, _ := v.Array()
			shown := make([]any, 0, min(len(all), inspectArrayShown))
			for _, e := range all[:min(len(all), inspectArrayShown)] {
				shown = append(shown, displayValue(e))
			}
			m.Value = shown
		} else {
			m.Value = displayValue(v)
		}
		rep.Metadata = append(rep.Metadata, m)
	}
	for _, t := range f.Tensors() {
		rep.Tensors = append(rep.Tensors, ggufTensor{Name: t.Name, Type: t.Type.String(), Shape: t.Shape, Offset: t.Offset, Bytes: t.Bytes})
		rep.Params += t.Elements()
		rep.Bytes += t.Bytes
		rep.ByType[t.Type.String()]++
	}
	return rep, nil
}

// displayValue is a value as inspect shows it: a FLOAT32 with the digits a float32
// has (1e-05, not 9.999999747378752e-06).
func displayValue(v gguf.Value) any {
	if f, ok := v.Float(); ok && v.Type == gguf.Float32 {
		return json.Number(strconv.FormatFloat(f, 'g', -1, 32))
	}
	return v.Any()
}

// metaString renders a value on one line, cut at about 96 characters.
func metaString(v any) string {
	const maxChars = 96
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	s := strings.TrimSpace(b.String())
	if r := []rune(s); len(r) > maxChars {
		s = string(r[:maxChars]) + "…"
		if str, ok := v.(string); ok {
			s += fmt.Sprintf(" (%d characters)", len([]rune(str)))
		}
	}
	return s
}

func (r *ggufReport) print(w io.Writer) error {
	fmt.Fprintf(w, "%s: GGUF v%d, %d metadata keys, %d tensors (alignment %d, data at byte %d)\n",
		r.Path, r.Version, len(r.Metadata), len(r.Tensors), r.Alignment, r.DataOffset)
	fmt.Fprintln(w, "metadata:")
	for _, m := range r.Metadata {
		val := metaString(m.Value)
		if m.Length > 0 {
			val = fmt.Sprintf("%d elements: %s", m.Length, val)
			if m.Length > inspectArrayShown && strings.HasSuffix(val, "]") {
				val = strings.TrimSuffix(val, "]") + ", …]"
			}
		}
		fmt.Fprintf(w, "  %s (%s) = %s\n", m.Key, m.Type, val)
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tSHAPE (ggml order)\tBYTES")
	for _, t := range r.Tensors {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%d\n", t.Name, t.Type, t.Shape, t.Bytes)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	types := slices.Sorted(maps.Keys(r.ByType))
	parts := make([]string, len(types))
	for i, t := range types {
		parts[i] = fmt.Sprintf("%d %s", r.ByType[t], t)
	}
	fmt.Fprintf(w, "total: %d tensors (%s), %d parameters, %d bytes (%s)\n", len(r.Tensors), strings.Join(parts, ", "),
		r.Params, r.Bytes, humanBytes(r.Bytes))
	return nil
}
