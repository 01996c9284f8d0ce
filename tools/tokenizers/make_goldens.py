#!/usr/bin/env python3
"""Make the tokenizer goldens in tokenizer/testdata/ with Hugging Face `tokenizers`.

Every tokenizer.json here is made offline: trained with tokenizers' own trainers
(BPE, WordPiece, Unigram, WordLevel, with each pre-tokenizer), trained with
sentencepiece and converted by transformers' convert_slow_tokenizer (the
Precompiled + Metaspace pipelines of XLM-R and T5, the byte-fallback BPE of
Llama-2), or byte-level BPE with the split expressions of Llama-3, Qwen2 and
SmolLM. The shipped GPT-2 and BERT files (../shared/tokenizers) are checked too.

For each tokenizer the goldens record, for every text: ids, tokens, character
offsets, type ids, special-token and attention masks, word ids, sequence ids,
overflow, and decode with and without special tokens; pairs; truncation and
padding settings; and a 1 MB text by hash. Components are checked alone too
(normalize_str, pre_tokenize_str, decoder.decode).

Run with the pinned venv (tools/tokenizers/requirements.txt):
    python tools/tokenizers/make_goldens.py  [--shared ../shared]
"""
import argparse
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import sys
import tempfile

import tokenizers
from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models,
                        normalizers, pre_tokenizers, processors, trainers)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tokenizer", "testdata")

LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
GPT4O = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
         r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
         r"\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def unescape(s):
    s = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), s)
    return s.replace("\\n", "\n").replace("\\t", "\t")


def corpus_lines():
    with open(os.path.join(HERE, "corpus.txt"), encoding="utf-8") as f:
        return [unescape(l.rstrip("\n")) for l in f]


def test_texts(lines):
    texts = [l for l in lines if l]
    texts += [
        "", " ", "  ", "\t", "\n", "\r\n", " leading space", "trailing space ", "a  b   c    d",
        "tabs\tand\nnewlines\r\nmixed \t \n end", "CRLF line\r\nnext", "ALL CAPS SHOUTING", "x" * 120,
        "supercalifragilisticexpialidocious" * 4, "1234567890123", "3.14 + 2.71 = 5.85", "hello-world_foo.bar",
        "<s> in text </s>", "[CLS] written [SEP] in [MASK] text", "<|endoftext|>after<|endoftext|>",
        "a <mask> b<mask>c", "<|im_start|>user\nhi<|im_end|>", "İ", "ß", "ǅ", "ﬃ", "Σίσυφος ΣΊΣΥΦΟΣ",
        "\u0000nul\u0001ctrl\u007fdel", "\u00adsoft", "\u200b", "a\u0301", "\u0301lone mark", "🇫🇷", "👨‍👩‍👧",
        "日本", "中文English混合123", "ｶﾞ", "\ufeff", "\u2028\u2029sep", "▁already▁metaspace", "Ġalready",
        "<0x41>", "do not", "don't", " 's 're", "can't won't isn't",
    ]
    return texts


def pairs(lines):
    t = [l for l in lines if l]
    return [(t[0], t[1]), (t[9], t[10]), ("", "b"), ("a", ""), ("Question?", "Context " * 30),
            ("<s>x</s>", "[SEP]y")]


def big_text(lines, n_bytes=1 << 20):
    rnd = random.Random(1234)
    t = [l for l in lines if l]
    out, size = [], 0
    while size < n_bytes:
        s = rnd.choice(t)
        sep = rnd.choice([" ", "\n", "  ", "\t", ""])
        out.append(s + sep)
        size += len((s + sep).encode())
    return "".join(out)


MAX_OVERFLOW = 4


def enc_dict(e, depth=0):
    d = {
        "ids": e.ids, "tokens": e.tokens, "offsets": [list(o) for o in e.offsets], "type_ids": e.type_ids,
        "special_tokens_mask": e.special_tokens_mask, "attention_mask": e.attention_mask,
        "word_ids": [-1 if w is None else w for w in e.word_ids],
        "sequence_ids": [-1 if s is None else s for s in e.sequence_ids],
    }
    if e.overflowing:
        # The first few windows (and theirs, one level down) and the count: HF's
        # pair overflow is a cross product that grows fast.
        d["n_overflowing"] = len(e.overflowing)
        if depth < 2:
            d["overflowing"] = [enc_dict(o, depth + 1) for o in e.overflowing[:MAX_OVERFLOW]]
    return d


