package main

import (
	"encoding/json"
	"io"
	"time"

	"github.com/lumen-ml/lumen/bench/harness"
)

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// percentile returns the nearest-rank percentile of sorted durations, to the µs.
func percentile(sorted []time.Duration, q float64) time.Duration {
	return harness.NearestRank(sorted, q).Round(time.Microsecond)
}

// printJSONLine writes v as one line of JSON, with <, > and & as they are (tokens
// such as <|im_start|> stay readable).
func printJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
