package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lumen-ml/lumen/models/bert"
	"github.com/lumen-ml/lumen/server"
)

func newRerankCmd() *cobra.Command {
	var f bertFlags
	var query string
	var topN int
	var withDocs bool
	var maxLength int
	cmd := &cobra.Command{
		Use:   "rerank --model DIR --query TEXT DOCUMENT...",
		Short: "Rank documents by relevance to a query with a cross-encoder, as /v1/rerank answers",
		Long: `rerank scores each document against --query with a cross-encoder (a BERT-family
sequence classifier with one logit, such as the ms-marco-MiniLM cross-encoders):
the pairs truncated to the model's positions as sentence-transformers' CrossEncoder
truncates them, the scores sigmoid(logit), as CrossEncoder.predict gives them. It
prints {"results":[{"index":I,"relevance_score":S},...]}, the most relevant first.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, docs []string) error {
			if query == "" {
				return fmt.Errorf("--query is empty")
			}
			if topN < 0 {
				return fmt.Errorf("--top-n must not be negative")
			}
			m, closeAll, err := f.load(cmd)
			if err != nil {
				return err
			}
			defer closeAll()
			scores, err := m.Rerank(cmd.Context(), query, docs, maxLength)
			if err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"results": server.RerankResults(bert.Rank(scores, topN), docs, withDocs)})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&query, "query", "", "the query (required)")
	cmd.Flags().IntVar(&topN, "top-n", 0, "keep the N most relevant (0: all)")
	cmd.Flags().BoolVar(&withDocs, "return-documents", false, "include each document's text")
	cmd.Flags().IntVar(&maxLength, "max-length", 0, "truncate each query–document pair to this many tokens, as CrossEncoder(max_length=N) (0: the model's positions)")
	_ = cmd.MarkFlagRequired("query")
	return cmd
}
