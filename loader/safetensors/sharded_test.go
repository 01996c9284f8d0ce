package safetensors

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/tensor"
)

func writeShards(t *testing.T, dir, index string) {
	t.Helper()
	a, _ := tensor.FromFloat32([]float32{1, 2}, 2)
	b, _ := tensor.FromFloat32([]float32{3, 4, 5}, 3)
	c, _ := tensor.FromInt64([]int64{9}, 1)
	require.NoError(t, WriteFile(filepath.Join(dir, "model-00001-of-00002.safetensors"), map[string]*tensor.Tensor{"a": a, "b": b}, nil))
	require.NoError(t, WriteFile(filepath.Join(dir, "model-00002-of-00002.safetensors"), map[string]*tensor.Tensor{"c": c}, nil))
	require.NoError(t, os.WriteFile(filepath.Join(dir, IndexFile), []byte(index), 0o644))
}

func TestSharded(t *testing.T) {
	dir := t.TempDir()
	writeShards(t, dir, `{"metadata":{"total_size":28},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}}`)
	src, err := OpenModel(dir)
	require.NoError(t, err)
	defer src.Close()
	s := src.(*Sharded)
	require.Equal(t, []string{"a", "b", "c"}, s.Names())
	require.Equal(t, map[string]string{"total_size": "28"}, s.Metadata())
	require.Len(t, s.Shards(), 2)
	c, err := s.Tensor("c")
	require.NoError(t, err)
	v, _ := c.At(0)
	require.Equal(t, 9.0, v)
	in, ok := s.Info("b")
	require.True(t, ok)
	require.Equal(t, []int{3}, in.Shape)
	_, err = s.Tensor("zzz")
	require.ErrorIs(t, err, ErrNotFound)
}

func TestShardedErrors(t *testing.T) {
	cases := map[string]string{
		"missing shard":       `{"weight_map":{"a":"model-00001-of-00002.safetensors","x":"model-00003-of-00003.safetensors"}}`,
		"shard lacks tensor":  `{"weight_map":{"a":"model-00001-of-00002.safetensors","c":"model-00001-of-00002.safetensors"}}`,
		"empty weight map":    `{"weight_map":{}}`,
		"not json":            `{"weight_map":`,
		"path in shard name":  `{"weight_map":{"a":"../model-00001-of-00002.safetensors"}}`,
		"weight map mistyped": `{"weight_map":["a"]}`,
	}
	for name, index := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeShards(t, dir, index)
			_, err := OpenSharded(filepath.Join(dir, IndexFile))
			require.ErrorIs(t, err, ErrShard)
			require.Contains(t, err.Error(), IndexFile)
		})
	}
}

func TestOpenModelDirectories(t *testing.T) {
	dir := t.TempDir()
	_, err := OpenModel(dir)
	require.ErrorContains(t, err, "no model.safetensors.index.json")
	x, _ := tensor.New(tensor.F32, 1)
	for _, n := range []string{"one.safetensors", "two.safetensors"} {
		require.NoError(t, WriteFile(filepath.Join(dir, n), map[string]*tensor.Tensor{"x": x}, nil))
		_, err = OpenModel(dir)
		if n == "one.safetensors" {
			require.NoError(t, err)
		} else {
			require.ErrorContains(t, err, "2 .safetensors files")
		}
	}
	src, err := OpenModel(shared.Path(t, "fixtures", "minilm-tiny"))
	require.NoError(t, err)
	defer src.Close()
	in, ok := src.Info("embeddings.position_ids")
	require.True(t, ok)
	require.Equal(t, tensor.I64, in.DType)
	require.Equal(t, []int{1, 512}, in.Shape)
}
