// Package tensor is Lumen's tensor core: a strided n-dimensional view type over byte
// buffers, the element types found in model checkpoints (F32 for compute; F16, BF16
// and FP8 as weight storage; integer types for token ids), and exact conversions
// between the floating formats.
//
// Views (Reshape, Narrow/Slice, Select, Transpose, Permute) never copy; Contiguous and
// Clone do. Typed slice accessors (Float32s, Int64s, …) alias the buffer of a
// contiguous tensor. Data is little-endian, as in safetensors files; big-endian
// targets are refused at build time.
//
// Conversion between Lumen and gorgonia.org/tensor lives in the subpackage
// tensor/gorgonia, so that programs which do not need it do not link gorgonia.
package tensor
