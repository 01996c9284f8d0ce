package server

import (
	"context"
	"iter"

	"github.com/lumen-ml/lumen/models/bert"
	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/tokenizer"
)

// The server knows its models through these interfaces, one per kind of endpoint.
// *gpt2.Model is a Completer, *llama.Model a ChatCompleter; *bert.Model is an Embedder, a Classifier and an
// Answerer. Each request is tokenized once, by the server, which checks its length
// against the model's context and reports its token counts; the model then runs the
// token ids. A model's errors that wrap nn.ErrInput are the caller's mistakes (400).

// Completer continues text: a causal language model.
type Completer interface {
	// Encode returns a prompt's token ids.
	Encode(text string) ([]int, error)
	// ContextLength is the most positions a prompt and its completion may take.
	ContextLength() int
	// GenerateText streams the completion of prompt, stopping before any of stop.
	GenerateText(ctx context.Context, prompt []int, opt decode.Options, stop []string) iter.Seq2[decode.Chunk, error]
}

// BatchingCompleter is a Completer that runs concurrent requests together, in shared
// decode steps (gpt2.Batcher, llama.Batcher: continuous batching), and queues them itself: the server
// holds none of its workers for such a model's requests, and exports its load and
// steps as metrics.
type BatchingCompleter interface {
	Completer
	Stats() decode.BatchStats
	Observe(decode.BatchObserver)
}

// ChatCompleter is a Completer with a chat template (*llama.Model): EncodeChat
// renders messages, with the cue for the assistant's answer, and tokenizes them.
type ChatCompleter interface {
	Completer
	EncodeChat(messages []tokenizer.Message) ([]int, error)
}

// Encoder tokenizes texts for an encoder model; too long a text is an error unless
// truncate is set.
type Encoder interface {
	Encode(texts []string, truncate bool) ([]bert.Encoding, error)
}

// Embedder turns encoded texts into sentence embeddings.
type Embedder interface {
	Encoder
	Embed(ctx context.Context, encs []bert.Encoding) ([][]float32, error)
}

// Classifier labels encoded texts; Labels is empty when the model has no
// classification head.
type Classifier interface {
	Encoder
	Labels() []string
	Classify(ctx context.Context, encs []bert.Encoding) ([][]bert.LabelScore, error)
}

// Answerer extracts the answer to a question from a context.
type Answerer interface {
	EncodePair(question, context string, truncate bool) (bert.Encoding, error)
	Answer(ctx context.Context, enc bert.Encoding, context string, maxAnswerTokens int) (bert.Answer, error)
}

// Reranker scores documents against a query: a cross-encoder (*bert.Model whose
// classifier has one label; the server serves /v1/rerank only for those).
type Reranker interface {
	Labels() []string
	Rerank(ctx context.Context, query string, documents []string, maxLength int) ([]float32, error)
}

// Tokenizing is a model whose tokenizer /tokenize and /detokenize expose (every
// model of the other kinds that has one: *gpt2.Model, *llama.Model, *bert.Model).
type Tokenizing interface {
	// TextTokenizer returns the model's tokenizer, nil when it was loaded without
	// one.
	TextTokenizer() *tokenizer.Tokenizer
}
