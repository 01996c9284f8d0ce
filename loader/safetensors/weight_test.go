package safetensors

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/tensor"
)

func TestWeight(t *testing.T) {
	w, _ := tensor.New(tensor.F32, 6, 4)
	ids, _ := tensor.New(tensor.I64, 3)
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, map[string]*tensor.Tensor{"w": w, "ids": ids}, nil))
	f, err := FromBytes(buf.Bytes(), "m")
	require.NoError(t, err)
	x, err := Weight(f, "w", 6, 4)
	require.NoError(t, err)
	require.Equal(t, []int{6, 4}, x.Shape())
	_, err = Weight(f, "w", -1, 4)
	require.NoError(t, err)
	_, err = Weight(f, "w", -1, 5)
	require.ErrorIs(t, err, ErrWeight)
	require.ErrorContains(t, err, `"w" has shape [6 4], want [* 5]`)
	_, err = Weight(f, "w", 6)
	require.ErrorIs(t, err, ErrWeight)
	_, err = Weight(f, "ids", 3)
	require.ErrorIs(t, err, ErrWeight)
	require.ErrorContains(t, err, "floating")
	_, err = Weight(f, "nope", 2)
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorContains(t, err, `missing tensor "nope" (want shape [2])`)
}
