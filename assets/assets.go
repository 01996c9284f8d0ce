// Package assets holds the small real files Lumen ships with its module: the trained
// LeNet-5 MNIST weights, the MNIST test set, the GPT-2 BPE tokenizer files and the
// bert-base-uncased WordPiece vocabulary. They are embedded in any program that
// imports the package, so examples, tests and the lumen command run with no data
// folder around. README.md beside this file gives each one's licence and source;
// SHA256SUMS their checksums.
//
// Every function returns a read-only view of embedded bytes: callers must not
// modify the slices they get.
package assets

import (
	"embed"
	"io/fs"
)

//go:embed SHA256SUMS README.md lenet-mnist mnist gpt2 bert-base-uncased
var files embed.FS

// FS returns every shipped file, under lenet-mnist/, mnist/, gpt2/ and
// bert-base-uncased/, with SHA256SUMS and README.md at the top.
func FS() fs.FS { return files }

// LeNetMNIST returns the trained LeNet-5 variant's weights, a safetensors file
// (lenet-mnist/lenet.safetensors): 98.13 % on the MNIST test set.
func LeNetMNIST() []byte { return mustRead("lenet-mnist/lenet.safetensors") }

// LeNetMNISTReference returns PyTorch 1.13's outputs for LeNetMNIST on MNISTTest
// (lenet-mnist/reference.json): the correct count, the logits of the first 16
// images and every image's predicted class as a string of digits.
func LeNetMNISTReference() []byte { return mustRead("lenet-mnist/reference.json") }

// MNISTTest returns a directory holding the MNIST test split as idx files,
// t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (10,000 images).
func MNISTTest() fs.FS { return sub("mnist") }

// GPT2Tokenizer returns a directory holding GPT-2's vocab.json and merges.txt, the
// layout of a Hugging Face model directory.
func GPT2Tokenizer() fs.FS { return sub("gpt2") }

// BERTUncasedVocab returns a directory holding the bert-base-uncased vocab.txt and a
// tokenizer_config.json asking for lower-casing, the layout of a Hugging Face model
// directory.
func BERTUncasedVocab() fs.FS { return sub("bert-base-uncased") }

func mustRead(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic("assets: " + name + " is not embedded: " + err.Error()) // the embed pattern lists it: a build error
	}
	return b
}

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic("assets: " + err.Error())
	}
	return f
}
