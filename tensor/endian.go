//go:build armbe || arm64be || m68k || mips || mips64 || mips64p32 || ppc || ppc64 || s390 || s390x || shbe || sparc || sparc64

package tensor

// Lumen reads and writes tensors in place as little-endian data (the safetensors byte
// order). A big-endian target would silently corrupt every weight, so it fails to build.
var _ = lumenSupportsOnlyLittleEndianTargets
