package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTokenizeEndpoints(t *testing.T) {
	models := testModels(t)
	_, ts := start(t, Config{MaxInputBytes: 1000}, models)
	gp := models["gpt2"].(Tokenizing).TextTokenizer()
	bt := models["minilm"].(Tokenizing).TextTokenizer()

	text := "Hello world, ça va? 日本"
	want, err := gp.EncodeIDs(text, false)
	require.NoError(t, err)
	code, body, _ := post(t, ts.URL+"/tokenize", `{"model":"gpt2","content":"Hello world, ça va? 日本"}`)
	require.Equal(t, 200, code, string(body))
	var ids struct {
		Tokens []int `json:"tokens"`
		Count  int   `json:"count"`
	}
	require.NoError(t, json.Unmarshal(body, &ids))
	require.Equal(t, want, ids.Tokens)
	require.Equal(t, len(want), ids.Count)

	// With pieces and the model's special tokens: [CLS] ... [SEP] and character spans.
	code, body, _ = post(t, ts.URL+"/tokenize", `{"model":"minilm","content":"Ça va, Zoë?","add_special":true,"with_pieces":true}`)
	require.Equal(t, 200, code, string(body))
	var pieces struct {
		Tokens []piece `json:"tokens"`
	}
	require.NoError(t, json.Unmarshal(body, &pieces))
	e, err := bt.Encode("Ça va, Zoë?", true)
	require.NoError(t, err)
	require.Len(t, pieces.Tokens, e.Len())
	require.Equal(t, "[CLS]", pieces.Tokens[0].Piece)
	for i, p := range pieces.Tokens {
		require.Equal(t, piece{e.IDs[i], e.Tokens[i], e.CharOffsets[i][0], e.CharOffsets[i][1]}, p)
	}
	require.Equal(t, piece{ID: e.IDs[len(e.IDs)-2], Piece: "?", Start: 10, End: 11}, pieces.Tokens[len(pieces.Tokens)-2])

	// Round trip.
	in, _ := json.Marshal(map[string]any{"model": "gpt2", "tokens": want})
	code, body, _ = post(t, ts.URL+"/detokenize", string(in))
	require.Equal(t, 200, code, string(body))
	var dec struct {
		Content string `json:"content"`
	}
	require.NoError(t, json.Unmarshal(body, &dec))
	require.Equal(t, text, dec.Content)

	// TEI's shapes: "inputs" (special tokens by default, byte offsets) and "ids".
	code, body, _ = post(t, ts.URL+"/tokenize", `{"model":"minilm","inputs":["Ça va?","ok"]}`)
	require.Equal(t, 200, code, string(body))
	var tei [][]teiToken
	require.NoError(t, json.Unmarshal(body, &tei))
	require.Len(t, tei, 2)
	require.Equal(t, teiToken{ID: 101, Text: "[CLS]", Special: true}, tei[0][0])
	require.Equal(t, teiToken{ID: e.IDs[1], Text: "ca", Start: 0, Stop: 3}, tei[0][1], "byte offsets: Ç is two bytes")
	code, body, _ = post(t, ts.URL+"/detokenize", `{"model":"minilm","ids":[[101,7592,102],[7592]]}`)
	require.Equal(t, 200, code, string(body))
	require.JSONEq(t, `["hello","hello"]`, string(body))

	for _, c := range []struct {
		path, body, want string
		code             int
	}{
		{"/tokenize", `{"model":"gpt2"}`, `\"inputs\" (TEI) is required`, 400},
		{"/tokenize", `{"model":"nope","content":"x"}`, "no tokenizer model", 404},
		{"/tokenize", `{"model":"gpt2","content":"` + strings.Repeat("x", 1001) + `"}`, "the limit is 1000", 400},
		{"/tokenize", `{"model":"gpt2","content":5}`, "", 400},
		{"/detokenize", `{"model":"gpt2","tokens":[1,99999999]}`, "unknown token id", 400},
		{"/detokenize", `{"model":"gpt2","tokens":[-1]}`, "unknown token id", 400},
		{"/detokenize", `{"model":"gpt2"}`, `\"ids\" (TEI) is required`, 400},
		{"/tokenize", `{"content":"x"}`, "no tokenizer model", 404}, // several models: name one
		{"/detokenize", `{"model":"gpt2","ids":"x"}`, "must be an array", 400},
		{"/tokenize", `{"model":"gpt2","inputs":[]}`, "is empty", 400},
	} {
		code, body, _ := post(t, ts.URL+c.path, c.body)
		require.Equal(t, c.code, code, "%s %s: %s", c.path, c.body, body)
		require.Contains(t, string(body), c.want)
	}
}

// TestTokenizeOneModel: with one model loaded, "model" may be left out (TEI's
// clients do not send it).
func TestTokenizeOneModel(t *testing.T) {
	models := testModels(t)
	_, ts := start(t, Config{}, Models{"gpt2": models["gpt2"]})
	code, body, _ := post(t, ts.URL+"/tokenize", `{"inputs":"Hello world","add_special_tokens":false}`)
	require.Equal(t, 200, code, string(body))
	require.JSONEq(t, `[[{"id":15496,"text":"Hello","special":false,"start":0,"stop":5},{"id":995,"text":"Ġworld","special":false,"start":5,"stop":11}]]`, string(body))
}
