package tokenizer

import (
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nikolalohinski/gonja/v2"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
)

// Message is one turn of a chat: its role ("system", "user", "assistant", or what
// the template knows) and its text.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ErrChatTemplate is wrapped by errors about chat templates: none in the
// tokenizer's files, one that does not parse, or one that fails while rendering
// (raise_exception in the template, as when roles do not alternate).
var ErrChatTemplate = errors.New("tokenizer: chat template")

// maxChatOutput bounds a rendering; a template that writes more is stopped.
const maxChatOutput = 64 << 20

// ChatTemplate renders chats as a model was trained on them: a Jinja template
// from tokenizer_config.json's chat_template or a GGUF file's
// tokenizer.chat_template, run as transformers' apply_chat_template runs it
// (trim_blocks and lstrip_blocks on; bos_token, eos_token, messages and
// add_generation_prompt defined; tojson as Python's json.dumps with
// ensure_ascii=False; raise_exception and strftime_now), by the pure-Go Jinja
// engine gonja.
//
// Differences from Python: a dict that tojson prints lists its keys in sorted
// order (role and content first), where Python keeps the order they were
// inserted in; {% include %} and {% import %} are refused. A template is code from
// the model's files: Render bounds its output, not its running time.
//
// A ChatTemplate is safe for concurrent use.
type ChatTemplate struct {
	source   string
	bos, eos string
	tpl      *exec.Template
}

// chatEnvironment is gonja's default environment with transformers' additions.
var chatEnvironment = func() *exec.Environment {
	filters := exec.NewFilterSet(map[string]exec.FilterFunction{})
	filters.Update(gonja.DefaultEnvironment.Filters)
	if err := filters.Replace("tojson", filterToJSON); err != nil {
		panic(err)
	}
	ctx := gonja.DefaultEnvironment.Context.Inherit()
	ctx.Set("raise_exception", func(_ *exec.Evaluator, params *exec.VarArgs) (string, error) {
		msg := ""
		if a := params.First(); a != nil {
			msg = a.String()
		}
		return "", fmt.Errorf("%w: raise_exception: %s", ErrChatTemplate, msg)
	})
	ctx.Set("strftime_now", func(_ *exec.Evaluator, params *exec.VarArgs) (string, error) {
		f := ""
		if a := params.First(); a != nil {
			f = a.String()
		}
		return strftime(time.Now(), f), nil
	})
	return &exec.Environment{
		Context:           ctx,
		Filters:           filters,
		Tests:             gonja.DefaultEnvironment.Tests,
		ControlStructures: gonja.DefaultEnvironment.ControlStructures,
		Methods:           gonja.DefaultEnvironment.Methods,
	}
}()

// NewChatTemplate compiles a chat template; bos and eos are the texts of the
// model's BOS and EOS tokens ("" where it has none).
func NewChatTemplate(source, bos, eos string) (c *ChatTemplate, err error) {
	if at, what := lexerTrap(source); at >= 0 {
		return nil, fmt.Errorf("%w: does not parse: %s at byte %d", ErrChatTemplate, what, at)
	}
	cfg := config.New()
	cfg.TrimBlocks, cfg.LeftStripBlocks = true, true
	defer func() {
		// gonja's parser panics on some malformed input; that is a bad
		// template, not a bug of ours.
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("%w: does not parse: %v", ErrChatTemplate, r)
		}
	}()
	tpl, err := exec.NewTemplate(chatRoot, cfg, rootOnly(source), chatEnvironment)
	if err != nil {
		return nil, fmt.Errorf("%w: does not parse: %w", ErrChatTemplate, err)
	}
	return &ChatTemplate{source: source, bos: bos, eos: eos, tpl: tpl}, nil
}

