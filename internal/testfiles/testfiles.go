// Package testfiles writes the hostile model files that loader and model tests feed
// to the code under test: checkpoints whose header claims tensors their (sparse) file
// does not hold, and config.json files edited field by field.
package testfiles

import (
	"encoding/binary"
	"encoding/json"
	"maps"
	"os"
	"slices"
	"testing"
)

// HeaderOnly writes a safetensors file whose header declares F32 tensors of the
// given shapes, laid out one after another, and whose data is a hole: the file is
// extended to the size the header implies without writing it, so huge claims cost
// nothing on disk.
func HeaderOnly(tb testing.TB, path string, shapes map[string][]int) {
	tb.Helper()
	hdr := map[string]any{}
	off := int64(0)
	for _, name := range slices.Sorted(maps.Keys(shapes)) {
		n := int64(4)
		for _, d := range shapes[name] {
			n *= int64(d)
		}
		hdr[name] = map[string]any{"dtype": "F32", "shape": shapes[name], "data_offsets": []int64{off, off + n}}
		off += n
	}
	raw, err := json.Marshal(hdr)
	if err != nil {
		tb.Fatal(err)
	}
	for len(raw)%8 != 0 {
		raw = append(raw, ' ')
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := binary.Write(f, binary.LittleEndian, uint64(len(raw))); err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Write(raw); err != nil {
		tb.Fatal(err)
	}
	if err := f.Truncate(8 + int64(len(raw)) + off); err != nil {
		tb.Fatal(err)
	}
}

// EditConfig rewrites the JSON object in path after applying edit to its fields.
func EditConfig(tb testing.TB, path string, edit func(cfg map[string]any)) {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		tb.Fatal(err)
	}
	edit(m)
	if raw, err = json.Marshal(m); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		tb.Fatal(err)
	}
}
