package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

type chatGoldens struct {
	Templates []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
		BOS      string `json:"bos_token"`
		EOS      string `json:"eos_token"`
		Cases    []struct {
			Conversation        string    `json:"conversation"`
			Messages            []Message `json:"messages"`
			AddGenerationPrompt bool      `json:"add_generation_prompt"`
			Text                *string   `json:"text"`
			Error               string    `json:"error"`
		} `json:"cases"`
	} `json:"templates"`
}

func readChatGoldens(t testing.TB) chatGoldens {
	b, err := os.ReadFile("testdata/chat/goldens.json")
	if err != nil {
		t.Fatal(err)
	}
	var g chatGoldens
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestChatTemplateGoldens renders every template as transformers'
// apply_chat_template did (tools/tokenizers/make_chat_goldens.py).
func TestChatTemplateGoldens(t *testing.T) {
	g := readChatGoldens(t)
	if len(g.Templates) < 7 {
		t.Fatalf("%d templates in the goldens", len(g.Templates))
	}
	for _, tc := range g.Templates {
		t.Run(tc.Name, func(t *testing.T) {
			c, err := NewChatTemplate(tc.Template, tc.BOS, tc.EOS)
			if err != nil {
				t.Fatal(err)
			}
			for _, cs := range tc.Cases {
				name := fmt.Sprintf("%s gen=%v", cs.Conversation, cs.AddGenerationPrompt)
				got, err := c.Render(cs.Messages, cs.AddGenerationPrompt)
				switch {
				case cs.Text == nil:
					if !errors.Is(err, ErrChatTemplate) || !strings.Contains(err.Error(), cs.Error) {
						t.Errorf("%s: got %q, %v; want the error %q", name, got, err, cs.Error)
					}
				case err != nil:
					t.Errorf("%s: %v", name, err)
				case got != *cs.Text:
					t.Errorf("%s:\n got  %q\n want %q", name, got, *cs.Text)
				}
			}
		})
	}
}

func TestChatTemplateErrors(t *testing.T) {
	for _, src := range []string{
		"{% for m in messages %}",            // unclosed
		"{{ messages[0]['role' }}",           // syntax
		"{% include '/etc/passwd' %}",        // no files
		"{% import 'macros.j2' as m %}{{ }}", // no files
		"{%!0.烂",                             // a stray "!": gonja's lexer never ended
		"{{ !x }}",
		"{%\x170.\u70c2\x82", // "0." and a non-ASCII letter: gonja's lexer stepped back too far, forever
		"{{ 0.\u00e9 }}",
		"{% if a ! b %}{% endif %}",
	} {
		c, err := NewChatTemplate(src, "", "")
		if err == nil {
			_, err = c.Render([]Message{{"user", "hi"}}, false)
		}
		if !errors.Is(err, ErrChatTemplate) {
			t.Errorf("%q: got %v, want an error wrapping ErrChatTemplate", src, err)
		}
	}
	big, err := NewChatTemplate("{% for i in range(100000) %}{{ messages[0]['content'] }}{% endfor %}", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := big.Render([]Message{{"user", strings.Repeat("x", 1000)}}, false); !errors.Is(err, ErrChatTemplate) {
		t.Errorf("a 100 MB rendering: got %v, want the output bound", err)
	}
	// "!" that is text, in a string, a comment or a raw block, or "!=", is fine.
	ok, err := NewChatTemplate(`Hi! {{ "!" if 1 != 2 }}{# ! #}{% raw %}{{ ! }}{% endraw %}{{ '\'!' }}{{ "0.é" }}{{ 0.5 }}`, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ok.Render(nil, false); err != nil || got != `Hi! !{{ ! }}'!0.é0.5` {
		t.Errorf("got %q, %v", got, err)
	}
	var tk Tokenizer
	if _, err := tk.ChatTemplate(); !errors.Is(err, ErrChatTemplate) {
		t.Errorf("no template: got %v", err)
	}
}

// TestChatTemplateConcurrent renders one template from many goroutines (run
// with -race).
func TestChatTemplateConcurrent(t *testing.T) {
	g := readChatGoldens(t)
	tc := g.Templates[0]
	c, err := NewChatTemplate(tc.Template, tc.BOS, tc.EOS)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs := tc.Cases[i%len(tc.Cases)]
			for range 20 {
				got, err := c.Render(cs.Messages, cs.AddGenerationPrompt)
				if err != nil || got != *cs.Text {
					t.Errorf("got %q, %v", got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestPythonJSON(t *testing.T) {
	for _, c := range []struct {
		v    any
		opts jsonOptions
		want string
	}{
		{map[string]any{"content": "a\"b\\\n\t\x01é😀<&'", "role": "user", "x": []any{1, 2.5, 1.0, true, nil}}, jsonOptions{indent: -1},
			`{"role": "user", "content": "a\"b\\\n\t\u0001é😀<&'", "x": [1, 2.5, 1.0, true, null]}`},
		{[]any{"é😀"}, jsonOptions{indent: -1, ensureASCII: true}, `["\u00e9\ud83d\ude00"]`},
		{map[string]any{"a": []any{1}, "b": map[string]any{}}, jsonOptions{indent: 2}, "{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}"},
		{[]any{1e20, 1e-5, 0.0001, 123456789.0}, jsonOptions{indent: -1}, `[1e+20, 1e-05, 0.0001, 123456789.0]`},
	} {
		var b strings.Builder
		if err := c.opts.write(&b, c.v, 0); err != nil || b.String() != c.want {
			t.Errorf("got %s (%v)\nwant %s", b.String(), err, c.want)
		}
	}
}

// FuzzChatTemplate: any template text either fails to parse with ErrChatTemplate or
// renders (or fails rendering) with an error, never a panic.
func FuzzChatTemplate(f *testing.F) {
	for _, tc := range readChatGoldens(f).Templates {
		f.Add(tc.Template)
	}
	f.Add("{% for %}{{ x | tojson(indent=2) }}{% endfor %}")
	f.Add("{{ raise_exception('no') }}")
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 4096 || strings.Contains(src, "range") {
			return // range(10**9) is a template's own running time, not a parser bug
		}
		c, err := NewChatTemplate(src, "<s>", "</s>")
		if err != nil {
			if !errors.Is(err, ErrChatTemplate) {
				t.Fatalf("%q: %v does not wrap ErrChatTemplate", src, err)
			}
			return
		}
		if _, err := c.Render([]Message{{"system", "s"}, {"user", "u"}}, true); err != nil && !errors.Is(err, ErrChatTemplate) {
			t.Fatalf("%q: %v does not wrap ErrChatTemplate", src, err)
		}
	})
}
