// Package safetensors reads and writes the safetensors checkpoint format used by
// Hugging Face models.
//
// Open memory-maps a file (copy-on-write) and hands out tensors that alias the mapping
// when their data is aligned for the element type, copying otherwise (real files are
// not always aligned: the hub's GPT-2 file has an unpadded header). NewReader reads
// through an io.ReaderAt, FromBytes from memory, OpenSharded and OpenModel open
// sharded checkpoints (model.safetensors.index.json) as one set of tensors.
//
// Every header is validated before any tensor is handed out: header length, JSON
// shape, dtypes, shape × dtype size against the byte span, offsets that tile the data
// section with no overlap and no hole, unique valid UTF-8 names. Each failure wraps a
// sentinel error (ErrHeaderLength, ErrSizeMismatch, ErrOverlap, …) and names the file
// and the tensor.
//
// Write produces files byte-identical to the reference implementation's (v0.4).
package safetensors
