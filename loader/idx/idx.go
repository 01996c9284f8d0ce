// Package idx reads the idx format of MNIST and Fashion-MNIST (plain or gzip), and
// loads an images/labels pair as a dataset.
//
// An idx file is a 4-byte magic (two zero bytes, an element-type byte, a dimension
// count), that many big-endian uint32 sizes, then the elements in row-major order.
// Every header field is checked; a truncated file, trailing bytes or a size that
// overflows give an error naming the file and the expectation, never a panic.
package idx

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrFormat is wrapped by every error about a malformed file.
var ErrFormat = errors.New("idx: malformed file")

// MaxBytes bounds the element data of one file (1 GiB).
const MaxBytes = 1 << 30

// Element types.
const (
	Uint8   byte = 0x08
	Int8    byte = 0x09
	Int16   byte = 0x0B
	Int32   byte = 0x0C
	Float32 byte = 0x0D
	Float64 byte = 0x0E
)

func typeSize(t byte) int {
	switch t {
	case Uint8, Int8:
		return 1
	case Int16:
		return 2
	case Int32, Float32:
		return 4
	case Float64:
		return 8
	}
	return 0
}

// Array is the content of an idx file: its element type, dimensions and the raw
// (big-endian) element bytes.
type Array struct {
	Type byte
	Dims []int
	Data []byte
}

// Read parses an idx stream, decompressing it first if it starts with the gzip magic.
// name is used in error messages.
func Read(r io.Reader, name string) (*Array, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrFormat, name, fmt.Sprintf(format, args...))
	}
	br := bufio.NewReader(r)
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fail("bad gzip stream: %v", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return nil, fail("reading the 4-byte magic: %v", err)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fail("magic %#x does not start with two zero bytes", binary.BigEndian.Uint32(magic[:]))
	}
	size := typeSize(magic[2])
	if size == 0 {
		return nil, fail("unknown element type %#02x", magic[2])
	}
	if magic[3] == 0 {
		return nil, fail("zero dimensions")
	}
	a := &Array{Type: magic[2], Dims: make([]int, magic[3])}
	total := int64(size)
	for i := range a.Dims {
		var d [4]byte
		if _, err := io.ReadFull(br, d[:]); err != nil {
			return nil, fail("reading dimension %d of %d: %v", i+1, len(a.Dims), err)
		}
		a.Dims[i] = int(binary.BigEndian.Uint32(d[:]))
		total *= int64(a.Dims[i])
		if total > MaxBytes {
			return nil, fail("dimensions %v exceed the %d-byte limit", a.Dims[:i+1], MaxBytes)
		}
	}
	// ReadAll grows with the data actually present, so a header that lies about its
	// size cannot make us allocate for it.
	data, err := io.ReadAll(io.LimitReader(br, total+1))
	if err != nil {
		return nil, fail("reading data: %v", err)
	}
	if int64(len(data)) != total {
		if int64(len(data)) > total {
			return nil, fail("trailing bytes after the %d bytes that dimensions %v call for", total, a.Dims)
		}
		return nil, fail("dimensions %v call for %d bytes of data, the file has %d", a.Dims, total, len(data))
	}
	a.Data = data
	return a, nil
}

// ReadFile reads the idx file at path (gzip or plain).
func ReadFile(path string) (*Array, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("idx: %w", err)
	}
	return Read(bytes.NewReader(b), path)
}

// Dataset is a set of labelled images: Images holds N×Rows×Cols pixels (0–255) in
// row-major order, Labels holds N class indices.
type Dataset struct {
	N, Rows, Cols int
	Images        []uint8
	Labels        []uint8
}

// Image returns the pixels of image i.
func (d *Dataset) Image(i int) []uint8 {
	n := d.Rows * d.Cols
	return d.Images[i*n : (i+1)*n]
}

// LoadImages pairs an idx3 image file with an idx1 label file, checking types,
// ranks and counts.
func LoadImages(imagesPath, labelsPath string) (*Dataset, error) {
	img, err := ReadFile(imagesPath)
	if err != nil {
		return nil, err
	}
	lab, err := ReadFile(labelsPath)
	if err != nil {
		return nil, err
	}
	return pair(img, lab, imagesPath, labelsPath)
}

func pair(img, lab *Array, imagesName, labelsName string) (*Dataset, error) {
	if img.Type != Uint8 || len(img.Dims) != 3 {
		return nil, fmt.Errorf("%w: %s: want uint8 images of rank 3 (N, rows, cols), got type %#02x rank %d", ErrFormat, imagesName, img.Type, len(img.Dims))
	}
	if lab.Type != Uint8 || len(lab.Dims) != 1 {
		return nil, fmt.Errorf("%w: %s: want uint8 labels of rank 1, got type %#02x rank %d", ErrFormat, labelsName, lab.Type, len(lab.Dims))
	}
	if img.Dims[0] != lab.Dims[0] {
		return nil, fmt.Errorf("%w: %s has %d images but %s has %d labels", ErrFormat, imagesName, img.Dims[0], labelsName, lab.Dims[0])
	}
	return &Dataset{N: img.Dims[0], Rows: img.Dims[1], Cols: img.Dims[2], Images: img.Data, Labels: lab.Data}, nil
}

// LoadSplit loads split ("t10k" or "train") from dir, finding
// SPLIT-images-idx3-ubyte and SPLIT-labels-idx1-ubyte with or without ".gz" — the
// naming of MNIST and Fashion-MNIST.
func LoadSplit(dir, split string) (*Dataset, error) {
	return loadSplit(os.DirFS(dir), dir, split)
}

// LoadSplitFS is LoadSplit on a file system, such as the MNIST test set that package
// assets embeds.
func LoadSplitFS(fsys fs.FS, split string) (*Dataset, error) {
	return loadSplit(fsys, "", split)
}

// loadSplit reads split from fsys; dir is how error messages name fsys.
func loadSplit(fsys fs.FS, dir, split string) (*Dataset, error) {
	read := func(base string) (*Array, string, error) {
		for _, p := range []string{base + ".gz", base} {
			b, err := fs.ReadFile(fsys, p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			name := filepath.Join(dir, p)
			if err != nil {
				return nil, name, fmt.Errorf("idx: %w", err)
			}
			a, err := Read(bytes.NewReader(b), name)
			return a, name, err
		}
		return nil, "", fmt.Errorf("idx: %s: no %s or %s.gz: %w", cmp.Or(dir, "."), base, base, fs.ErrNotExist)
	}
	img, imagesName, err := read(split + "-images-idx3-ubyte")
	if err != nil {
		return nil, err
	}
	lab, labelsName, err := read(split + "-labels-idx1-ubyte")
	if err != nil {
		return nil, err
	}
	return pair(img, lab, imagesName, labelsName)
}
