#!/usr/bin/env python3
"""A threaded PyTorch server (http.server.ThreadingHTTPServer) for the multi-client
comparison, on the same safetensors files Lumen serves. Every request thread runs the
model under Python's GIL, which is the effect the paper measures.

A BERT-family directory serves POST /v1/embeddings {"model": ..., "input": str | [str]}
-> OpenAI-style response, mean pooling + L2 normalisation. A GPT-2 directory (its
config.json says model_type "gpt2"; vocab.json and merges.txt beside it) serves POST
/v1/completions {"model", "prompt", "max_tokens", "temperature", "seed", "stream"}:
each request its own KV cache and decode loop (bench/python/gpt2_eager.py), streamed
as server-sent events like Lumen's. GET /healthz answers once the model is loaded.

    OMP_NUM_THREADS=1 /usr/bin/python3 bench/python/serve_torch.py --model /tmp/minilm --vocab ../shared/tokenizers/bert-base-uncased/vocab.txt --port 8090
    OMP_NUM_THREADS=1 /usr/bin/python3 bench/python/serve_torch.py --model /tmp/gpt2-124m --port 8090
"""
import argparse, json, os, re, socket, sys, time, unicodedata
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch

sys.path.insert(0, __import__("os").path.dirname(__file__))
from bert_eager import encode, linear_specs, read_safetensors  # noqa: E402
import gpt2_eager  # noqa: E402
import quant  # noqa: E402


def bytes_to_unicode():
    """GPT-2's reversible map from bytes to printable characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class ByteBPE:
    """GPT-2's byte-level BPE from vocab.json and merges.txt. The pre-tokenizer is
    GPT-2's pattern with Python's re classes ([^\\W\\d_] for \\p{L}, \\d for \\p{N}): the same
    pieces for the benchmark's ASCII prompts."""

    PAT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")

    def __init__(self, model_dir):
        self.enc = json.load(open(os.path.join(model_dir, "vocab.json"), encoding="utf-8"))
        self.dec = {v: k for k, v in self.enc.items()}
        merges = [tuple(l.split()) for l in open(os.path.join(model_dir, "merges.txt"), encoding="utf-8").read().split("\n")[1:] if l.strip()]
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.b2u = bytes_to_unicode()
        self.u2b = {v: k for k, v in self.b2u.items()}
        self.cache = {}

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        parts = list(word)
        while len(parts) > 1:
            pairs = [(self.ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            rank, i = min(pairs)
            if rank == 1 << 30:
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        self.cache[word] = parts
        return parts

    def encode(self, text):
        ids = []
        for piece in self.PAT.findall(text):
            word = "".join(self.b2u[b] for b in piece.encode("utf-8"))
            ids.extend(self.enc[t] for t in self.bpe(word))
        return ids

    def decode_bytes(self, ids):
        return bytes(self.u2b[c] for i in ids for c in self.dec[i])


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no access log, TCP_NODELAY, GET /healthz."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in two writes; without TCP_NODELAY, Nagle's
        # algorithm and delayed ACKs add ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")


def serve_completions(model_dir, cfg, port, int8=False):
    """The GPT-2 completions endpoint: greedy or temperature sampling, stop at max_tokens.
    int8: every product (and the LM head) through quantize_dynamic's modules."""
    m = gpt2_eager.GPT2(gpt2_eager.read_safetensors(f"{model_dir}/model.safetensors"), cfg)
    if int8:
        m = gpt2_eager.GPT2(m.w, cfg, quant.int8_linears(m.linear_specs()))
    tok = ByteBPE(model_dir)

    def generate(ids, max_tokens, temperature, seed):
        gen = torch.Generator().manual_seed(seed)
        cache, past = [None] * m.L, 0
        x = torch.tensor(ids)
        with torch.no_grad():
            for _ in range(max_tokens):
                logits = m.forward(x, cache, past)[0]
                past += x.shape[0]
                if temperature == 0:
                    nxt = int(logits.argmax())
                else:
                    nxt = int(torch.multinomial(torch.softmax(logits / temperature, -1), 1, generator=gen))
                yield nxt
                x = torch.tensor([nxt])

    class Handler(QuietHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            ids = tok.encode(body["prompt"])
            n, temp = int(body.get("max_tokens", 16)), float(body.get("temperature", 1.0))
            seed = int(body.get("seed", time.time_ns() % (1 << 31)))
            base = {"id": "cmpl-py", "object": "text_completion", "created": int(time.time()), "model": body.get("model", "")}
            if not body.get("stream"):
                out = list(generate(ids, n, temp, seed))
                text = tok.decode_bytes(out).decode("utf-8", "replace")
                raw = json.dumps(dict(base, choices=[{"text": text, "index": 0, "logprobs": None, "finish_reason": "length"}],
                                      usage={"prompt_tokens": len(ids), "completion_tokens": len(out), "total_tokens": len(ids) + len(out)})).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

            def send(obj):
                data = b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

            made, pending = 0, b""
            for t in generate(ids, n, temp, seed):
                made += 1
                pending += tok.decode_bytes([t])
                try:  # a character split across tokens waits for its last byte
                    text = pending.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                pending = b""
                send(dict(base, choices=[{"text": text, "index": 0, "logprobs": None, "finish_reason": None}]))
            send(dict(base, choices=[{"text": "", "index": 0, "logprobs": None, "finish_reason": "length"}],
                      usage={"prompt_tokens": len(ids), "completion_tokens": made, "total_tokens": len(ids) + made}))
            send(b"[DONE]")
            self.wfile.write(b"0\r\n\r\n")

    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    srv.serve_forever()


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
    ap.add_argument("--vocab", help="BERT: vocab.txt (GPT-2 reads vocab.json and merges.txt from --model)")
    ap.add_argument("--port", type=int, default=8090)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quantize", choices=["none", "int8"], default="none",
                    help="int8: torch.ao.quantization.quantize_dynamic over every product's weights")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = json.load(open(f"{a.model}/config.json"))
    if cfg.get("model_type") == "gpt2":
        serve_completions(a.model, cfg, a.port, a.quantize == "int8")
        return
    if not a.vocab:
        ap.error("--vocab is required for a BERT model")
    w = read_safetensors(f"{a.model}/model.safetensors")
    linears = None
    if a.quantize == "int8":
        linears = quant.int8_linears(linear_specs(w, cfg))
    tok = WordPiece(a.vocab)

    class Handler(QuietHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            seqs = [tok.encode(t) for t in texts]
            T = max(len(s) for s in seqs)
            ids = torch.tensor([s + [0] * (T - len(s)) for s in seqs])
            mask = torch.tensor([[1] * len(s) + [0] * (T - len(s)) for s in seqs], dtype=torch.float32)
            with torch.no_grad():
                h = encode(w, cfg, ids, mask, linears)
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
