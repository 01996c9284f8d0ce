"""Goldens for the encoder family (package bert) from Hugging Face transformers 4.46.3:
for each architecture (bert, roberta, xlm-roberta, camembert, distilbert, mpnet) and each
head (MaskedLM, SequenceClassification, TokenClassification, QuestionAnswering) a small
random-initialised checkpoint (float16 on disk, run in float32 from those values) with a
tokenizer from tokenizer/testdata, written to models/bert/testdata/encoders/ARCH-HEAD/
with golden.json (and mpnet_buckets.json, MPNet's relative position buckets): the texts, their ids (a right-padded batch of two texts and a pair),
the last hidden state of the real tokens, the head's outputs, and what transformers'
pipelines make of them (fill-mask top 5, NER with the "simple" aggregation). For mpnet,
sentence-transformers' mean-pooled, normalised embeddings; for xlm-roberta, a one-logit
head and CrossEncoder.predict's scores (bge-reranker style).

    ~/.cache/lumen/venv/bin/python tools/bert/make_encoder_goldens.py tokenizer/testdata models/bert/testdata/encoders
"""
import copy
import json
import os
import shutil
import sys
import tempfile
import zlib

import sentence_transformers
import torch
import transformers
from sentence_transformers import CrossEncoder, SentenceTransformer
from sentence_transformers import models as st_models
from transformers import AutoConfig, AutoModelForMaskedLM, AutoModelForQuestionAnswering, \
    AutoModelForSequenceClassification, AutoModelForTokenClassification, PreTrainedTokenizerFast, pipeline

TEXTS = ["The quick brown fox jumps over the lazy dog near the river bank.",
         "Hello world!"]
PAIR = ("Where does the fox jump?", "The quick brown fox jumps over the lazy dog near the river bank.")
NER_TEXT = "My name is Wolfgang and I live in Berlin near the river Spree."
HEADS = {"mlm": AutoModelForMaskedLM, "seq": AutoModelForSequenceClassification,
         "tok": AutoModelForTokenClassification, "qa": AutoModelForQuestionAnswering}
NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]

COMMON = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
              hidden_act="gelu", initializer_range=0.5)


def tokenizers(src):
    """The tokenizer.json of each architecture, with its specials."""
    wp = json.load(open(os.path.join(src, "wordpiece-bert/tokenizer.json")))
    # MPNet's tokenizer: BERT's normalisation and WordPiece with RoBERTa's specials and
    # template (<s> A </s></s> B </s>), as MPNetTokenizerFast builds it.
    mp = copy.deepcopy(wp)
    rename = {"[PAD]": "<s>", "[UNK]": "<pad>", "[CLS]": "</s>", "[SEP]": "<unk>", "[MASK]": "<mask>"}
    vocab = mp["model"]["vocab"]
    for old, new in rename.items():
        vocab[new] = vocab.pop(old)
    mp["model"]["unk_token"] = "<unk>"
    for a in mp["added_tokens"]:
        a["content"] = rename[a["content"]]
        if a["content"] == "<mask>":
            a["lstrip"] = True
    mp["post_processor"] = {"type": "RobertaProcessing", "sep": ["</s>", vocab["</s>"]], "cls": ["<s>", vocab["<s>"]],
                            "trim_offsets": True, "add_prefix_space": False}
    mp["padding"] = None
    mp["truncation"] = None
    bert_sp = dict(cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]", unk_token="[UNK]", mask_token="[MASK]")
    rob_sp = dict(bos_token="<s>", eos_token="</s>", cls_token="<s>", sep_token="</s>", pad_token="<pad>",
                  unk_token="<unk>", mask_token="<mask>")
    return {
        "wordpiece": (wp, bert_sp),
        "mpnet": (mp, rob_sp),
        "roberta": (json.load(open(os.path.join(src, "bpe-roberta/tokenizer.json"))), rob_sp),
        "xlmr": (json.load(open(os.path.join(src, "sp-xlmr/tokenizer.json"))), rob_sp),
    }


