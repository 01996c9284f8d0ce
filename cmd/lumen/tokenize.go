package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/lumen-ml/lumen/tokenizer"
)

// loadTokenizer loads --model: a tokenizer.json (or vocab.txt) file, a directory,
// or a Hub id through the cache. The file's padding and truncation are dropped,
// as transformers' tokenizer(text) call drops them unless asked.
func loadTokenizer(cmd *cobra.Command, model string) (*tokenizer.Tokenizer, error) {
	path := model
	if st, err := os.Stat(model); err != nil || st.IsDir() {
		dir, err := resolveModel(cmd.Context(), cmd.ErrOrStderr(), model)
		if err != nil {
			return nil, err
		}
		path = dir
	}
	tk, err := tokenizer.Load(path)
	if err != nil {
		return nil, err
	}
	tk, _ = tk.WithTruncation(nil)
	return tk.WithPadding(nil), nil
}

func newTokenizeCmd() *cobra.Command {
	var model, pair, system string
	var noSpecial, chat bool
	cmd := &cobra.Command{
		Use:   "tokenize --model DIR|FILE|ORG/NAME [--pair TEXT] [--no-special] TEXT...",
		Short: "Token ids, tokens and character offsets of texts, one JSON line each",
		Long: `tokenize prints one line per text: {"ids":[...],"tokens":[...],"offsets":[[start,end],...]},
offsets in characters (code points) as Python's tokenizers reports them. --model is a
tokenizer.json or vocab.txt, a model directory (tokenizer.json, vocab.txt or vocab.json +
merges.txt, with tokenizer_config.json) or a Hub id; as transformers' tokenizer(text), the
file's padding and truncation settings are not applied. --pair encodes each text with it as
the second of a pair. --chat renders the texts as a conversation (user, assistant, user,
...; --system first) with the tokenizer's chat template and a generation prompt, prints
{"prompt":...,"ids":[...],"tokens":[...]}, and adds no special tokens but the template's.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, texts []string) error {
			tk, err := loadTokenizer(cmd, model)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if chat {
				if pair != "" {
					return fmt.Errorf("--chat and --pair do not go together")
				}
				tpl, err := tk.ChatTemplate()
				if err != nil {
					return err
				}
				var msgs []tokenizer.Message
				if system != "" {
					msgs = append(msgs, tokenizer.Message{Role: "system", Content: system})
				}
				for i, t := range texts {
					role := "user"
					if i%2 == 1 {
						role = "assistant"
					}
					msgs = append(msgs, tokenizer.Message{Role: role, Content: t})
				}
				prompt, err := tpl.Render(msgs, true)
				if err != nil {
					return err
				}
				e, err := tk.Encode(prompt, false)
				if err != nil {
					return err
				}
				return printJSONLine(out, map[string]any{"prompt": prompt, "ids": e.IDs, "tokens": e.Tokens})
			}
			if system != "" {
				return fmt.Errorf("--system needs --chat")
			}
			for _, t := range texts {
				var e tokenizer.Encoding
				if pair != "" {
					e, err = tk.EncodePair(t, pair, !noSpecial)
				} else {
					e, err = tk.Encode(t, !noSpecial)
				}
				if err != nil {
					return err
				}
				if err := printJSONLine(out, map[string]any{"ids": e.IDs, "tokens": e.Tokens, "offsets": e.CharOffsets}); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "tokenizer.json or vocab.txt, model directory, or Hub id ORG/NAME[@REV] (required)")
	cmd.Flags().StringVar(&pair, "pair", "", "a second text to encode with each text, as a pair")
	cmd.Flags().BoolVar(&noSpecial, "no-special", false, "add no special tokens ([CLS], [SEP], <s>, ...)")
	cmd.Flags().BoolVar(&chat, "chat", false, "render the texts as a chat with the tokenizer's chat template, then tokenize")
	cmd.Flags().StringVar(&system, "system", "", "with --chat: a system message first")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

func newDetokenizeCmd() *cobra.Command {
	var model string
	var skipSpecial bool
	cmd := &cobra.Command{
		Use:   "detokenize --model DIR|FILE|ORG/NAME [--skip-special] ID...",
		Short: "The text of token ids",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids := make([]int, len(args))
			for i, a := range args {
				id, err := strconv.Atoi(a)
				if err != nil {
					return fmt.Errorf("token id %q is not an integer", a)
				}
				ids[i] = id
			}
			tk, err := loadTokenizer(cmd, model)
			if err != nil {
				return err
			}
			text, err := tk.Decode(ids, skipSpecial)
			if err != nil {
				return err
			}
			return printJSONLine(cmd.OutOrStdout(), map[string]any{"text": text})
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "tokenizer.json or vocab.txt, model directory, or Hub id ORG/NAME[@REV] (required)")
	cmd.Flags().BoolVar(&skipSpecial, "skip-special", false, "drop special tokens")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}
