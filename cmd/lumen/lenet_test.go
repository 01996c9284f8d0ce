package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/loader/idx"
	"github.com/lumen-ml/lumen/models/lenet"
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

// writeIdx writes an idx file: magic (unsigned bytes, rank), big-endian dims, data.
func writeIdx(t *testing.T, path string, dims []int, data []byte) {
	t.Helper()
	b := []byte{0, 0, 0x08, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	require.NoError(t, os.WriteFile(path, append(b, data...), 0o644))
}

// smallMNIST writes a data folder whose train split is the first nTrain images of the
// shipped MNIST test set and whose t10k split the next nTest.
func smallMNIST(t *testing.T, nTrain, nTest int) string {
	ds, err := idx.LoadSplitFS(assets.MNISTTest(), "t10k")
	require.NoError(t, err)
	dir := t.TempDir()
	writeIdx(t, filepath.Join(dir, "train-images-idx3-ubyte"), []int{nTrain, 28, 28}, ds.Images[:nTrain*784])
	writeIdx(t, filepath.Join(dir, "train-labels-idx1-ubyte"), []int{nTrain}, ds.Labels[:nTrain])
	if nTest > 0 {
		writeIdx(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), []int{nTest, 28, 28}, ds.Images[nTrain*784:(nTrain+nTest)*784])
		writeIdx(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), []int{nTest}, ds.Labels[nTrain:nTrain+nTest])
	}
	return dir
}

// lenet train learns, writes a model directory, and lenet eval reads it back with the
// accuracy training printed.
func TestLeNetTrain(t *testing.T) {
	data := smallMNIST(t, 5000, 1000)
	out := filepath.Join(t.TempDir(), "model")
	code, stdout, errOut := runCLI("lenet", "train", "--data", data, "--out", out, "--epochs", "2", "--threads", "1", "--seed", "3")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, stdout, "training   SGD momentum 0.9, lr 0.01, batch 64, 2 epochs, seed 3, 1 threads")
	require.Contains(t, errOut, "epoch 1/2", "progress bar on stderr")
	m := regexp.MustCompile(`epoch 2/2  loss (\S+)  test accuracy (\S+)%`).FindStringSubmatch(stdout)
	require.NotNil(t, m, stdout)
	acc, err := strconv.ParseFloat(m[2], 64)
	require.NoError(t, err)
	require.Greater(t, acc, 88.0, "5,000 images, two epochs")

	raw, err := os.ReadFile(filepath.Join(out, "config.json"))
	require.NoError(t, err)
	var cfg lenet.Config
	require.NoError(t, json.Unmarshal(raw, &cfg))
	require.Equal(t, "lenet", cfg.ModelType)
	require.Equal(t, 2.0, cfg.Training["epochs"])
	require.InDelta(t, acc/100, cfg.Training["test_accuracy"], 1e-9)

	code, evalOut, errOut := runCLI("lenet", "eval", "--model", out, "--data", data, "--quiet")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, evalOut, fmt.Sprintf("accuracy   %s%%", m[2]))

	// Resuming from the written model with Adam, without a test split.
	noTest := smallMNIST(t, 500, 0)
	code, stdout, errOut = runCLI("lenet", "train", "--data", noTest, "--out", filepath.Join(t.TempDir(), "m2"), "--init", out,
		"--optimizer", "adam", "--epochs", "1", "--batch", "100", "--quiet")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "no t10k split")
	require.Contains(t, stdout, "Adam")
	require.Contains(t, stdout, "epoch 1/1  loss")
}

func TestLeNetTrainErrors(t *testing.T) {
	data := smallMNIST(t, 100, 0)
	bad := smallMNIST(t, 100, 0)
	ds, err := idx.LoadSplitFS(assets.MNISTTest(), "t10k")
	require.NoError(t, err)
	labels := append([]byte(nil), ds.Labels[:100]...)
	labels[7] = 12
	writeIdx(t, filepath.Join(bad, "train-labels-idx1-ubyte"), []int{100}, labels)
	out := filepath.Join(t.TempDir(), "m")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", out}, "--data is required"},
		{[]string{"--data", data}, "--out is required"},
		{[]string{"--data", data, "--out", out, "--optimizer", "rmsprop"}, `--optimizer "rmsprop"`},
		{[]string{"--data", data, "--out", out, "--epochs", "0"}, "--epochs"},
		{[]string{"--data", data, "--out", out, "--batch", "0"}, "--batch"},
		{[]string{"--data", data, "--out", out, "--lr", "-1"}, "--lr"},
		{[]string{"--data", data, "--out", out, "--padding", "1"}, "--padding 1"},
		{[]string{"--data", t.TempDir(), "--out", out}, "train-images-idx3-ubyte"},
		{[]string{"--data", bad, "--out", out}, "label 12"},
		{[]string{"--data", data, "--out", out, "--init", t.TempDir()}, "safetensors"},
	} {
		code, _, errOut := runCLI(append([]string{"lenet", "train", "--quiet"}, c.args...)...)
		require.Equal(t, 1, code, c.args)
		require.Contains(t, errOut, "error: ")
		require.Contains(t, errOut, c.want)
	}
	_, err = os.Stat(out)
	require.ErrorIs(t, err, os.ErrNotExist, "no failed run writes a model")
}

// The progress bar's rate counts from its start, not from its first update.
func TestCountBarRate(t *testing.T) {
	var out strings.Builder
	bar := newCountBar(&out, 10000, "lenet test", "img")
	time.Sleep(150 * time.Millisecond)
	require.NoError(t, bar.Add(1000))
	m := regexp.MustCompile(`([0-9]+) img/s`).FindAllStringSubmatch(out.String(), -1)
	require.NotEmpty(t, m, out.String())
	rate, err := strconv.Atoi(m[len(m)-1][1])
	require.NoError(t, err)
	require.LessOrEqual(t, rate, 1000*1000/150, "at most 1000 images in 150 ms: %q", out.String())
}
