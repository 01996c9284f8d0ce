//go:build !(cublas && linux && (amd64 || arm64))

package cuda

import (
	"fmt"

	"github.com/lumen-ml/lumen/ops"
)

// Built is true when this build can reach cuBLAS (-tags cublas on linux/amd64 or arm64).
const Built = false

func open(Config) (ops.Device, error) {
	return nil, fmt.Errorf("%w: this lumen was built without CUDA support (rebuild with -tags cublas on linux/amd64 or linux/arm64)", ErrUnavailable)
}