def ids_hash(ids):
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()


def goldens_for(tok, lines, name, settings=True):
    texts = test_texts(lines)
    g = {"tokenizers_version": tokenizers.__version__, "name": name, "single": [], "pair": [], "settings": []}
    for t in texts:
        row = {"text": t}
        for special in (True, False):
            e = tok.encode(t, add_special_tokens=special)
            if special:
                row["special"] = enc_dict(e)
            else:
                row["plain"] = {"ids": e.ids, "tokens": e.tokens, "offsets": [list(o) for o in e.offsets]}
        ids = row["special"]["ids"]
        row["decode"] = tok.decode(ids, skip_special_tokens=False)
        row["decode_skip"] = tok.decode(ids, skip_special_tokens=True)
        g["single"].append(row)
    for a, b in pairs(lines):
        e = tok.encode(a, b, add_special_tokens=True)
        g["pair"].append({"a": a, "b": b, "special": enc_dict(e),
                          "plain": enc_dict(tok.encode(a, b, add_special_tokens=False))})
    if settings:
        sample = [t for t in texts if t][:12] + ["", "x"]
        for trunc, pad in [
            ({"max_length": 8}, None),
            ({"max_length": 10, "stride": 3}, None),
            ({"max_length": 9, "stride": 2, "direction": "left"}, None),
            ({"max_length": 12, "strategy": "only_second"}, None),
            ({"max_length": 12, "strategy": "only_first"}, None),
            ({"max_length": 7, "strategy": "longest_first", "stride": 1}, None),
            (None, {}),
            (None, {"length": 40, "direction": "left", "pad_id": 1, "pad_type_id": 2, "pad_token": "<pad>"}),
            ({"max_length": 16}, {"pad_to_multiple_of": 8, "pad_id": 0, "pad_token": "[PAD]"}),
        ]:
            t2 = Tokenizer.from_str(tok.to_str())
            t2.no_truncation()
            t2.no_padding()
            if trunc:
                t2.enable_truncation(**trunc)
            if pad is not None:
                t2.enable_padding(**pad)
            s = {"truncation": trunc, "padding": pad, "single": [], "pair": [], "batch": None}
            for t in sample:
                try:
                    s["single"].append({"text": t, "special": enc_dict(t2.encode(t))})
                except BaseException as ex:  # noqa: BLE001 - the error (Rust panics too) is the golden
                    s["single"].append({"text": t, "error": str(ex)})
            for a, b in pairs(lines)[:4] + [("Question?", "Context " * 6)]:
                try:
                    s["pair"].append({"a": a, "b": b, "special": enc_dict(t2.encode(a, b))})
                except BaseException as ex:  # noqa: BLE001
                    s["pair"].append({"a": a, "b": b, "error": str(ex)})
            try:
                s["batch"] = {"texts": sample, "encodings": [enc_dict(e) for e in t2.encode_batch(sample)]}
            except BaseException as ex:  # noqa: BLE001
                s["batch"] = {"texts": sample, "error": str(ex)}
            g["settings"].append(s)
    big = big_text(lines)
    e = tok.encode(big)
    g["big"] = {"seed": 1234, "bytes": len(big.encode()), "n": len(e.ids), "ids_sha256": ids_hash(e.ids),
                "offsets_sha256": ids_hash([x for o in e.offsets for x in o]), "head": e.ids[:64], "tail": e.ids[-64:]}
    return g


