package decode

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTopKSelection(t *testing.T) {
	logits := []float32{0.5, 3, 1, 3, -2, 2, 2, 0}
	got := topK(logits, 3, nil)
	slices.Sort(got)
	require.Equal(t, []int{1, 3, 5, 6}, got, "the 3 best plus the tie with the 3rd")
	got = topK(logits, 1, nil)
	slices.Sort(got)
	require.Equal(t, []int{1, 3}, got)
}

func TestSampler(t *testing.T) {
	logits := []float32{0.1, 2, -1, 1.9, 0}
	require.Equal(t, 1, NewSampler(Options{}, 0).Pick(logits), "greedy")
	// Top-k 2 never leaves the two best; top-p 0.01 is greedy; a tiny temperature
	// is greedy too, without overflowing.
	counts := map[int]int{}
	s := NewSampler(Options{Temperature: 1, TopK: 2, Seed: 7}, 0)
	for range 2000 {
		counts[s.Pick(logits)]++
	}
	require.Len(t, counts, 2)
	require.InDelta(t, 0.525, float64(counts[1])/2000, 0.05, "exp(2)/(exp(2)+exp(1.9))")
	require.Equal(t, 1, NewSampler(Options{Temperature: 1, TopP: 0.01}, 0).Pick(logits))
	require.Equal(t, 1, NewSampler(Options{Temperature: 1e-30}, 0).Pick(logits))
	// The same seed and stream give the same draws; another stream does not.
	a, b, c := NewSampler(Options{Temperature: 1, Seed: 3}, 0), NewSampler(Options{Temperature: 1, Seed: 3}, 0), NewSampler(Options{Temperature: 1, Seed: 3}, 1)
	var da, db, dc []int
	for range 50 {
		da, db, dc = append(da, a.Pick(logits)), append(db, b.Pick(logits)), append(dc, c.Pick(logits))
	}
	require.Equal(t, da, db)
	require.NotEqual(t, da, dc)
}

func TestValidate(t *testing.T) {
	require.NoError(t, Options{MaxNewTokens: 4}.Validate(10, 6))
	for _, o := range []Options{{}, {MaxNewTokens: 5}, {MaxNewTokens: 1, Temperature: -1}, {MaxNewTokens: 1, TopP: 2}, {MaxNewTokens: 1, TopK: -1}} {
		require.Error(t, o.Validate(10, 6), "%+v", o)
	}
}

// counter is a model whose next token is always the last one plus one.
type counter struct {
	vocab int
	fed   []int
	fail  int // Step fails once this many tokens were fed (0: never)
}

func (c *counter) Step(_ context.Context, ids []int) ([]float32, error) {
	c.fed = append(c.fed, ids...)
	if c.fail > 0 && len(c.fed) >= c.fail {
		return nil, errors.New("step failed")
	}
	logits := make([]float32, c.vocab)
	logits[(ids[len(ids)-1]+1)%c.vocab] = 1
	return logits, nil
}

func TestStream(t *testing.T) {
	collect := func(s Stepper, prompt []int, opt Options, eos int) ([]int, error) {
		var out []int
		for tok, err := range Stream(context.Background(), s, prompt, opt, eos) {
			if err != nil {
				return out, err
			}
			out = append(out, tok)
		}
		return out, nil
	}
	c := &counter{vocab: 10}
	got, err := collect(c, []int{1, 2}, Options{MaxNewTokens: 4}, -1)
	require.NoError(t, err)
	require.Equal(t, []int{3, 4, 5, 6}, got)
	require.Equal(t, []int{1, 2, 3, 4, 5}, c.fed, "the last token is not fed")
	got, err = collect(&counter{vocab: 10}, []int{1}, Options{MaxNewTokens: 8, StopAtEOS: true}, 4)
	require.NoError(t, err)
	require.Equal(t, []int{2, 3, 4}, got, "ends at EOS, which it yields")
	got, err = collect(&counter{vocab: 10, fail: 3}, []int{1}, Options{MaxNewTokens: 8}, -1)
	require.EqualError(t, err, "step failed")
	require.Equal(t, []int{2, 3}, got)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, err := range Stream(ctx, &counter{vocab: 10}, []int{1}, Options{MaxNewTokens: 3}, -1) {
		require.ErrorIs(t, err, context.Canceled)
	}
}

// pieces decodes id i as words[i].
type pieces []string

func (p pieces) Next(id int) (string, error) {
	if id < 0 || id >= len(p) {
		return "", errors.New("bad id")
	}
	return p[id], nil
}
func (pieces) Flush() string { return "" }

func TestText(t *testing.T) {
	words := pieces{"Hello", ",", " wor", "ld", "!", " STOP", " more", "ST", "OP"}
	seq := func(ids ...int) func(func(int, error) bool) {
		return func(yield func(int, error) bool) {
			for _, id := range ids {
				if !yield(id, nil) {
					return
				}
			}
		}
	}
	join := func(ids []int, stop []string) (string, []string, error) {
		var b strings.Builder
		var chunks []string
		for c, err := range Text(seq(ids...), words, stop) {
			if err != nil {
				return b.String(), chunks, err
			}
			b.WriteString(c.Text)
			chunks = append(chunks, c.Text)
		}
		return b.String(), chunks, nil
	}
	got, _, err := join([]int{0, 1, 2, 3, 4}, nil)
	require.NoError(t, err)
	require.Equal(t, "Hello, world!", got)
	got, _, err = join([]int{0, 5, 6}, []string{" STOP"})
	require.NoError(t, err)
	require.Equal(t, "Hello", got)
	got, chunks, err := join([]int{0, 7, 8, 6}, []string{"STOP"})
	require.NoError(t, err)
	require.Equal(t, "Hello", got, "a stop string split across tokens")
	require.Equal(t, []string{"He", "ll"}, chunks[:2], "the last len(stop)-1 bytes are held back")
	_, _, err = join([]int{0, 42}, nil)
	require.EqualError(t, err, "bad id")
}