def arch_configs(toks):
    def size(tok):
        t, v = tok[0], tok[0]["model"]["vocab"]
        ids = list(v.values()) if isinstance(v, dict) else [len(v) - 1]
        return max(ids + [a["id"] for a in t["added_tokens"]]) + 1
    out = {}
    out["bert"] = ("wordpiece", dict(model_type="bert", type_vocab_size=2, max_position_embeddings=64, layer_norm_eps=1e-12,
                                     pad_token_id=0))
    for name, tok in (("roberta", "roberta"), ("xlm-roberta", "xlmr"), ("camembert", "xlmr")):
        out[name] = (tok, dict(model_type=name, type_vocab_size=1, max_position_embeddings=66, layer_norm_eps=1e-5,
                               pad_token_id=1, bos_token_id=0, eos_token_id=2))
    out["mpnet"] = ("mpnet", dict(model_type="mpnet", max_position_embeddings=66, layer_norm_eps=1e-5, pad_token_id=1,
                                  bos_token_id=0, eos_token_id=2, relative_attention_num_buckets=32))
    out["distilbert"] = ("wordpiece", dict(model_type="distilbert", max_position_embeddings=64, pad_token_id=0))
    res = {}
    for name, (tok, kw) in out.items():
        kw = dict(kw, vocab_size=size(toks[tok]))
        if name == "distilbert":
            kw.update(dim=COMMON["hidden_size"], n_layers=COMMON["num_hidden_layers"], n_heads=COMMON["num_attention_heads"],
                      hidden_dim=COMMON["intermediate_size"], activation="gelu", initializer_range=0.5)
        else:
            kw.update(COMMON)
        res[name] = (tok, kw)
    return res


def tolist(t, nd=6):
    return [round(float(x), nd) for x in t.flatten().tolist()]


