package nn

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/ops"
)

func TestComputeOption(t *testing.T) {
	for in, want := range map[string]Compute{"": F32, "f32": F32, "bf16": BF16} {
		got, err := ParseCompute(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
		require.Equal(t, map[Compute]string{F32: "f32", BF16: "bf16"}[want], got.String())
	}
	_, err := ParseCompute("fp8")
	require.ErrorContains(t, err, "want f32 or bf16")

	require.NoError(t, Apply(nil).Refuse("m"))
	// A model without the feature refuses it, naming it.
	err = Apply([]Option{WithCompute(BF16)}).Refuse("m")
	require.ErrorIs(t, err, ErrOption)
	require.ErrorContains(t, err, "WithCompute")
	// BF16 excludes the other weight storages, and an unknown value is refused.
	for _, o := range []Option{WithQuantization(Int8), WithHalfWeights(true)} {
		err = Apply([]Option{WithCompute(BF16), o}).Refuse("m", FeatureCompute, FeatureQuantization, FeatureHalfWeights)
		require.ErrorIs(t, err, ErrOption)
	}
	require.ErrorIs(t, Apply([]Option{WithCompute(Compute(7))}).Refuse("m", FeatureCompute), ErrOption)
	// Alone, it is taken where the host has BF16 units and refused with ErrNoBF16 elsewhere.
	err = Apply([]Option{WithCompute(BF16)}).Refuse("m", FeatureCompute)
	if ok, _ := ops.BF16Available(); ok {
		require.NoError(t, err)
	} else {
		require.ErrorIs(t, err, ops.ErrNoBF16)
	}
}
