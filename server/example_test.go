package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/lumen-ml/lumen/assets"
	"github.com/lumen-ml/lumen/models/bert"
	"github.com/lumen-ml/lumen/server"
)

func Example() {
	// A tiny random-weight BERT with the shipped bert-base-uncased vocabulary; in a
	// real service, bert.Load("path/to/all-MiniLM-L6-v2").
	dir, err := os.MkdirTemp("", "server-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	cfg, _ := bert.SizeConfig("tiny")
	if err := bert.WriteRandom(dir, cfg, 1); err != nil {
		panic(err)
	}
	tok, err := bert.LoadTokenizerFS(assets.BERTUncasedVocab())
	if err != nil {
		panic(err)
	}
	m, err := bert.Load(dir, bert.WithTokenizer(tok))
	if err != nil {
		panic(err)
	}
	defer m.Close()
	s, err := server.New(server.DefaultConfig(), server.Models{"minilm": m})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	ts := httptest.NewServer(s.Handler()) // or http.ListenAndServe(addr, s.Handler())
	defer ts.Close()

	resp, err := http.Post(ts.URL+"/v1/embeddings", "application/json", strings.NewReader(`{"model":"minilm","input":["hello","world"]}`))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data []struct {
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	fmt.Println(resp.StatusCode, len(out.Data), len(out.Data[0].Embedding))
	// Output: 200 2 64
}