// lexerTrap finds, inside the {{ }} and {% %} tags and outside their string
// literals, what gonja v2.9.1's lexer mishandles so that it never ends (it then
// emits tokens until memory runs out), and returns its offset and a description,
// or -1:
//   - a "!" not followed by "=" (Jinja has no other "!"): the lexer reports it
//     and goes on lexing;
//   - a digit and "." followed by a non-ASCII character ("0.é"): the lexer
//     steps back by that character's width instead of the dot's.
//
// Comments and {% raw %} blocks are text.
func lexerTrap(src string) (int, string) {
	for i := 0; i < len(src); {
		j := strings.IndexByte(src[i:], '{')
		if j < 0 || i+j+1 >= len(src) {
			return -1, ""
		}
		i += j
		switch src[i+1] {
		case '#':
			k := strings.Index(src[i+2:], "#}")
			if k < 0 {
				return -1, ""
			}
			i += 2 + k + 2
			continue
		case '{', '%':
		default:
			i++
			continue
		}
		end := "}}"
		if src[i+1] == '%' {
			end = "%}"
		}
		start := i
		i += 2
		var quote byte
		for ; i < len(src); i++ {
			c := src[i]
			switch {
			case quote != 0:
				if c == '\\' {
					i++
				} else if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '!' && (i+1 >= len(src) || src[i+1] != '='):
				return i, `unexpected "!"`
			case c == '.' && i > 0 && '0' <= src[i-1] && src[i-1] <= '9' && i+1 < len(src) && src[i+1] >= utf8.RuneSelf:
				return i, "a number followed by a non-ASCII character"
			case strings.HasPrefix(src[i:], end):
				i += len(end)
				if end == "%}" && isRawTag(src[start:i]) {
					k := rawEnd.FindStringIndex(src[i:])
					if k == nil {
						return -1, ""
					}
					i += k[1]
				}
				goto next
			}
		}
		return -1, ""
	next:
	}
	return -1, ""
}

// rawEnd finds a {% endraw %} tag.
var rawEnd = regexp.MustCompile(`\{%[-+]?\s*endraw\s*[-+]?%\}`)

// isRawTag reports whether a whole {% %} tag is {% raw %}.
func isRawTag(tag string) bool {
	t := strings.TrimSpace(strings.Trim(tag[2:len(tag)-2], "-+"))
	return t == "raw"
}

// Source returns the template's text.
func (c *ChatTemplate) Source() string { return c.source }

// Render returns the prompt text for messages; with addGenerationPrompt the
// template's cue for the assistant's answer ends it. The text still has to be
// encoded; its special tokens are matched as added tokens, so encode it without
// adding the post-processor's (most templates write the BOS themselves).
func (c *ChatTemplate) Render(messages []Message, addGenerationPrompt bool) (out string, err error) {
	msgs := make([]any, len(messages))
	for i, m := range messages {
		msgs[i] = map[string]any{"role": m.Role, "content": m.Content}
	}
	data := exec.NewContext(map[string]any{
		"messages":              msgs,
		"add_generation_prompt": addGenerationPrompt,
		"bos_token":             c.bos,
		"eos_token":             c.eos,
	})
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("%w: rendering failed: %v", ErrChatTemplate, r)
		}
	}()
	var b limitedBuilder
	if err := c.tpl.Execute(&b, data); err != nil {
		if errors.Is(err, ErrChatTemplate) {
			// raise_exception: its message, without gonja's wrapping.
			var e error = err
			for {
				u := errors.Unwrap(e)
				if u == nil || !errors.Is(u, ErrChatTemplate) {
					break
				}
				e = u
			}
			return "", e
		}
		return "", fmt.Errorf("%w: rendering failed: %w", ErrChatTemplate, err)
	}
	return b.String(), nil
}

// ChatTemplate returns the tokenizer's chat template (Config.ChatTemplate, with
// Config.BOS and Config.EOS), or an error wrapping ErrChatTemplate when it has
// none or it does not parse.
func (t *Tokenizer) ChatTemplate() (*ChatTemplate, error) {
	if t.Config.ChatTemplate == "" {
		return nil, fmt.Errorf("%w: the tokenizer has none (no chat_template in tokenizer_config.json or tokenizer.chat_template in the GGUF file)", ErrChatTemplate)
	}
	return NewChatTemplate(t.Config.ChatTemplate, t.Config.BOS, t.Config.EOS)
}

// limitedBuilder is a strings.Builder that refuses to grow past maxChatOutput.
type limitedBuilder struct{ strings.Builder }

func (b *limitedBuilder) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxChatOutput {
		return 0, fmt.Errorf("%w: the rendering exceeds %d bytes", ErrChatTemplate, maxChatOutput)
	}
	return b.Builder.Write(p)
}

func (b *limitedBuilder) WriteString(s string) (int, error) { return b.Write([]byte(s)) }

// chatRoot names the one template a rootOnly loader serves.
const chatRoot = "chat_template"

// rootOnly is a gonja loader that serves the template itself and nothing else:
// a chat template from a model file may not read files.
type rootOnly string

