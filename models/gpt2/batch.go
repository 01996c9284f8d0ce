package gpt2

import (
	"context"
	"iter"

	"github.com/lumen-ml/lumen/models/decode"
)

// Batcher serves a Model's completions with continuous batching (decode.Batcher:
// every running sequence's next token in one forward pass per step); each request
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

// ContextLength returns the model's n_positions.
func (b *Batcher) ContextLength() int { return b.m.ContextLength() }

// GenerateText is Model.GenerateText through the batch.
func (b *Batcher) GenerateText(ctx context.Context, prompt []int, opt GenerateOptions, stop []string) iter.Seq2[Chunk, error] {
	if b.m.tok == nil {
		return b.m.GenerateText(ctx, prompt, opt, stop) // reports the missing tokenizer
	}
	return b.m.text(b.Generate(ctx, prompt, opt), stop)
}
