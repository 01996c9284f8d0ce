"""Goldens for bert.Model.Rerank from sentence-transformers 3.2.1's CrossEncoder: the
shared bert-tiny-cls fixture with its classifier replaced by a random one-logit head
(written to models/bert/testdata/cross_head.safetensors; the Go test assembles the same
checkpoint), the bert-base-uncased tokenizer, and CrossEncoder.predict's scores
(sigmoid of the logit) for a query against documents, one long enough to be truncated.

    ~/.cache/lumen/venv/bin/python tools/bert/make_rerank_goldens.py \
        ../shared/fixtures/bert-tiny-cls ../shared/tokenizers/bert-base-uncased models/bert/testdata
"""
import json
import os
import shutil
import sys
import tempfile

import sentence_transformers
import torch
from safetensors.torch import save_file
from sentence_transformers import CrossEncoder
from transformers import BertForSequenceClassification

QUERY = "How many people live in Berlin?"
DOCS = [
    "Berlin has a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers.",
    "New York City is famous for the Metropolitan Museum of Art.",
    "Berlin is well known for its museums.",
    "The weather is lovely today.",
    " ".join(["Berlin's districts and boroughs have grown over the centuries."] * 20),  # past 128 tokens
]


def main(fixture, tok, out):
    torch.manual_seed(7)
    model = BertForSequenceClassification.from_pretrained(fixture, torch_dtype=torch.float32).eval()
    head = torch.nn.Linear(model.config.hidden_size, 1)
    torch.nn.init.normal_(head.weight, std=0.5)
    model.classifier = head
    model.config.num_labels = 1
    model.config.id2label, model.config.label2id = {0: "LABEL_0"}, {"LABEL_0": 0}
    save_file({"classifier.weight": head.weight.detach().contiguous(), "classifier.bias": head.bias.detach().contiguous()},
              os.path.join(out, "cross_head.safetensors"))
    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d, safe_serialization=True)
        for f in os.listdir(tok):
            shutil.copy(os.path.join(tok, f), d)
        ce = CrossEncoder(d, max_length=model.config.max_position_embeddings)
        scores = ce.predict([(QUERY, doc) for doc in DOCS])
    with open(os.path.join(out, "rerank_st.json"), "w") as f:
        json.dump({"sentence_transformers": sentence_transformers.__version__, "query": QUERY, "documents": DOCS,
                   "scores": [round(float(s), 7) for s in scores]}, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:])
