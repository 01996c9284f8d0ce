package cuda

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{
		"": {Kind: "cpu"}, "cpu": {Kind: "cpu"}, " CUDA ": {Kind: "cuda"}, "gpu": {Kind: "cuda"},
		"cuda:3": {Kind: "cuda", Device: 3}, "auto": {Kind: "auto"},
	} {
		got, err := ParseMode(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"tpu", "cuda:", "cuda:-1", "cuda:x"} {
		_, err := ParseMode(bad)
		require.ErrorContains(t, err, "want cpu, cuda, cuda:N or auto", bad)
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv("LUMEN_DEVICE", "cpu")
	d, err := FromEnv()
	require.NoError(t, err)
	require.Nil(t, d, "cpu: no device")

	t.Setenv("LUMEN_DEVICE", "nonsense")
	_, err = FromEnv()
	require.Error(t, err)

	// Without a usable GPU an explicit request is a clear error and auto is the CPU;
	// with one (the GPU machine) both open it.
	t.Setenv("LUMEN_DEVICE", "cuda")
	d, err = FromEnv()
	if err != nil {
		require.ErrorIs(t, err, ErrUnavailable)
		if !Built {
			require.ErrorContains(t, err, "-tags cublas")
		} else {
			require.Regexp(t, `libcudart|libcublas|CUDA device`, err.Error())
		}
		t.Setenv("LUMEN_DEVICE", "auto")
		d, err = FromEnv()
		require.NoError(t, err)
		require.Nil(t, d, "auto falls back to the CPU silently")
		return
	}
	require.True(t, Built)
	require.Contains(t, d.Name(), "cuda:0")
	require.NoError(t, d.Close())

	t.Setenv("LUMEN_DEVICE", "cuda:999")
	_, err = FromEnv()
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorContains(t, err, "device 999 requested")
}

func TestOpenChecksConfig(t *testing.T) {
	_, err := Open(Config{Device: -1})
	require.Error(t, err)
	_, err = Open(Config{Workers: 65})
	require.Error(t, err)
}
