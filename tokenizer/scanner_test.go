package tokenizer

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// scannerTexts are the golden texts of every tokenizer, the generator's corpus and
// random strings over an alphabet of the characters the expressions treat apart.
func scannerTexts(t *testing.T) []string {
	t.Helper()
	var texts []string
	dirs, _ := filepath.Glob("testdata/*/golden.json.gz")
	for _, gz := range dirs {
		var g goldenFile
		readGzipJSON(t, gz, &g)
		for _, c := range g.Single {
			texts = append(texts, c.Text)
		}
	}
	if b, err := os.ReadFile("../tools/tokenizers/corpus.txt"); err == nil {
		texts = append(texts, strings.Split(string(b), "\n\n")...)
	}
	alphabet := []string{"a", "Z", "é", "ǅ", "ʰ", "中", "\u0301", "1", "٣", "Ⅻ", "½", " ", "  ", "\t", "\n", "\r", "\r\n",
		"\u00a0", "\u2028", "\u3000", "'", "'s", "'S", "'ll", "'LL", "'Re", "'x", ".", "!", "/", "€", "😀", "\u200d", "_", "-"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		var b strings.Builder
		for range 1 + rng.IntN(12) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		texts = append(texts, b.String())
	}
	return texts
}

func checkScanner(t *testing.T, expr string, sc scanPattern, re regexPattern, text string) {
	t.Helper()
	if got, want := sc.find(text, nil), re.find(text, nil); !reflect.DeepEqual(got, want) {
		t.Errorf("%.30s... on %q:\n scanner %v\n regexp2 %v", expr, text, got, want)
	}
}

func TestScanners(t *testing.T) {
	texts := scannerTexts(t)
	for expr, sc := range scanners {
		re := regexPattern{expr, regexp2.MustCompile(expr, regexp2.None)}
		for _, text := range texts {
			checkScanner(t, expr, sc, re, text)
		}
	}
}

func FuzzScanners(f *testing.F) {
	for _, s := range []string{"Hello world's  end\r\n\n 123456 ...!!\n", "'S 'll \u00a0\u3000x", "٣٣٣٣ ½½ ", ""} {
		f.Add(s)
	}
	res := map[string]regexPattern{}
	for expr := range scanners {
		res[expr] = regexPattern{expr, regexp2.MustCompile(expr, regexp2.None)}
	}
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) {
			return // the pipeline hands the patterns valid UTF-8 only
		}
		for expr, sc := range scanners {
			checkScanner(t, expr, sc, res[expr], text)
		}
	})
}
