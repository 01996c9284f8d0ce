package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lumen-ml/lumen/models/decode"
	"github.com/lumen-ml/lumen/models/nn"
	"github.com/lumen-ml/lumen/ops"
	"github.com/lumen-ml/lumen/server"
	"github.com/lumen-ml/lumen/tokenizer"
)

func newChatCmd() *cobra.Command {
	var model, ggufFile, system string
	var sampling samplingFlags
	var threads int
	cmd := &cobra.Command{
		Use:   "chat --model FILE.gguf|DIR|ORG/NAME [--gguf-file FILE.gguf]",
		Short: "Chat with a Llama-family model in the terminal, streaming its replies",
		Long: `chat reads your messages from standard input, one per line, and streams the model's
replies, keeping the conversation (rendered by the file's chat template) as context.
/reset forgets the conversation, /exit (or end of input) leaves. Ctrl-C while a reply
streams stops that reply, not the program.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pool := ops.NewPool(threads)
			defer pool.Close()
			m, _, err := openLlama(cmd.Context(), cmd.ErrOrStderr(), model, ggufFile, "", nn.WithPool(pool))
			if err != nil {
				return err
			}
			if m == nil {
				return fmt.Errorf("--model %s is not a Llama-family model (a GGUF file, or config.json model_type llama or qwen2)", model)
			}
			defer m.Close()
			if m.ChatTemplate() == nil {
				return fmt.Errorf("%s has no chat template (tokenizer.chat_template or tokenizer_config.json's chat_template); use generate", model)
			}
			interrupt := func(ctx context.Context) (context.Context, context.CancelFunc) {
				return signal.NotifyContext(ctx, os.Interrupt)
			}
			return chatLoop(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), m, system, sampling.options(), interrupt)
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "a Llama-family model with a chat template: GGUF file, directory or Hub id (required)")
	f.StringVar(&ggufFile, "gguf-file", "", "with --model ORG/NAME[@REV]: chat with this GGUF file of the Hub repository")
	f.StringVar(&system, "system", "", "a system message to start every conversation with (default: the template's own)")
	sampling.register(f, 512, "tokens per reply at most", 0.2, 0.9, "random seed (-1: from the clock)")
	f.IntVar(&threads, "threads", 0, "worker threads (0: all CPUs)")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

// chatLoop runs the conversation: each line of in is a user message, each reply is
// streamed to out under a context from interrupt (cancelled by Ctrl-C).
func chatLoop(ctx context.Context, in io.Reader, out io.Writer, m server.ChatCompleter, system string, opt decode.Options,
	interrupt func(context.Context) (context.Context, context.CancelFunc)) error {
	var history []tokenizer.Message
	reset := func() {
		history = history[:0]
		if system != "" {
			history = append(history, tokenizer.Message{Role: "system", Content: system})
		}
	}
	reset()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for {
		fmt.Fprint(out, "> ")
		if !sc.Scan() {
			fmt.Fprintln(out)
			return sc.Err()
		}
		line := strings.TrimSpace(sc.Text())
		switch line {
		case "":
			continue
		case "/exit", "/quit":
			return nil
		case "/reset":
			reset()
			fmt.Fprintln(out, "(conversation forgotten)")
			continue
		}
		history = append(history, tokenizer.Message{Role: "user", Content: line})
		ids, err := m.EncodeChat(history)
		if err != nil {
			return err
		}
		o := opt
		if room := m.ContextLength() - len(ids); room < o.MaxNewTokens {
			if room < 1 {
				history = history[:len(history)-1]
				fmt.Fprintf(out, "(the conversation, %d tokens, fills the model's context of %d: /reset)\n", len(ids), m.ContextLength())
				continue
			}
			o.MaxNewTokens = room
		}
		rctx, stop := interrupt(ctx)
		var reply strings.Builder
		for c, err := range m.GenerateText(rctx, ids, o, nil) {
			if err != nil {
				if errors.Is(err, context.Canceled) && ctx.Err() == nil {
					fmt.Fprint(out, " [stopped]")
					break
				}
				stop()
				return err
			}
			reply.WriteString(c.Text)
			fmt.Fprint(out, c.Text)
		}
		stop()
		fmt.Fprintln(out)
		history = append(history, tokenizer.Message{Role: "assistant", Content: reply.String()})
	}
}