func (r rootOnly) Read(path string) (io.Reader, error) {
	if path != chatRoot {
		return nil, fmt.Errorf("%w: a chat template may not load %q", ErrChatTemplate, path)
	}
	return strings.NewReader(string(r)), nil
}

func (r rootOnly) Resolve(path string) (string, error) {
	if path != chatRoot {
		return "", fmt.Errorf("%w: a chat template may not load %q", ErrChatTemplate, path)
	}
	return path, nil
}

func (r rootOnly) Inherit(string) (loaders.Loader, error) { return r, nil }

// filterToJSON is transformers' tojson: Python's json.dumps with
// ensure_ascii=False by default, and its indent, ensure_ascii and sort_keys.
func filterToJSON(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	opts := jsonOptions{indent: -1}
	for k, v := range params.KwArgs {
		switch k {
		case "indent":
			if !v.IsNil() {
				if !v.IsInteger() {
					return exec.AsValue(fmt.Errorf("%w: tojson: indent must be an integer, not %s", ErrChatTemplate, v.String()))
				}
				opts.indent = max(v.Integer(), 0)
			}
		case "ensure_ascii":
			opts.ensureASCII = v.IsTrue()
		case "sort_keys":
			// Keys are always sorted (see ChatTemplate).
		default:
			return exec.AsValue(fmt.Errorf("%w: tojson: unsupported argument %q", ErrChatTemplate, k))
		}
	}
	if len(params.Args) > 0 {
		if a := params.Args[0]; a.IsInteger() {
			opts.indent = max(a.Integer(), 0)
		}
	}
	var b strings.Builder
	if err := opts.write(&b, in.Interface(), 0); err != nil {
		return exec.AsValue(err)
	}
	return exec.AsSafeValue(b.String())
}

type jsonOptions struct {
	indent      int // -1: one line, with ", " and ": " separators
	ensureASCII bool
}

func (o jsonOptions) newline(b *strings.Builder, depth int) {
	if o.indent >= 0 {
		b.WriteByte('\n')
		b.WriteString(strings.Repeat(" ", o.indent*depth))
	}
}

func (o jsonOptions) write(b *strings.Builder, v any, depth int) error {
	itemSep := ", "
	if o.indent >= 0 {
		itemSep = ","
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		o.writeString(b, x)
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(pyFloat(x))
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(itemSep)
			}
			o.newline(b, depth+1)
			if err := o.write(b, e, depth+1); err != nil {
				return err
			}
		}
		o.newline(b, depth)
		b.WriteByte(']')
	case map[string]any:
		if len(x) == 0 {
			b.WriteString("{}")
			return nil
		}
		b.WriteByte('{')
		for i, k := range jsonKeys(x) {
			if i > 0 {
				b.WriteString(itemSep)
			}
			o.newline(b, depth+1)
			o.writeString(b, k)
			b.WriteString(": ")
			if err := o.write(b, x[k], depth+1); err != nil {
				return err
			}
		}
		o.newline(b, depth)
		b.WriteByte('}')
	default:
		return fmt.Errorf("%w: tojson: cannot write a %T", ErrChatTemplate, v)
	}
	return nil
}

// jsonKeys orders a dict's keys: role and content first (a message's order), then
// the rest sorted.
func jsonKeys(m map[string]any) []string {
	rank := func(k string) int {
		switch k {
		case "role":
			return 0
		case "content":
			return 1
		}
		return 2
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if ri, rj := rank(keys[i]), rank(keys[j]); ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	return keys
}

// writeString quotes s as Python's json.dumps does.
func (o jsonOptions) writeString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || (o.ensureASCII && r >= 0x7f && r <= 0xffff):
				fmt.Fprintf(b, `\u%04x`, r)
			case o.ensureASCII && r > 0xffff:
				r -= 0x10000
				fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// pyFloat writes a float as Python's repr does (1.0, 0.1, 1e+100, NaN).
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.FormatFloat(f, 'e', -1, 64) // 1e+20, 1e-05: as Python
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// strftime formats t with the C directives chat templates use (%Y %m %d %H %M %S
// %b %B %a %A %y %j %p %I %%); others are kept as written.
func strftime(t time.Time, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'I':
			fmt.Fprintf(&b, "%02d", (t.Hour()+11)%12+1)
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'p':
			b.WriteString(t.Format("PM"))
		case 'b':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String()
}