def save(name, tok, lines, settings=True, copy_json=True, extra=None):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    if copy_json:
        tok.save(os.path.join(d, "tokenizer.json"))
    g = goldens_for(tok, lines, name, settings)
    if extra:
        g.update(extra)
    write_gz(os.path.join(d, "golden.json.gz"), g)
    print(name, os.path.getsize(os.path.join(d, "golden.json.gz")) // 1024, "KiB", file=sys.stderr)


def write_gz(path, obj):
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
    with open(path, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as z:
        z.write(data)


def train(tok, trainer, lines):
    rep = [l for l in lines if l] * 3
    tok.train_from_iterator(rep, trainer)
    return tok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    args = ap.parse_args()
    lines = corpus_lines()
    if os.path.isdir(OUT):
        for n in os.listdir(OUT):
            if os.path.isdir(os.path.join(OUT, n)) and n != "fuzz":
                shutil.rmtree(os.path.join(OUT, n))
    os.makedirs(OUT, exist_ok=True)
    specials_bert = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    # --- WordPiece, BERT's pipeline.
    t = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    t.normalizer = normalizers.BertNormalizer(lowercase=True)
    t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    train(t, trainers.WordPieceTrainer(vocab_size=900, special_tokens=specials_bert), lines)
    cls, sep = t.token_to_id("[CLS]"), t.token_to_id("[SEP]")
    t.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    t.decoder = decoders.WordPiece()
    save("wordpiece-bert", t, lines)

    # --- WordPiece, cased, accents stripped, Whitespace, BertProcessing, no cleanup.
    t = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=20))
    t.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents()])
    t.pre_tokenizer = pre_tokenizers.Whitespace()
    train(t, trainers.WordPieceTrainer(vocab_size=700, special_tokens=specials_bert), lines)
    t.post_processor = processors.BertProcessing(("[SEP]", t.token_to_id("[SEP]")), ("[CLS]", t.token_to_id("[CLS]")))
    t.decoder = decoders.WordPiece(cleanup=False)
    t.add_tokens([AddedToken("naïve", normalized=True), AddedToken("GoLang", single_word=True, normalized=False)])
    save("wordpiece-whitespace", t, lines)

    # --- WordPiece with Split in every behaviour, and Punctuation, Digits, CharDelimiterSplit.
    for i, (pre, norm) in enumerate([
        (pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(r"\d+"), "merged_with_previous"),
                                  pre_tokenizers.Split(" ", "removed"),
                                  pre_tokenizers.Split(Regex(r"[,.;:]"), "merged_with_next")]), None),
        (pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(r"\s+"), "contiguous", invert=True),
                                  pre_tokenizers.Punctuation("isolated")]), normalizers.Lowercase()),
        (pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation("contiguous"),
                                  pre_tokenizers.Digits(individual_digits=True)]),
         normalizers.Sequence([normalizers.Nmt(), normalizers.NFKC(), normalizers.Strip(),
                               normalizers.Replace(Regex(r"[0-9]{4,}"), "<num>"), normalizers.Replace("''", '"')])),
        (pre_tokenizers.Sequence([pre_tokenizers.CharDelimiterSplit(" "), pre_tokenizers.Digits(individual_digits=False),
                                  pre_tokenizers.Punctuation("merged_with_previous")]),
         normalizers.Sequence([normalizers.NFKD(), normalizers.Lowercase(), normalizers.Strip(left=False, right=True),
                               normalizers.Prepend("_")])),
        (pre_tokenizers.Sequence([pre_tokenizers.UnicodeScripts(), pre_tokenizers.Whitespace(),
                                  pre_tokenizers.Punctuation("removed")]), normalizers.NFC()),
    ]):
        t = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        if norm is not None:
            t.normalizer = norm
        t.pre_tokenizer = pre
        train(t, trainers.WordPieceTrainer(vocab_size=600, special_tokens=specials_bert), lines)
        t.decoder = decoders.WordPiece()
        save(f"wordpiece-split{i}", t, lines, settings=(i == 0))

    # --- BPE, RoBERTa's byte-level pipeline.
    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    train(t, trainers.BpeTrainer(vocab_size=800, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                                 initial_alphabet=pre_tokenizers.ByteLevel.alphabet()), lines)
    t.add_special_tokens([AddedToken("<mask>", lstrip=True, normalized=False)])
    t.post_processor = processors.RobertaProcessing(("</s>", t.token_to_id("</s>")), ("<s>", t.token_to_id("<s>")),
                                                    trim_offsets=True, add_prefix_space=True)
    t.decoder = decoders.ByteLevel()
    save("bpe-roberta", t, lines)

    # --- BPE, GPT-2's pipeline without prefix space, untrimmed offsets.
    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False)
    train(t, trainers.BpeTrainer(vocab_size=700, special_tokens=["<|endoftext|>"],
                                 initial_alphabet=pre_tokenizers.ByteLevel.alphabet()), lines)
    t.post_processor = processors.ByteLevel(trim_offsets=True, add_prefix_space=False)
    t.decoder = decoders.ByteLevel()
    t.add_tokens([AddedToken(" lumen", rstrip=True), AddedToken("<tab>", lstrip=True, rstrip=True, single_word=True)])
    save("bpe-bytelevel", t, lines)

    # --- Byte-level BPE with the split expressions of Llama-3, Qwen2 and GPT-4o-style, SmolLM's digits.
    for name, pre, norm, extra in [
        ("bpe-llama3", pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3), "isolated"),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
         None, ["<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"]),
        ("bpe-qwen2", pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2), "isolated"),
                                                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
         normalizers.NFC(), ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]),
        ("bpe-gpt4o", pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(GPT4O), "isolated"),
                                                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
         None, ["<|endoftext|>"]),
        ("bpe-smollm", pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]),
         None, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]),
    ]:
        t = Tokenizer(models.BPE(ignore_merges=(name == "bpe-llama3")))
        if norm is not None:
            t.normalizer = norm
        t.pre_tokenizer = pre
        train(t, trainers.BpeTrainer(vocab_size=900, special_tokens=extra,
                                     initial_alphabet=pre_tokenizers.ByteLevel.alphabet()), lines)
        if name == "bpe-llama3":
            bos = t.token_to_id("<|begin_of_text|>")
            t.post_processor = processors.Sequence([
                processors.ByteLevel(trim_offsets=False),
                processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
                                              special_tokens=[("<|begin_of_text|>", bos)])])
        else:
            t.post_processor = processors.ByteLevel(trim_offsets=False)
        t.decoder = decoders.ByteLevel()
        save(name, t, lines, settings=(name == "bpe-llama3"))

    # --- BPE with an end-of-word suffix, unknown tokens fused, a small alphabet.
    t = Tokenizer(models.BPE(unk_token="<unk>", end_of_word_suffix="</w>", fuse_unk=True))
    t.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    t.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    train(t, trainers.BpeTrainer(vocab_size=500, special_tokens=["<unk>"], limit_alphabet=60, end_of_word_suffix="</w>"),
          lines)
    t.decoder = decoders.BPEDecoder(suffix="</w>")
    save("bpe-suffix", t, lines, settings=False)

    # --- BPE with a continuing-subword prefix, unknowns not fused.
    t = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##"))
    t.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False, handle_chinese_chars=True)
    t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    train(t, trainers.BpeTrainer(vocab_size=600, special_tokens=specials_bert, limit_alphabet=80,
                                 continuing_subword_prefix="##"), lines)
    t.decoder = decoders.WordPiece()
    save("bpe-prefix", t, lines, settings=False)

    # --- Unigram trained by tokenizers, Metaspace in each prepend scheme.
    for scheme, split in [("always", True), ("first", True), ("never", False)]:
        t = Tokenizer(models.Unigram())
        t.normalizer = normalizers.NFKC()
        t.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme=scheme, split=split)
        train(t, trainers.UnigramTrainer(vocab_size=700, special_tokens=["<pad>", "<unk>", "<s>", "</s>"],
                                         unk_token="<unk>"), lines)
        t.decoder = decoders.Metaspace(prepend_scheme=scheme, split=split)
        t.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B:1 </s>:1",
                                                         special_tokens=[("</s>", t.token_to_id("</s>"))])
        save(f"unigram-metaspace-{scheme}", t, lines, settings=(scheme == "first"))

    # --- WordLevel, UnicodeScripts.
    t = Tokenizer(models.WordLevel(unk_token="<unk>"))
    t.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.StripAccents(), normalizers.Lowercase()])
    t.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.UnicodeScripts(), pre_tokenizers.WhitespaceSplit()])
    train(t, trainers.WordLevelTrainer(vocab_size=400, special_tokens=["<unk>"]), lines)
    save("wordlevel-scripts", t, lines, settings=False)

    write_gz(os.path.join(OUT, "big.json.gz"), {"seed": 1234, "text": big_text(lines)})
    sentencepiece_goldens(lines)
    shipped_goldens(lines, args.shared)
    component_goldens(lines)


