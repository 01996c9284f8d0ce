package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lumen-ml/lumen/tensor"
)

// IndexFile is the conventional name of a sharded checkpoint's index.
const IndexFile = "model.safetensors.index.json"

// Sharded is a checkpoint split over several files and described by an index whose
// weight_map names the shard of every tensor. It behaves as one set of tensors. Its
// methods are safe for concurrent use.
type Sharded struct {
	index     string
	shards    map[string]*File // by file name
	owner     map[string]*File // by tensor name
	names     []string
	metadata  map[string]string
	shardList []string
}

type indexJSON struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"`
}

// OpenSharded opens the index file at indexPath and every shard it names (relative to
// the index's directory). Every shard must exist, and every tensor of the weight map
// must be in the shard the map names.
func OpenSharded(indexPath string) (*Sharded, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("safetensors: %s: %w: %s", indexPath, ErrShard, fmt.Sprintf(format, args...))
	}
	raw, err := os.ReadFile(indexPath)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	var idx indexJSON
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fail("index is not valid JSON of the form {\"weight_map\": {tensor: file}}: %v", err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fail("weight_map is missing or empty")
	}
	s := &Sharded{index: indexPath, shards: map[string]*File{}, owner: map[string]*File{}}
	dir := filepath.Dir(indexPath)
	for _, shard := range slices.Sorted(maps.Values(idx.WeightMap)) {
		if _, ok := s.shards[shard]; ok {
			continue
		}
		if shard == "" || shard != filepath.Base(shard) || strings.ContainsAny(shard, `/\`) || shard == ".." {
			_ = s.Close()
			return nil, fail("shard name %q must be a plain file name in the index's directory", shard)
		}
		f, err := Open(filepath.Join(dir, shard))
		if err != nil {
			_ = s.Close()
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fail("weight_map names shard %q, which does not exist: %v", shard, err)
			}
			return nil, err
		}
		s.shards[shard] = f
		s.shardList = append(s.shardList, shard)
	}
	for _, name := range slices.Sorted(maps.Keys(idx.WeightMap)) {
		shard := idx.WeightMap[name]
		f := s.shards[shard]
		if _, ok := f.Info(name); !ok {
			_ = s.Close()
			return nil, fail("weight_map puts tensor %q in shard %q, which lacks it", name, shard)
		}
		s.owner[name] = f
		s.names = append(s.names, name)
	}
	if len(idx.Metadata) > 0 {
		s.metadata = map[string]string{}
		for k, v := range idx.Metadata {
			s.metadata[k] = fmt.Sprint(v)
		}
	}
	return s, nil
}

// Names returns the tensor names of the weight map in lexical order.
func (s *Sharded) Names() []string { return slices.Clone(s.names) }

// Info describes the named tensor (offsets are within its shard).
func (s *Sharded) Info(name string) (Info, bool) {
	f, ok := s.owner[name]
	if !ok {
		return Info{}, false
	}
	return f.Info(name)
}

// Tensor returns the named tensor from its shard.
func (s *Sharded) Tensor(name string) (*tensor.Tensor, error) {
	f, ok := s.owner[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: %s: tensor %q: %w", s.index, name, ErrNotFound)
	}
	return f.Tensor(name)
}

// Evict drops the named tensor's pages from memory (see File.Evict).
func (s *Sharded) Evict(name string) error {
	f, ok := s.owner[name]
	if !ok {
		return fmt.Errorf("safetensors: %s: tensor %q: %w", s.index, name, ErrNotFound)
	}
	return f.Evict(name)
}

// Metadata returns the index's "metadata" object with values formatted as text
// (total_size, typically).
func (s *Sharded) Metadata() map[string]string { return maps.Clone(s.metadata) }

// Shards returns the shard file names in lexical order.
func (s *Sharded) Shards() []string { return slices.Clone(s.shardList) }

// Shard returns the opened shard of the given file name.
func (s *Sharded) Shard(name string) (*File, bool) {
	f, ok := s.shards[name]
	return f, ok
}

// Close closes every shard.
func (s *Sharded) Close() error {
	var errs []error
	for _, f := range s.shards {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// OpenModel opens path as a set of tensors: a .safetensors file; or a directory holding
// model.safetensors.index.json (sharded), or model.safetensors, or exactly one
// .safetensors file.
func OpenModel(path string) (Source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if !st.IsDir() {
		if strings.HasSuffix(path, ".json") {
			return OpenSharded(path)
		}
		return Open(path)
	}
	if idx := filepath.Join(path, IndexFile); fileExists(idx) {
		return OpenSharded(idx)
	}
	if single := filepath.Join(path, "model.safetensors"); fileExists(single) {
		return Open(single)
	}
	found, _ := filepath.Glob(filepath.Join(path, "*.safetensors"))
	switch len(found) {
	case 1:
		return Open(found[0])
	case 0:
		return nil, fmt.Errorf("safetensors: %s: directory has no %s, model.safetensors or other .safetensors file", path, IndexFile)
	}
	return nil, fmt.Errorf("safetensors: %s: directory has %d .safetensors files and no %s to say how they combine", path, len(found), IndexFile)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
