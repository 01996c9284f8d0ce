package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/internal/shared"
)

// With no flags, eval runs the shipped model on the shipped test set: the README's
// first command, which needs no data folder.
func TestLeNetEvalShipped(t *testing.T) {
	code, out, errOut := runCLI("lenet", "eval", "--quiet")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "model      shipped lenet-mnist (conv1 padding 0)")
	require.Contains(t, out, "data       shipped MNIST test set (t10k, 10000 images)")
	require.Contains(t, out, "accuracy   98.13% (9813/10000 correct)")
}

func TestLeNetEval(t *testing.T) {
	model, data := shared.Path(t, "models", "lenet-mnist"), shared.Path(t, "data", "mnist")
	for _, args := range [][]string{
		{"--batch", "256", "--threads", "2"},
		{"--batch", "1000", "--threads", "1", "--quiet"},
	} {
		code, out, errOut := runCLI(append([]string{"lenet", "eval", "--model", model, "--data", data}, args...)...)
		require.Equal(t, 0, code, errOut)
		require.Contains(t, out, "accuracy   98.13% (9813/10000 correct)")
		require.Contains(t, out, "images/s")
		require.Regexp(t, `latency    p50 \S+, p99 \S+ per batch`, out)
		if args[len(args)-1] == "--quiet" {
			require.Empty(t, errOut)
		} else {
			require.Contains(t, errOut, "lenet t10k", "progress bar on stderr")
		}
	}
}

func TestLeNetEvalErrors(t *testing.T) {
	model, data := shared.Path(t, "models", "lenet-mnist"), shared.Path(t, "data", "mnist")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", model, "--data", data, "--batch", "0"}, "--batch must be positive"},
		{[]string{"--model", model, "--data", data, "--threads", "-1"}, "--threads"},
		{[]string{"--model", model, "--data", data, "--split", "train"}, "train-images-idx3-ubyte"},
		{[]string{"--model", data, "--data", data}, "safetensors"},
		{[]string{"--split", "train"}, "the shipped MNIST data is the test split (t10k) only"},
		{[]string{"--model", model, "--split", "train"}, "pass --data DIR"},
	} {
		code, _, errOut := runCLI(append([]string{"lenet", "eval"}, c.args...)...)
		require.Equal(t, 1, code, c.args)
		require.True(t, strings.HasPrefix(errOut, "error: "), errOut)
		require.Contains(t, errOut, c.want)
	}
}
