"""A tiny random Llama GGUF (2 layers, 64 wide, 4 query / 2 key-value heads, a
262-token byte-level vocabulary, Q4_1 and Q8_0 weights, a ChatML template) and
llama.cpp's logits and greedy tokens on it, so that models/llama is checked against
llama.cpp on every machine, without the 98 MB SmolLM2 file.

    ~/.cache/lumen/venv-llamacpp/bin/python tools/llama/make_tiny.py models/llama/testdata
    (gguf==0.19.0, numpy, llama-cpp-python==0.3.36)
"""
import json
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf import GGUFWriter
from gguf.quants import quantize

CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
          "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def byte_chars():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]


def main(out):
    rng = np.random.default_rng(20261207)
    E, F, H, KV, L = 64, 96, 4, 2, 2
    D = E // H
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    merges = ["Ġ t", "h e", "Ġt he", "Ġ a", "i n"]
    tokens = special + byte_chars() + [m.replace(" ", "") for m in merges]
    types = [3] * len(special) + [1] * (len(tokens) - len(special))
    V = len(tokens)
    path = os.path.join(out, "tiny.gguf")
    w = GGUFWriter(path, "llama")
    w.add_name("lumen tiny llama")
    w.add_block_count(L)
    w.add_context_length(256)
    w.add_embedding_length(E)
    w.add_feed_forward_length(F)
    w.add_head_count(H)
    w.add_head_count_kv(KV)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(D)
    w.add_file_type(3)
    w.add_vocab_size(V)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(False)
    w.add_chat_template(CHATML)

    def mat(name, rows, cols, t, scale=0.15):
        x = (rng.standard_normal((rows, cols)) * scale).astype(np.float32)
        w.add_tensor(name, quantize(x, t), raw_dtype=t)

    def vec(name, n):
        w.add_tensor(name, (1 + 0.1 * rng.standard_normal(n)).astype(np.float32))

    mat("token_embd.weight", V, E, Q.Q8_0, 0.5)
    vec("output_norm.weight", E)
    for l in range(L):
        p = f"blk.{l}."
        vec(p + "attn_norm.weight", E)
        mat(p + "attn_q.weight", E, E, Q.Q4_1)
        mat(p + "attn_k.weight", KV * D, E, Q.Q4_1)
        mat(p + "attn_v.weight", KV * D, E, Q.Q4_1)
        mat(p + "attn_output.weight", E, E, Q.Q4_1)
        vec(p + "ffn_norm.weight", E)
        mat(p + "ffn_gate.weight", F, E, Q.Q4_1)
        mat(p + "ffn_up.weight", F, E, Q.Q4_1)
        mat(p + "ffn_down.weight", E, F, Q.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    from llama_cpp import Llama
    llm = Llama(model_path=path, n_ctx=256, n_threads=1, logits_all=True, verbose=False, type_k=0, type_v=0)
    cases = []
    for text in ["the theatre in the attic", "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", "0123 ü€🦙"]:
        ids = llm.tokenize(text.encode(), add_bos=False, special=True)
        llm.reset()
        llm.eval(ids)
        logits = [float(x) for x in llm.scores[len(ids) - 1][:V]]
        gen = []
        for _ in range(16):
            nxt = int(np.argmax(llm.scores[llm.n_tokens - 1][:V]))
            gen.append(nxt)
            llm.eval([nxt])
        cases.append({"text": text, "ids": [int(i) for i in ids], "logits": logits, "greedy": gen})
    with open(os.path.join(out, "tiny_llamacpp.json"), "w") as f:
        json.dump({"llama_cpp_python": "0.3.36", "cases": cases}, f, ensure_ascii=False)
        f.write("\n")
    print(path, os.path.getsize(path), "bytes;", [len(c["ids"]) for c in cases])


if __name__ == "__main__":
    main(sys.argv[1])
