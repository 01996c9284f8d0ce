package tensor

import "fmt"

// DType is the element type of a tensor. F32 is the compute type; F16 and BF16 are
// weight-storage types; I32 and I64 hold token ids; the others exist so that every
// tensor a safetensors file can hold has a faithful in-memory form.
type DType uint8

// The element types. The zero value is Invalid so that an uninitialised DType is
// never mistaken for a real one.
const (
	Invalid DType = iota
	Bool
	U8
	I8
	F8E5M2
	F8E4M3
	I16
	U16
	F16
	BF16
	I32
	U32
	F32
	F64
	I64
	U64
)

var dtypeInfo = [...]struct {
	name string
	size int
}{
	Invalid: {"invalid", 0},
	Bool:    {"BOOL", 1},
	U8:      {"U8", 1},
	I8:      {"I8", 1},
	F8E5M2:  {"F8_E5M2", 1},
	F8E4M3:  {"F8_E4M3", 1},
	I16:     {"I16", 2},
	U16:     {"U16", 2},
	F16:     {"F16", 2},
	BF16:    {"BF16", 2},
	I32:     {"I32", 4},
	U32:     {"U32", 4},
	F32:     {"F32", 4},
	F64:     {"F64", 8},
	I64:     {"I64", 8},
	U64:     {"U64", 8},
}

// Size is the number of bytes one element occupies (0 for Invalid).
func (d DType) Size() int {
	if int(d) >= len(dtypeInfo) {
		return 0
	}
	return dtypeInfo[d].size
}

// String returns the safetensors spelling of the type ("F32", "BF16", "F8_E4M3", …).
func (d DType) String() string {
	if int(d) >= len(dtypeInfo) {
		return fmt.Sprintf("DType(%d)", uint8(d))
	}
	return dtypeInfo[d].name
}

// Valid reports whether d is one of the defined element types.
func (d DType) Valid() bool { return d != Invalid && int(d) < len(dtypeInfo) }

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool {
	switch d {
	case F8E5M2, F8E4M3, F16, BF16, F32, F64:
		return true
	}
	return false
}

// ParseDType maps a safetensors dtype string ("F32", "BF16", …) to a DType.
func ParseDType(s string) (DType, error) {
	for d := Bool; int(d) < len(dtypeInfo); d++ {
		if dtypeInfo[d].name == s {
			return d, nil
		}
	}
	return Invalid, fmt.Errorf("unknown dtype %q", s)
}

// DTypes lists every valid element type, in the order of the enumeration.
func DTypes() []DType {
	out := make([]DType, 0, len(dtypeInfo)-1)
	for d := Bool; int(d) < len(dtypeInfo); d++ {
		out = append(out, d)
	}
	return out
}
