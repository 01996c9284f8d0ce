package idx

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/assets"
)

func file(typ byte, dims []uint32, data []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestReadValid(t *testing.T) {
	plain := file(Uint8, []uint32{2, 3}, []byte{1, 2, 3, 4, 5, 6})
	for _, b := range [][]byte{plain, gz(plain)} {
		a, err := Read(bytes.NewReader(b), "x")
		require.NoError(t, err)
		require.Equal(t, Uint8, a.Type)
		require.Equal(t, []int{2, 3}, a.Dims)
		require.Equal(t, []byte{1, 2, 3, 4, 5, 6}, a.Data)
	}
	a, err := Read(bytes.NewReader(file(Float32, []uint32{2}, make([]byte, 8))), "f")
	require.NoError(t, err)
	require.Len(t, a.Data, 8)
}

func TestReadErrors(t *testing.T) {
	cases := map[string][]byte{
		"empty":          nil,
		"short magic":    {0, 0, 8},
		"bad magic":      {1, 0, 8, 1, 0, 0, 0, 1, 7},
		"unknown type":   file(0x0A, []uint32{1}, []byte{1}),
		"zero dims":      file(Uint8, nil, nil),
		"truncated dims": {0, 0, 8, 2, 0, 0, 0, 1},
		"truncated data": file(Uint8, []uint32{10}, []byte{1, 2}),
		"trailing data":  file(Uint8, []uint32{1}, []byte{1, 2}),
		"huge":           file(Int32, []uint32{1 << 16, 1 << 16}, []byte{1}),
		"bad gzip":       {0x1f, 0x8b, 0, 0},
	}
	for name, b := range cases {
		_, err := Read(bytes.NewReader(b), "test.idx")
		require.ErrorIs(t, err, ErrFormat, name)
		require.Contains(t, err.Error(), "test.idx", name)
	}
}

func TestMNISTTestSet(t *testing.T) {
	ds, err := LoadSplitFS(assets.MNISTTest(), "t10k")
	require.NoError(t, err)
	require.Equal(t, 10000, ds.N)
	require.Equal(t, 28, ds.Rows)
	require.Equal(t, 28, ds.Cols)
	require.Len(t, ds.Images, 10000*28*28)
	counts := make([]int, 10)
	for _, l := range ds.Labels {
		require.Less(t, l, uint8(10))
		counts[l]++
	}
	require.Equal(t, []int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}, counts) // the well-known t10k class counts
	require.Equal(t, uint8(7), ds.Labels[0])
	require.Len(t, ds.Image(9999), 784)
	_, err = LoadSplitFS(assets.MNISTTest(), "train") // training images are not shipped
	require.ErrorContains(t, err, "train-images-idx3-ubyte")

	// The same files in a directory, gzip or plain, through LoadSplit.
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, assets.MNISTTest()))
	fromDir, err := LoadSplit(dir, "t10k")
	require.NoError(t, err)
	require.Equal(t, ds, fromDir)
	a, err := ReadFile(filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"))
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(dir, "t10k-labels-idx1-ubyte.gz")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), file(Uint8, []uint32{uint32(len(a.Data))}, a.Data), 0o644))
	fromDir, err = LoadSplit(dir, "t10k")
	require.NoError(t, err)
	require.Equal(t, ds, fromDir)
	_, err = LoadSplit(dir, "train")
	require.ErrorContains(t, err, filepath.Join(dir)+": no train-images-idx3-ubyte")
}

// FashionMNISTDir is where Debian's dataset-fashion-mnist package puts the files.
const fashionMNISTDir = "/usr/share/datasets/fashion-mnist"

func TestFashionMNIST(t *testing.T) {
	if _, err := os.Stat(fashionMNISTDir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI installs dataset-fashion-mnist: %v", err)
		}
		t.Skip("apt-get install dataset-fashion-mnist to run this test")
	}
	for split, n := range map[string]int{"train": 60000, "t10k": 10000} {
		ds, err := LoadSplit(fashionMNISTDir, split)
		require.NoError(t, err)
		require.Equal(t, n, ds.N)
		require.Equal(t, 28, ds.Rows)
		counts := make([]int, 10)
		for _, l := range ds.Labels {
			counts[l]++
		}
		for c := range counts {
			require.Equal(t, n/10, counts[c], "Fashion-MNIST is balanced: class %d", c) // 6000 / 1000 per class
		}
	}
}

func TestLoadImagesMismatch(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "i")
	lab := filepath.Join(dir, "l")
	require.NoError(t, os.WriteFile(img, file(Uint8, []uint32{2, 1, 1}, []byte{1, 2}), 0o644))
	require.NoError(t, os.WriteFile(lab, file(Uint8, []uint32{3}, []byte{1, 2, 3}), 0o644))
	_, err := LoadImages(img, lab)
	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "2 images")
	_, err = LoadImages(lab, lab)
	require.ErrorContains(t, err, "rank 3")
	_, err = LoadImages(img, img)
	require.ErrorContains(t, err, "rank 1")
}

func FuzzRead(f *testing.F) {
	f.Add(file(Uint8, []uint32{2, 3}, []byte{1, 2, 3, 4, 5, 6}))
	f.Add(gz(file(Uint8, []uint32{1}, []byte{9})))
	f.Add(file(Float64, []uint32{1, 1}, make([]byte, 8)))
	f.Add([]byte{0, 0, 8, 1, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Read(bytes.NewReader(b), "fuzz")
		if err != nil {
			return
		}
		n := typeSize(a.Type)
		for _, d := range a.Dims {
			n *= d
		}
		if n != len(a.Data) {
			t.Fatalf("accepted %v of type %#x with %d bytes", a.Dims, a.Type, len(a.Data))
		}
	})
}

func ExampleLoadSplitFS() {
	ds, err := LoadSplitFS(assets.MNISTTest(), "t10k") // or LoadSplit("path/to/mnist", "t10k")
	if err != nil {
		panic(err)
	}
	fmt.Println(ds.N, ds.Rows, ds.Cols, len(ds.Image(0)), ds.Labels[0])
	// Output: 10000 28 28 784 7
}
