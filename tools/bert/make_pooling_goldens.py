"""Goldens for bert.SentenceEmbeddings from sentence-transformers 3.2.1's Pooling
module: the shared minilm-tiny fixture's last hidden state on a right-padded batch of
its three sentences, pooled in every mode and in one combination (cls + max + mean,
concatenated), unnormalised; and a Dense module (saved to 2_Dense beside the goldens)
after mean pooling, then Normalize.

    ~/.cache/lumen/venv/bin/python tools/bert/make_pooling_goldens.py \
        ../shared/fixtures/minilm-tiny models/bert/testdata/minilm_pooling_st.json
"""
import json
import os
import sys

import sentence_transformers
import torch
from sentence_transformers.models import Pooling
from transformers import AutoModel

MODES = {
    "cls": {"pooling_mode_cls_token": True},
    "max": {"pooling_mode_max_tokens": True},
    "mean": {"pooling_mode_mean_tokens": True},
    "mean_sqrt_len_tokens": {"pooling_mode_mean_sqrt_len_tokens": True},
    "weightedmean": {"pooling_mode_weightedmean_tokens": True},
    "lasttoken": {"pooling_mode_lasttoken": True},
    "cls,max,mean": {"pooling_mode_cls_token": True, "pooling_mode_max_tokens": True},
}


def main(fixture, out):
    model = AutoModel.from_pretrained(fixture).eval()
    with open(fixture + "/golden.json") as f:
        sentences = json.load(f)["sentences"]
    T = max(len(s["ids"]) for s in sentences)
    ids = torch.tensor([s["ids"] + [0] * (T - len(s["ids"])) for s in sentences])
    mask = torch.tensor([[1] * len(s["ids"]) + [0] * (T - len(s["ids"])) for s in sentences])
    with torch.no_grad():
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
    E = hidden.shape[-1]
    res = {"sentence_transformers": sentence_transformers.__version__, "ids": ids.flatten().tolist(),
           "mask": mask.flatten().tolist(), "rows": len(sentences), "modes": {}}
    for name, flags in MODES.items():
        # Pooling's mean defaults on: off unless named.
        kwargs = {"pooling_mode_mean_tokens": False, **flags}
        if name == "cls,max,mean":
            kwargs["pooling_mode_mean_tokens"] = True
        p = Pooling(E, **kwargs)
        with torch.no_grad():
            v = p({"token_embeddings": hidden, "attention_mask": mask})["sentence_embedding"]
        res["modes"][name] = [round(float(x), 7) for x in v.flatten()]
    # A Dense module (96 → 32, tanh) after mean pooling, then Normalize: the
    # module saved as sentence-transformers saves it, beside the goldens.
    from sentence_transformers.models import Dense, Normalize
    torch.manual_seed(3)
    dense = Dense(E, 32, activation_function=torch.nn.Tanh())
    with torch.no_grad():
        feats = Pooling(E)({"token_embeddings": hidden, "attention_mask": mask})
        feats = Normalize()(dense(feats))
    res["dense_normalized"] = [round(float(x), 7) for x in feats["sentence_embedding"].flatten()]
    os.makedirs(os.path.join(os.path.dirname(out), "2_Dense"), exist_ok=True)
    dense.save(os.path.join(os.path.dirname(out), "2_Dense"))
    with open(out, "w") as f:
        json.dump(res, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
