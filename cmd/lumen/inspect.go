package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/lumen-ml/lumen/loader/safetensors"
	"github.com/lumen-ml/lumen/tensor"
)

func newInspectCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect PATH",
		Short: "List a checkpoint's tensors (name, dtype, shape, bytes), totals, metadata and config.json",
		Long: `inspect reads a .safetensors file, a sharded index (model.safetensors.index.json),
or a model directory, validates it, and lists every tensor with its dtype, shape and
size, then the totals, the file metadata and a summary of config.json when present.

A GGUF file (llama.cpp's format) is listed as its metadata (arrays cut to their first
elements, long strings cut) and its tensors with their ggml types and shapes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var rep interface{ print(io.Writer) error }
			var err error
			if isGGUF(args[0]) {
				rep, err = inspectGGUF(args[0])
			} else {
				rep, err = inspect(args[0])
			}
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return rep.print(cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

type tensorRow struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
	Bytes int64  `json:"bytes"`
}

type report struct {
	Path       string            `json:"path"`
	Files      []string          `json:"files"`
	Tensors    []tensorRow       `json:"tensors"`
	Params     int64             `json:"parameters"`
	Bytes      int64             `json:"bytes"`
	ByDType    map[string]int64  `json:"bytes_by_dtype"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	ConfigPath string            `json:"config_path,omitempty"`
	Config     [][2]string       `json:"config,omitempty"`
}

func inspect(path string) (*report, error) {
	src, err := safetensors.OpenModel(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	rep := &report{Path: path, ByDType: map[string]int64{}, Metadata: src.Metadata()}
	switch s := src.(type) {
	case *safetensors.File:
		rep.Files = []string{s.Name()}
	case *safetensors.Sharded:
		rep.Files = s.Shards()
	}
	for _, name := range src.Names() {
		in, _ := src.Info(name)
		n := int64(1)
		for _, d := range in.Shape {
			n *= int64(d)
		}
		rep.Tensors = append(rep.Tensors, tensorRow{Name: name, DType: in.DType.String(), Shape: in.Shape, Bytes: in.Bytes()})
		rep.Params += n
		rep.Bytes += in.Bytes()
		rep.ByDType[in.DType.String()] += in.Bytes()
	}
	dir := path
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		dir = filepath.Dir(path)
	}
	cfgPath := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(cfgPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		rep.ConfigPath = cfgPath
		if rep.Config, err = summariseConfig(raw); err != nil {
			return nil, fmt.Errorf("%s: %w", cfgPath, err)
		}
	}
	return rep, nil
}

// configKeys are the fields worth showing, in display order; the first of each group
// that is present wins (GPT-2 and BERT spell the same things differently).
var configKeys = [][]string{
	{"model_type"}, {"architectures"}, {"torch_dtype"}, {"vocab_size"},
	{"hidden_size", "n_embd", "d_model"}, {"num_hidden_layers", "n_layer"},
	{"num_attention_heads", "n_head"}, {"intermediate_size", "n_inner"},
	{"max_position_embeddings", "n_positions", "n_ctx"}, {"type_vocab_size"},
	{"hidden_act", "activation_function"}, {"layer_norm_eps", "layer_norm_epsilon"},
	{"id2label"},
}

func summariseConfig(raw []byte) ([][2]string, error) {
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("config is not a JSON object: %w", err)
	}
	var out [][2]string
	for _, group := range configKeys {
		for _, k := range group {
			if v, ok := cfg[k]; ok {
				b, _ := json.Marshal(v)
				out = append(out, [2]string{k, string(b)})
				break
			}
		}
	}
	return out, nil
}

func (r *report) print(w io.Writer) error {
	fmt.Fprintf(w, "%s: %d tensors in %d file(s)\n", r.Path, len(r.Tensors), len(r.Files))
	if len(r.Files) > 1 {
		for _, f := range r.Files {
			fmt.Fprintf(w, "  shard %s\n", f)
		}
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDTYPE\tSHAPE\tBYTES")
	for _, t := range r.Tensors {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", t.Name, t.DType, shapeString(t.Shape), t.Bytes)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var parts []string
	for _, dt := range tensor.DTypes() {
		if b, ok := r.ByDType[dt.String()]; ok {
			parts = append(parts, fmt.Sprintf("%s %s", dt, humanBytes(b)))
		}
	}
	fmt.Fprintf(w, "total: %d tensors, %d parameters, %d bytes (%s)", len(r.Tensors), r.Params, r.Bytes, humanBytes(r.Bytes))
	if len(parts) > 0 {
		fmt.Fprintf(w, "; %s", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	if len(r.Metadata) > 0 {
		fmt.Fprintln(w, "metadata:")
		for _, k := range slices.Sorted(maps.Keys(r.Metadata)) {
			fmt.Fprintf(w, "  %s = %s\n", k, r.Metadata[k])
		}
	}
	if r.ConfigPath != "" {
		fmt.Fprintf(w, "config (%s):\n", r.ConfigPath)
		for _, kv := range r.Config {
			fmt.Fprintf(w, "  %s = %s\n", kv[0], kv[1])
		}
	}
	return nil
}

func shapeString(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
