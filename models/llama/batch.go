package llama

import (
	"context"
	"iter"

	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/tokenizer"
)

// Batcher serves a Model's completions and chats with continuous batching
// (decode.Batcher: every running sequence's next token in one forward pass per
// step, so each weight block is read once per step for all of them); each request
// gets the tokens Model.Generate gives it. It is safe for concurrent use; Close
// stops it.
type Batcher struct {
	*decode.Batcher
	m *Model
}

// NewBatcher starts a scheduler over m on m's pool.
func NewBatcher(m *Model, opt decode.BatchOptions) *Batcher {
	return &Batcher{decode.NewBatcher(network{m}, opt), m}
}

// Encode tokenizes as the Model does.
func (b *Batcher) Encode(text string) ([]int, error) { return b.m.Encode(text) }

// EncodeChat renders and tokenizes messages as the Model does.
func (b *Batcher) EncodeChat(messages []tokenizer.Message) ([]int, error) {
	return b.m.EncodeChat(messages)
}

// ContextLength is the model's.
func (b *Batcher) ContextLength() int { return b.m.ContextLength() }

// TextTokenizer is the model's tokenizer.
func (b *Batcher) TextTokenizer() *tokenizer.Tokenizer { return b.m.tok }

// GenerateText is Model.GenerateText through the batch.
func (b *Batcher) GenerateText(ctx context.Context, prompt []int, opt GenerateOptions, stop []string) iter.Seq2[Chunk, error] {
	return b.m.text(b.Generate(ctx, prompt, opt), stop)
}
