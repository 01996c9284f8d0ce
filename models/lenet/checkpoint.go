package lenet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/tensor"
)

// A model directory, as Save writes it and Load and PyTorch read it:
//
//	model.safetensors  the weights, F32, named as in PyTorch's state dict
//	config.json        the layout, the input normalisation and how it was trained

// WeightsFile and ConfigFile are the names of a model directory's two files.
const (
	WeightsFile = "model.safetensors"
	ConfigFile  = "config.json"
)

// Config is a model directory's config.json.
type Config struct {
	ModelType string  `json:"model_type"` // "lenet"
	Padding   int     `json:"padding"`    // conv1's zero padding
	Kernel    int     `json:"kernel"`     // both convolutions' kernel side (5)
	Conv1     int     `json:"conv1"`      // channels
	Conv2     int     `json:"conv2"`
	FC1       int     `json:"fc1"` // units
	FC2       int     `json:"fc2"`
	Classes   int     `json:"classes"`
	Mean      float64 `json:"mean"` // input = (pixel/255 − mean)/std
	Std       float64 `json:"std"`
	// Training records how the weights were made (data, epochs, optimiser, accuracy);
	// free-form, for people.
	Training map[string]any `json:"training,omitempty"`
}

func (c *Config) layout() Layout {
	return Layout{Padding: c.Padding, Conv1: c.Conv1, Conv2: c.Conv2, FC1: c.FC1, FC2: c.FC2, Classes: c.Classes}
}

// maxConfigBytes bounds config.json: a few hundred bytes, a little more with notes.
const maxConfigBytes = 1 << 20

// readConfig reads dir/config.json when path is a directory holding one; nil, nil
// when there is none.
func readConfig(path string) (*Config, error) {
	st, err := os.Stat(path)
	if err != nil || !st.IsDir() {
		return nil, nil
	}
	file := filepath.Join(path, ConfigFile)
	raw, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lenet: %w", err)
	}
	return parseConfig(raw, file)
}

// parseConfig checks a config.json's bytes; file names it in errors.
func parseConfig(raw []byte, file string) (*Config, error) {
	if len(raw) > maxConfigBytes {
		return nil, fmt.Errorf("lenet: %s: %d bytes, more than a LeNet config's %d", file, len(raw), maxConfigBytes)
	}
	var cfg Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("lenet: %s: %w", file, err)
	}
	if cfg.ModelType != "lenet" {
		return nil, fmt.Errorf("lenet: %s: model_type %q, want \"lenet\"", file, cfg.ModelType)
	}
	if cfg.Kernel != Kernel {
		return nil, fmt.Errorf("lenet: %s: kernel %d, want %d", file, cfg.Kernel, Kernel)
	}
	if err := (Normalization{Mean: cfg.Mean, Std: cfg.Std}).Check(); err != nil {
		return nil, fmt.Errorf("lenet: %s: %w", file, err)
	}
	return &cfg, nil
}

// Save writes w as a model directory: dir/model.safetensors and dir/config.json
// recording the layout, the normalisation norm and training (free-form notes, may be
// nil). dir is created if needed; existing files are replaced.
func (w *Weights) Save(dir string, norm Normalization, training map[string]any) error {
	if err := norm.Check(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("lenet: save: %w", err)
	}
	ts, err := w.tensorMap()
	if err != nil {
		return err
	}
	if err := safetensors.WriteFile(filepath.Join(dir, WeightsFile), ts, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("lenet: save: %w", err)
	}
	l := w.Layout
	cfg := Config{ModelType: "lenet", Padding: l.Padding, Kernel: Kernel, Conv1: l.Conv1, Conv2: l.Conv2, FC1: l.FC1, FC2: l.FC2,
		Classes: l.Classes, Mean: norm.Mean, Std: norm.Std, Training: training}
	raw, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("lenet: save: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("lenet: save: %w", err)
	}
	return nil
}

func (w *Weights) tensorMap() (map[string]*tensor.Tensor, error) {
	ts := map[string]*tensor.Tensor{}
	for _, p := range w.tensors() {
		if len(*p.data) != p.len() {
			return nil, fmt.Errorf("%w: %s has %d values, want %d for shape %v", ErrInput, p.name, len(*p.data), p.len(), p.shape)
		}
		t, err := tensor.FromFloat32(*p.data, p.shape...)
		if err != nil {
			return nil, fmt.Errorf("lenet: %s: %w", p.name, err)
		}
		ts[p.name] = t
	}
	return ts, nil
}

// Model returns an inference model with a copy of the current weights and the given
// normalisation.
func (w *Weights) Model(norm Normalization, opts ...Option) (*Model, error) {
	if err := norm.Check(); err != nil {
		return nil, err
	}
	ts, err := w.tensorMap()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, ts, nil); err != nil {
		return nil, fmt.Errorf("lenet: %w", err)
	}
	src, err := safetensors.FromBytes(buf.Bytes(), "trained weights")
	if err != nil {
		return nil, fmt.Errorf("lenet: %w", err)
	}
	m, err := New(src, "trained weights", opts...)
	if err != nil {
		return nil, err
	}
	m.norm = norm
	return m, nil
}

// LoadWeights reads trainable weights (and the normalisation: config.json's, else
// MNIST's) from a model directory or .safetensors file, to resume training or to
// start several trainers from the same point.
func LoadWeights(path string) (*Weights, Normalization, error) {
	m, err := Load(path)
	if err != nil {
		return nil, Normalization{}, err
	}
	if m.Layout() == (Layout{}) {
		return nil, Normalization{}, fmt.Errorf("lenet: %s: only %d×%d kernels are trained", path, Kernel, Kernel)
	}
	src, err := safetensors.OpenModel(path)
	if err != nil {
		return nil, Normalization{}, fmt.Errorf("lenet: %w", err)
	}
	defer src.Close()
	w, err := NewWeights(m.Layout())
	if err != nil {
		return nil, Normalization{}, err
	}
	for _, p := range w.tensors() {
		t, err := src.Tensor(p.name)
		if err != nil {
			return nil, Normalization{}, fmt.Errorf("lenet: %s: %w", path, err)
		}
		v, err := t.Float32s()
		if err != nil || len(v) != p.len() {
			return nil, Normalization{}, fmt.Errorf("lenet: %s: %s: want %d F32 values for %v (%v)", path, p.name, p.len(), p.shape, err)
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, Normalization{}, fmt.Errorf("lenet: %s: %s holds %v: not a trainable starting point", path, p.name, x)
			}
		}
		copy(*p.data, v)
	}
	return w, m.Normalization(), nil
}
