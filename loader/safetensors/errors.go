package safetensors

import "errors"

// Each class of malformed input has its own sentinel; errors returned by this package
// wrap one of them (test with errors.Is) and name the file, the tensor and what was
// expected.
var (
	// ErrHeaderLength: the 8-byte header length is missing, runs past the end of the
	// file, or exceeds MaxHeaderSize.
	ErrHeaderLength = errors.New("bad header length")
	// ErrHeaderNotObject: the header is not a JSON object (or not UTF-8, or has
	// trailing data after the object).
	ErrHeaderNotObject = errors.New("header is not a JSON object")
	// ErrBadEntry: a tensor entry or __metadata__ has missing or mistyped fields.
	ErrBadEntry = errors.New("malformed header entry")
	// ErrUnknownDType: a dtype this package does not know.
	ErrUnknownDType = errors.New("unknown dtype")
	// ErrSizeMismatch: shape × dtype size differs from the byte span of data_offsets.
	ErrSizeMismatch = errors.New("shape and dtype do not match the byte span")
	// ErrOffsetsOutOfRange: data_offsets reversed or past the end of the data section.
	ErrOffsetsOutOfRange = errors.New("data_offsets outside the data section")
	// ErrOverlap: two tensors share bytes.
	ErrOverlap = errors.New("tensors overlap")
	// ErrHole: bytes of the data section belong to no tensor.
	ErrHole = errors.New("data section has a hole")
	// ErrDuplicateName: a tensor name appears twice.
	ErrDuplicateName = errors.New("duplicate tensor name")
	// ErrInvalidName: an empty or non-UTF-8 tensor name, or one the format reserves.
	ErrInvalidName = errors.New("invalid tensor name")
	// ErrShard: a sharded index that is malformed, names a missing shard, or names a
	// tensor its shard lacks.
	ErrShard = errors.New("bad sharded checkpoint")
	// ErrNotFound: no tensor of that name.
	ErrNotFound = errors.New("no such tensor")
	// ErrClosed: the file was closed.
	ErrClosed = errors.New("file is closed")
)
