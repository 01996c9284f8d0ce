package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/lumen-ml/lumen/internal/shared"
	"github.com/lumen-ml/lumen/models/bert"
	"github.com/lumen-ml/lumen/server"
)

func Example() {
	m, err := bert.Load(shared.Dir()+"/fixtures/minilm-tiny", bert.WithTokenizerDir(shared.Dir()+"/tokenizers/bert-base-uncased"))
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
	// Output: 200 2 96
}
