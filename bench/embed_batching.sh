#!/usr/bin/env bash
# Embedding micro-batching by count (--batch-max 32) against a token budget
# (--max-batch-tokens 2048) under a mixed load: 64 clients sending texts of 4 to 250
# words (500 bodies, seeded), on a random MiniLM-L6 with the shipped vocabulary,
# alternated over two rounds of 20 s (issue 31). Usage: bench/embed_batching.sh [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/lumen" ./cmd/lumen
"$tmp/lumen" gen-random --arch bert --size minilm-l6 --out "$tmp/minilm" >/dev/null
python3 - "$tmp/bodies.jsonl" <<'PY'
import json, random, sys
random.seed(5)
words = "the quick brown fox jumps over a lazy dog while rivers run past green hills and old towns under grey skies".split()
with open(sys.argv[1], "w") as f:
    for _ in range(500):
        n = random.choice([4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 250])
        f.write(json.dumps({"model": "minilm", "input": " ".join(random.choice(words) for _ in range(n))}) + "\n")
PY
addr=127.0.0.1:18089
for round in 1 2; do
  for mode in count tokens; do
    extra=()
    [ "$mode" = tokens ] && extra=(--max-batch-tokens 2048)
    "$tmp/lumen" serve --model "minilm=$tmp/minilm" --addr "$addr" --threads "$threads" --batch-max 32 --batch-wait 5ms "${extra[@]}" >"$tmp/serve.log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do curl -sf "$addr/readyz" >/dev/null && break; sleep 0.2; done
    "$tmp/lumen" load --url "http://$addr" --endpoint /v1/embeddings --bodies "$tmp/bodies.jsonl" --concurrency 64 --requests 64 >/dev/null # warm-up
    echo "round $round, $mode-based batching"
    "$tmp/lumen" load --url "http://$addr" --endpoint /v1/embeddings --bodies "$tmp/bodies.jsonl" --concurrency 64 --duration 20s
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