def sentencepiece_goldens(lines):
    import sentencepiece as spm
    from transformers import (AlbertTokenizerFast, LlamaTokenizerFast, T5TokenizerFast,
                              XLMRobertaTokenizerFast)
    tmp = tempfile.mkdtemp()
    text = os.path.join(tmp, "corpus.txt")
    with open(text, "w", encoding="utf-8") as f:
        for _ in range(3):
            f.write("\n".join(l for l in lines if l) + "\n")
    common = dict(input=text, hard_vocab_limit=False, character_coverage=0.9995, num_threads=1, minloglevel=2, seed_sentencepiece_size=20000)

    def sp(name, **kw):
        prefix = os.path.join(tmp, name)
        spm.SentencePieceTrainer.train(model_prefix=prefix, **common, **kw)
        return prefix + ".model"

    # Unigram with nmt_nfkc (XLM-R's and T5's normalisation), converted to Precompiled + Metaspace.
    uni = sp("uni", model_type="unigram", vocab_size=600, normalization_rule_name="nmt_nfkc")
    save("sp-xlmr", XLMRobertaTokenizerFast(vocab_file=uni, from_slow=True).backend_tokenizer, lines)
    save("sp-t5", T5TokenizerFast(vocab_file=uni, from_slow=True, extra_ids=4).backend_tokenizer, lines, settings=False)
    save("sp-albert", AlbertTokenizerFast(vocab_file=uni, from_slow=True).backend_tokenizer, lines, settings=False)
    # BPE with byte_fallback (Llama-2's), legacy and new Metaspace forms.
    bpe = sp("bpe", model_type="bpe", vocab_size=700, byte_fallback=True, normalization_rule_name="identity",
             split_digits=True, allow_whitespace_only_pieces=True, remove_extra_whitespaces=False)
    save("sp-llama-legacy", LlamaTokenizerFast(vocab_file=bpe, from_slow=True, legacy=True).backend_tokenizer, lines)
    save("sp-llama", LlamaTokenizerFast(vocab_file=bpe, from_slow=True, legacy=False).backend_tokenizer, lines,
         settings=False)
    # Unigram with byte_fallback.
    ubf = sp("ubf", model_type="unigram", vocab_size=700, byte_fallback=True, normalization_rule_name="nfkc")
    save("sp-unigram-bytefallback", LlamaTokenizerFast(vocab_file=ubf, from_slow=True, legacy=False).backend_tokenizer,
         lines, settings=False)
    shutil.rmtree(tmp)


