package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/ops/asm"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// headerEntries parses a safetensors header with nothing but encoding/json, as an
// independent check of what inspect prints.
func headerEntries(t *testing.T, path string) map[string]struct {
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
} {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	n := binary.LittleEndian.Uint64(b)
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b[8:8+n], &raw))
	delete(raw, "__metadata__")
	out := map[string]struct {
		DType string `json:"dtype"`
		Shape []int  `json:"shape"`
	}{}
	for k, v := range raw {
		e := out[k]
		require.NoError(t, json.Unmarshal(v, &e))
		out[k] = e
	}
	return out
}

func TestInspectEverySharedCheckpoint(t *testing.T) {
	var files []string
	for _, sub := range []string{"fixtures", "models"} {
		root := shared.Path(t, sub)
		require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".safetensors") {
				files = append(files, p)
			}
			return err
		}))
	}
	require.GreaterOrEqual(t, len(files), 23) // 12 in fixtures' model folders, 10 format samples, LeNet
	for _, p := range files {
		code, out, errOut := runCLI("inspect", p)
		require.Equal(t, 0, code, "%s: %s", p, errOut)
		entries := headerEntries(t, p)
		require.Contains(t, out, fmt.Sprintf("%d tensors", len(entries)))
		lines := strings.Split(out, "\n")
		for name, e := range entries {
			fields := []string{name, e.DType, shapeString(e.Shape)}
			found := false
			for _, l := range lines {
				if strings.HasPrefix(l, name+" ") && strings.Contains(l, " "+e.DType+" ") && strings.Contains(l, fields[2]) {
					found = true
					break
				}
			}
			require.True(t, found, "%s: no line for %v in\n%s", p, fields, out)
		}
	}
}

func TestInspectDirectoryWithConfig(t *testing.T) {
	code, out, _ := runCLI("inspect", shared.Path(t, "fixtures", "bert-tiny-cls"))
	require.Equal(t, 0, code)
	require.Contains(t, out, `model_type = "bert"`)
	require.Contains(t, out, `id2label = {"0":"negative","1":"neutral","2":"positive"}`)
	require.Contains(t, out, "BF16")
	require.Contains(t, out, "format = pt")

	code, out, _ = runCLI("inspect", "--json", shared.Path(t, "models", "lenet-mnist", "lenet.safetensors"))
	require.Equal(t, 0, code)
	var rep report
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Len(t, rep.Tensors, 10)
	require.Equal(t, int64(44426), rep.Params)
	require.Equal(t, int64(177704), rep.Bytes)
}

func TestInspectShardedAndBadConfig(t *testing.T) {
	dir := t.TempDir()
	src := shared.Path(t, "models", "lenet-mnist", "lenet.safetensors")
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "part-1.safetensors"), b, 0o644))
	entries := headerEntries(t, src)
	wm := map[string]string{}
	for n := range entries {
		wm[n] = "part-1.safetensors"
	}
	idx, _ := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 177704}, "weight_map": wm})
	require.NoError(t, os.WriteFile(filepath.Join(dir, safetensors.IndexFile), idx, 0o644))
	code, out, errOut := runCLI("inspect", dir)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "10 tensors in 1 file(s)")
	require.Contains(t, out, "total_size = 177704")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), []byte("{not json"), 0o644))
	code, _, errOut = runCLI("inspect", dir)
	require.Equal(t, 1, code)
	require.True(t, strings.HasPrefix(errOut, "error: "), errOut)
	require.Contains(t, errOut, "config.json")
}

// TestInspectCorruptFiles runs inspect on every hand-crafted corrupt file of the
// loader's test corpus: exit status 1 and a message naming the file and the class.
func TestInspectCorruptFiles(t *testing.T) {
	classes := map[string]error{
		"header-length": safetensors.ErrHeaderLength, "not-object": safetensors.ErrHeaderNotObject,
		"bad-entry": safetensors.ErrBadEntry, "unknown-dtype": safetensors.ErrUnknownDType,
		"size-mismatch": safetensors.ErrSizeMismatch, "offsets": safetensors.ErrOffsetsOutOfRange,
		"overlap": safetensors.ErrOverlap, "hole": safetensors.ErrHole,
		"duplicate-name": safetensors.ErrDuplicateName, "invalid-name": safetensors.ErrInvalidName,
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "loader", "safetensors", "testdata", "corrupt", "*.safetensors"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 25)
	seen := map[string]bool{}
	for _, p := range files {
		class, _, _ := strings.Cut(filepath.Base(p), "--")
		want, ok := classes[class]
		require.True(t, ok, "unknown class in %s", p)
		seen[class] = true
		code, out, errOut := runCLI("inspect", p)
		require.Equal(t, 1, code, p)
		require.Empty(t, out)
		require.True(t, strings.HasPrefix(errOut, "error: safetensors: "+p+": "+want.Error()+": "), "%s: %q", p, errOut)
		_, loadErr := safetensors.Open(p)
		require.True(t, errors.Is(loadErr, want), p)
	}
	require.Len(t, seen, len(classes), "every class has at least one file")

	code, _, errOut := runCLI("inspect", filepath.Join(t.TempDir(), "missing.safetensors"))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "no such file")
	code, _, _ = runCLI("inspect")
	require.Equal(t, 1, code)
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI("version")
	require.Equal(t, 0, code)
	for _, want := range []string{"lumen ", "go       go1.", "kernels  " + asm.Best.String(), "caches   L1d ", "blocking MR "} {
		require.Contains(t, out, want)
	}
}

func TestInspectGGUF(t *testing.T) {
	fixture := filepath.Join("..", "..", "loader", "gguf", "testdata", "fixture.gguf")
	code, out, errOut := runCLI("inspect", fixture)
	require.Equal(t, 0, code, errOut)
	for _, want := range []string{
		"GGUF v3, 20 metadata keys, 6 tensors (alignment 32, data at byte 1120)",
		`general.architecture (STRING) = "llama"`,
		"test.f32 (FLOAT32) = 0.5",
		`test.strings (ARRAY of STRING) = 4 elements: ["a","","Ġthe","日本"]`,
		"test.nested (ARRAY of ARRAY) = 2 elements: [[1,2],[3]]",
		"blk.0.attn_q.weight     Q8_0  [64 4]",
		"total: 6 tensors (1 F16, 2 F32, 1 Q4_1, 1 Q4_K, 1 Q8_0), 1728 parameters, 3368 bytes",
	} {
		require.Contains(t, out, want)
	}
	code, out, errOut = runCLI("inspect", "--json", fixture)
	require.Equal(t, 0, code, errOut)
	var rep struct {
		Tensors []struct {
			Name  string  `json:"name"`
			Type  string  `json:"type"`
			Shape []int64 `json:"shape"`
			Bytes int64   `json:"bytes"`
		} `json:"tensors"`
		Metadata []struct {
			Key    string `json:"key"`
			Length int    `json:"length"`
		} `json:"metadata"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Len(t, rep.Tensors, 6)
	require.Equal(t, "output.weight", rep.Tensors[5].Name)
	require.Equal(t, []int64{32, 3, 2}, rep.Tensors[5].Shape)
	require.Len(t, rep.Metadata, 20)

	// A cut-off file is an error naming it, not a panic.
	raw, err := os.ReadFile(fixture)
	require.NoError(t, err)
	bad := filepath.Join(t.TempDir(), "cut.gguf")
	require.NoError(t, os.WriteFile(bad, raw[:600], 0o644))
	code, _, errOut = runCLI("inspect", bad)
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "cut.gguf")
	require.Contains(t, errOut, "malformed")
}