def main(tok_src, out_root):
    toks = tokenizers(tok_src)
    os.makedirs(out_root, exist_ok=True)
    from transformers.models.mpnet.modeling_mpnet import MPNetEncoder
    rel = torch.arange(-700, 701)
    with open(os.path.join(out_root, "mpnet_buckets.json"), "w") as f:  # MPNet's bucket of key - query = -700 … 700
        json.dump(MPNetEncoder.relative_position_bucket(rel, num_buckets=32, max_distance=128).tolist(), f)
    for arch, (tok_name, kw) in arch_configs(toks).items():
        tok_json, specials = toks[tok_name]
        for head, cls in HEADS.items():
            torch.manual_seed(zlib.crc32(f"{arch}-{head}".encode()))
            kw2 = dict(kw)
            model_type = kw2.pop("model_type")
            if head == "seq":
                n = 1 if arch == "xlm-roberta" else 3
                kw2.update(num_labels=n, id2label={i: f"CLASS_{i}" for i in range(n)},
                           label2id={f"CLASS_{i}": i for i in range(n)})
            if head == "tok":
                kw2.update(num_labels=len(NER_LABELS), id2label=dict(enumerate(NER_LABELS)),
                           label2id={l: i for i, l in enumerate(NER_LABELS)})
            cfg = AutoConfig.for_model(model_type, **kw2)
            model = cls.from_config(cfg).eval()
            with torch.no_grad():  # HF zeroes biases and sets LayerNorms to 1: perturb them so they are checked
                for n, p in model.named_parameters():
                    if n.endswith("bias") or "LayerNorm" in n or "layer_norm" in n:
                        p.add_(torch.randn_like(p) * 0.1)
            model = model.half().float()  # the values float16 can hold, as written below
            d = os.path.join(out_root, f"{arch}-{head}")
            shutil.rmtree(d, ignore_errors=True)
            model.half().save_pretrained(d, safe_serialization=True)
            model.float()
            with open(os.path.join(d, "tokenizer.json"), "w") as f:
                json.dump(tok_json, f, ensure_ascii=False)
            pad_positions = model_type in ("roberta", "xlm-roberta", "camembert", "mpnet")  # positions from pad + 1
            tk = PreTrainedTokenizerFast(tokenizer_file=os.path.join(d, "tokenizer.json"),
                                         model_max_length=kw["max_position_embeddings"] - (2 if pad_positions else 0),
                                         **specials)
            if model_type != "bert":  # no token types
                tk.model_input_names = ["input_ids", "attention_mask"]
            tk.save_pretrained(d)
            with open(os.path.join(d, "tokenizer.json"), "w") as f:  # the file as the engine reads it
                json.dump(tok_json, f, ensure_ascii=False)
            g = {"transformers": transformers.__version__, "arch": arch, "head": head}
            texts = list(TEXTS)
            if head == "mlm":
                texts = [TEXTS[0].replace("fox", tk.mask_token), f"Hello {tk.mask_token}!"]
            enc = tk(texts, padding=True, return_tensors="pt")
            pair = tk(*PAIR, return_tensors="pt")
            with torch.no_grad():
                out = model(**enc, output_hidden_states=True)
                pout = model(**pair, output_hidden_states=True)
            mask = enc["attention_mask"]
            g["texts"] = texts
            g["ids"] = enc["input_ids"].tolist()
            g["mask"] = mask.tolist()
            g["pair"] = list(PAIR)
            g["pair_ids"] = pair["input_ids"][0].tolist()
            if "token_type_ids" in pair:
                g["pair_types"] = pair["token_type_ids"][0].tolist()
            hid = out.hidden_states[-1]
            g["hidden"] = [tolist(hid[b, : int(mask[b].sum())]) for b in range(len(texts))]
            g["pair_hidden"] = tolist(pout.hidden_states[-1][0])
            if head == "mlm":
                rows = (enc["input_ids"] == tk.mask_token_id).nonzero().tolist()
                g["mask_rows"] = rows
                g["mask_logits"] = [tolist(out.logits[b, t], 5) for b, t in rows]
                fm = pipeline("fill-mask", model=model, tokenizer=tk, top_k=5)
                g["fill_mask"] = [[{"token": r["token"], "score": round(float(r["score"]), 6), "token_str": r["token_str"],
                                    "sequence": r["sequence"]} for r in fm(t)] for t in texts]
            elif head == "seq":
                g["logits"] = tolist(out.logits)
                g["pair_logits"] = tolist(pout.logits)
                if arch == "xlm-roberta":
                    ce = CrossEncoder(d, max_length=16)
                    docs = [PAIR[1], "Hello world!", "The dog sleeps."]
                    g["rerank"] = {"query": PAIR[0], "documents": docs, "max_length": 16,
                                   "scores": [round(float(s), 7) for s in ce.predict([(PAIR[0], x) for x in docs])]}
            elif head == "tok":
                g["logits"] = [tolist(out.logits[b, : int(mask[b].sum())]) for b in range(len(texts))]
                ner = pipeline("ner", model=model, tokenizer=tk, aggregation_strategy="simple")
                g["ner_text"] = NER_TEXT
                g["ner"] = [{"entity_group": e["entity_group"], "score": round(float(e["score"]), 6), "word": e["word"],
                             "start": e["start"], "end": e["end"]} for e in ner(NER_TEXT)]
            elif head == "qa":
                g["start_logits"] = tolist(pout.start_logits)
                g["end_logits"] = tolist(pout.end_logits)
            if arch == "mpnet" and head == "qa":
                st = SentenceTransformer(modules=[st_models.Transformer(d), st_models.Pooling(32, "mean"), st_models.Normalize()])
                g["st_embeddings"] = [tolist(torch.tensor(e)) for e in st.encode(TEXTS)]
                g["sentence_transformers"] = sentence_transformers.__version__
            with open(os.path.join(d, "golden.json"), "w") as f:
                json.dump(g, f)
            print(d, "ok")


if __name__ == "__main__":
    main(*sys.argv[1:])
