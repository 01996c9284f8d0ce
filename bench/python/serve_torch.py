#!/usr/bin/env python3
"""A threaded PyTorch embedding server (http.server.ThreadingHTTPServer) for the
multi-client comparison: POST /v1/embeddings {"model": ..., "input": str | [str]} ->
OpenAI-style response, mean pooling + L2 normalisation, on the same safetensors file
Lumen serves. Every request thread runs the model under Python's GIL, which is the
effect the paper measures.

    OMP_NUM_THREADS=1 /usr/bin/python3 bench/python/serve_torch.py --model /tmp/minilm --vocab ../shared/tokenizers/bert-base-uncased/vocab.txt --port 8090
"""
import argparse, json, socket, sys, unicodedata
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch

sys.path.insert(0, __import__("os").path.dirname(__file__))
from bert_eager import encode, read_safetensors  # noqa: E402


class WordPiece:
    """Lower-casing BERT tokenizer (basic split + greedy WordPiece), enough for the benchmark texts."""

    def __init__(self, vocab_path):
        self.vocab = {t.rstrip("\n"): i for i, t in enumerate(open(vocab_path, encoding="utf-8"))}

    def words(self, text):
        text = unicodedata.normalize("NFD", text.lower())
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        out, cur = [], ""
        for c in text:
            if c.isspace():
                out, cur = out + ([cur] if cur else []), ""
            elif unicodedata.category(c).startswith("P") or c in "$+<=>^`|~":
                out, cur = out + ([cur] if cur else []) + [c], ""
            else:
                cur += c
        return out + ([cur] if cur else [])

    def encode(self, text, max_len=512):
        ids = [self.vocab["[CLS]"]]
        for w in self.words(text):
            start, pieces = 0, []
            while start < len(w):
                end = len(w)
                while end > start and (("##" if start else "") + w[start:end]) not in self.vocab:
                    end -= 1
                if end == start:
                    pieces = [self.vocab["[UNK]"]]
                    break
                pieces.append(self.vocab[("##" if start else "") + w[start:end]])
                start = end
            ids += pieces
        return (ids[:max_len - 1]) + [self.vocab["[SEP]"]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--vocab", required=True)
    ap.add_argument("--port", type=int, default=8090)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = json.load(open(f"{a.model}/config.json"))
    w = read_safetensors(f"{a.model}/model.safetensors")
    tok = WordPiece(a.vocab)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def setup(self):
            super().setup()
            # Headers and body go out in two writes; without TCP_NODELAY, Nagle's
            # algorithm and delayed ACKs add ~40 ms to every response.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            seqs = [tok.encode(t) for t in texts]
            T = max(len(s) for s in seqs)
            ids = torch.tensor([s + [0] * (T - len(s)) for s in seqs])
            mask = torch.tensor([[1] * len(s) + [0] * (T - len(s)) for s in seqs], dtype=torch.float32)
            with torch.no_grad():
                h = encode(w, cfg, ids, mask)
                emb = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
                emb = torch.nn.functional.normalize(emb, dim=-1)
            out = json.dumps({"object": "list", "data": [{"object": "embedding", "index": i, "embedding": e.tolist()} for i, e in enumerate(emb)]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print(f"listening on http://127.0.0.1:{a.port}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