def shipped_goldens(lines, shared):
    bert = os.path.join(shared, "tokenizers", "bert-base-uncased", "tokenizer.json")
    t = Tokenizer.from_file(bert)
    t.no_padding()
    t.no_truncation()
    save("shipped-bert", t, lines, copy_json=False, extra={"path": "tokenizers/bert-base-uncased"})
    from transformers import GPT2TokenizerFast
    g = os.path.join(shared, "tokenizers", "gpt2")
    t = GPT2TokenizerFast(vocab_file=os.path.join(g, "vocab.json"), merges_file=os.path.join(g, "merges.txt"))
    save("shipped-gpt2", t.backend_tokenizer, lines, copy_json=False, extra={"path": "tokenizers/gpt2"})


def component_goldens(lines):
    texts = test_texts(lines)
    out = {"normalizers": [], "pre_tokenizers": [], "decoders": []}
    norms = [
        normalizers.BertNormalizer(), normalizers.BertNormalizer(lowercase=False, clean_text=False),
        normalizers.NFC(), normalizers.NFD(), normalizers.NFKC(), normalizers.NFKD(), normalizers.Lowercase(),
        normalizers.Strip(), normalizers.Strip(left=True, right=False), normalizers.StripAccents(), normalizers.Nmt(),
        normalizers.Replace(Regex(r"\s+"), " "), normalizers.Replace(" ", "▁"), normalizers.Prepend("▁"),
        normalizers.ByteLevel(), normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(), normalizers.Lowercase()]),
    ]
    for n in norms:
        t = Tokenizer(models.WordLevel(vocab={"a": 0}, unk_token="a"))
        t.normalizer = n
        spec = json.loads(t.to_str())["normalizer"]
        out["normalizers"].append({"normalizer": spec, "cases": [[x, n.normalize_str(x)] for x in texts]})
    pres = [
        pre_tokenizers.BertPreTokenizer(), pre_tokenizers.Whitespace(), pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.ByteLevel(), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        pre_tokenizers.Metaspace(), pre_tokenizers.Metaspace(prepend_scheme="never", split=False),
        pre_tokenizers.Punctuation(), pre_tokenizers.Digits(), pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.UnicodeScripts(), pre_tokenizers.CharDelimiterSplit("-"),
        pre_tokenizers.Split(Regex(LLAMA3), "isolated"), pre_tokenizers.Split(Regex(QWEN2), "isolated"),
        pre_tokenizers.Split(Regex(GPT4O), "isolated"), pre_tokenizers.Split(Regex(r"\s+"), "removed", invert=True),
        pre_tokenizers.Split(Regex(r"[aeiou]"), "merged_with_next"), pre_tokenizers.Split("o", "merged_with_previous"),
        pre_tokenizers.Split(Regex(r"\p{N}"), "contiguous"),
    ]
    for p in pres:
        t = Tokenizer(models.WordLevel(vocab={"a": 0}, unk_token="a"))
        t.pre_tokenizer = p
        spec = json.loads(t.to_str())["pre_tokenizer"]
        out["pre_tokenizers"].append({"pre_tokenizer": spec,
                                      "cases": [[x, [[s, list(o)] for s, o in p.pre_tokenize_str(x)]] for x in texts]})
    toks = [
        ["Ġhello", "Ġworld", "!", "Ċ", "Ã©", "Ġ", "ðŁĺ", "Ģ", "ðŁ"],
        ["hello", "##world", "!", "don", "'", "t", "do", "not", "[UNK]", "##s", ".", "?", "a", "'", "s"],
        ["▁Hello", "▁", "wor", "ld", "▁▁", "<0xE2>", "<0x96>", "<0x81>", "<0xFF>", "<0x41>", "x"],
        ["<pad>", "h", "h", "e", "<pad>", "l", "l", "<pad>", "l", "o", "|", "w", "o", "|", "|", "r"],
        ["hel", "lo</w>", "wor", "ld</w>", "!</w>"],
        ["  a  ", " b", "c  ", "   "],
    ]
    decs = [
        decoders.ByteLevel(), decoders.WordPiece(), decoders.WordPiece(prefix="##", cleanup=False),
        decoders.Metaspace(), decoders.Metaspace(prepend_scheme="never"), decoders.BPEDecoder(),
        decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 1), decoders.Replace("▁", " "),
        decoders.Replace(Regex(r"#+"), "-"), decoders.CTC(), decoders.CTC(cleanup=False),
        decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]),
    ]
    for d in decs:
        t = Tokenizer(models.WordLevel(vocab={"a": 0}, unk_token="a"))
        t.decoder = d
        spec = json.loads(t.to_str())["decoder"]
        out["decoders"].append({"decoder": spec, "cases": [[x, d.decode(x)] for x in toks]})
    write_gz(os.path.join(OUT, "components.json.gz"), out)


if __name__ == "__main__":
    main()
