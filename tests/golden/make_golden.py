#!/usr/bin/python3
"""Golden values for the GPT-2 and BERT architectures (tests/model/*_test.cpp).

Rerun from the repository root:   python3 tests/golden/make_golden.py
(the Python that has python3-torch; with pyenv shims in front, /usr/bin/python3). The output is
deterministic (seeded), so rerunning rewrites the same bytes.

This is an independent reference: plain torch written from the Hugging Face semantics
(GPT2LMHeadModel, BertModel), not a port of our C++. It computes in float64 from the float32
weights it stores, so the C++ float32 forward differs only by float32 rounding.

Writes, for each model, a Hugging Face checkpoint directory (config.json + model.safetensors,
Hugging Face names and layouts: GPT-2 Conv1D weights [in, out] under "transformer.", BERT
nn.Linear weights [out, in] under "bert.") and expected.safetensors holding "input_ids" (I64)
and the reference output ("logits" [B, T, vocab] for GPT-2, "hidden" [B, T, hidden] for BERT), plus
"block.<i>": the hidden states after block i, which the block-wise interface is checked against.
Weights are deliberately larger than HF's init (std 0.15, non-trivial LayerNorm affine and
biases) so a wrong transpose, missing bias or wrong activation changes the output visibly.
No safetensors package: the format is small enough to write by hand (write_safetensors below).
"""
import json
import math
import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH, TIME = 2, 16

_DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def write_safetensors(path, tensors):
    """tensors: list of (name, tensor) in file order. Header padded with spaces to 8 bytes."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors:
        t = t.detach().contiguous().cpu()
        data = t.numpy().tobytes()  # host order; main() checks it is little-endian
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def write_checkpoint(name, config, tensors, ids, output_name, output, blocks=()):
    """blocks: the hidden states after each transformer block, stored as "block.<i>" [B, T, hidden]."""
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(d, "model.safetensors"), tensors)
    write_safetensors(os.path.join(d, "expected.safetensors"),
                      [("input_ids", ids), (output_name, output.to(torch.float32))] +
                      [(f"block.{i}", b.to(torch.float32)) for i, b in enumerate(blocks)])


class Init:
    """Seeded float32 weights; the reference reads them back as float64."""

    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)
        self.tensors = []  # (checkpoint name, float32 tensor), in checkpoint order

    def normal(self, name, shape, std, mean=0.0):
        t = (torch.randn(shape, generator=self.g, dtype=torch.float64) * std + mean).to(torch.float32)
        self.tensors.append((name, t))
        return t.double()

    def ln(self, prefix, dim, w="weight", b="bias"):
        return (self.normal(f"{prefix}.{w}", [dim], 0.1, 1.0), self.normal(f"{prefix}.{b}", [dim], 0.1))


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)  # biased variance, as nn.LayerNorm
    return (x - mu) / torch.sqrt(var + eps) * w + b


def gelu_erf(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def gelu_tanh(x):  # HF "gelu_new"
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def attention(q, k, v, heads, causal):
    """q, k, v: [B, T, D] -> [B, T, D], scaled dot-product over `heads` heads."""
    B, T, D = q.shape
    hd = D // heads
    split = lambda t: t.view(B, T, heads, hd).transpose(1, 2)  # [B, H, T, hd]
    q, k, v = split(q), split(k), split(v)
    s = q @ k.transpose(-1, -2) / math.sqrt(hd)
    if causal:
        s = s.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
    return (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, D)


def make_gpt2():
    cfg = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 96,
           "n_positions": 32, "n_ctx": 32, "n_embd": 32, "n_layer": 2, "n_head": 4, "n_inner": 64,
           "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
           "tie_word_embeddings": True}
    D, F, eps = cfg["n_embd"], cfg["n_inner"], cfg["layer_norm_epsilon"]
    p = Init(1234)
    wte = p.normal("transformer.wte.weight", [cfg["vocab_size"], D], 0.2)
    wpe = p.normal("transformer.wpe.weight", [cfg["n_positions"], D], 0.1)
    blocks = []
    for i in range(cfg["n_layer"]):
        h = f"transformer.h.{i}."
        b = {}
        b["ln1"] = p.ln(h + "ln_1", D)
        # Conv1D: weight [in, out], y = x @ W + b.
        b["attn"] = (p.normal(h + "attn.c_attn.weight", [D, 3 * D], 0.15), p.normal(h + "attn.c_attn.bias", [3 * D], 0.1))
        b["proj"] = (p.normal(h + "attn.c_proj.weight", [D, D], 0.15), p.normal(h + "attn.c_proj.bias", [D], 0.1))
        b["ln2"] = p.ln(h + "ln_2", D)
        b["fc"] = (p.normal(h + "mlp.c_fc.weight", [D, F], 0.15), p.normal(h + "mlp.c_fc.bias", [F], 0.1))
        b["mproj"] = (p.normal(h + "mlp.c_proj.weight", [F, D], 0.15), p.normal(h + "mlp.c_proj.bias", [D], 0.1))
        blocks.append(b)
    lnf = p.ln("transformer.ln_f", D)

    ids = torch.randint(0, cfg["vocab_size"], (BATCH, TIME), generator=p.g, dtype=torch.int64)
    ids[0, 0], ids[1, -1] = 0, cfg["vocab_size"] - 1  # both ends of the vocabulary
    conv = lambda x, wb: x @ wb[0] + wb[1]
    x = wte[ids] + wpe[torch.arange(TIME)]
    states = []
    for b in blocks:
        q, k, v = conv(layer_norm(x, *b["ln1"], eps), b["attn"]).split(D, dim=-1)
        x = x + conv(attention(q, k, v, cfg["n_head"], causal=True), b["proj"])
        x = x + conv(gelu_tanh(conv(layer_norm(x, *b["ln2"], eps), b["fc"])), b["mproj"])
        states.append(x)
    logits = layer_norm(x, *lnf, eps) @ wte.t()  # tied head
    write_checkpoint("tiny-gpt2", cfg, p.tensors, ids, "logits", logits, states)
    return logits


def make_bert():
    cfg = {"model_type": "bert", "architectures": ["BertModel"], "vocab_size": 100,
           "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
           "intermediate_size": 64, "max_position_embeddings": 32, "type_vocab_size": 2,
           "hidden_act": "gelu", "layer_norm_eps": 1e-12, "position_embedding_type": "absolute",
           "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "pad_token_id": 0}
    D, F, eps = cfg["hidden_size"], cfg["intermediate_size"], cfg["layer_norm_eps"]
    p = Init(5678)
    e = "bert.embeddings."
    word = p.normal(e + "word_embeddings.weight", [cfg["vocab_size"], D], 0.2)
    pos = p.normal(e + "position_embeddings.weight", [cfg["max_position_embeddings"], D], 0.1)
    typ = p.normal(e + "token_type_embeddings.weight", [cfg["type_vocab_size"], D], 0.1)
    emb_ln = p.ln(e + "LayerNorm", D)
    # Older HF checkpoints carry this buffer; the loader must ignore it.
    p.tensors.append((e + "position_ids", torch.arange(cfg["max_position_embeddings"]).unsqueeze(0)))
    # nn.Linear: weight [out, in], y = x @ W^T + b.
    lin = lambda name, i, o: (p.normal(name + ".weight", [o, i], 0.15), p.normal(name + ".bias", [o], 0.1))
    layers = []
    for i in range(cfg["num_hidden_layers"]):
        h = f"bert.encoder.layer.{i}."
        layers.append({
            "q": lin(h + "attention.self.query", D, D), "k": lin(h + "attention.self.key", D, D),
            "v": lin(h + "attention.self.value", D, D), "o": lin(h + "attention.output.dense", D, D),
            "ln1": p.ln(h + "attention.output.LayerNorm", D),
            "up": lin(h + "intermediate.dense", D, F), "down": lin(h + "output.dense", F, D),
            "ln2": p.ln(h + "output.LayerNorm", D)})
    lin("bert.pooler.dense", D, D)  # kept by the loader, unused by the last hidden state

    ids = torch.randint(0, cfg["vocab_size"], (BATCH, TIME), generator=p.g, dtype=torch.int64)
    ids[0, 0], ids[1, -1] = 0, cfg["vocab_size"] - 1
    fc = lambda x, wb: x @ wb[0].t() + wb[1]
    x = layer_norm(word[ids] + pos[torch.arange(TIME)] + typ[0], *emb_ln, eps)  # token_type_ids = 0
    states = []
    for L in layers:  # post-LN: LayerNorm after each residual add
        a = attention(fc(x, L["q"]), fc(x, L["k"]), fc(x, L["v"]), cfg["num_attention_heads"], causal=False)
        x = layer_norm(x + fc(a, L["o"]), *L["ln1"], eps)
        x = layer_norm(x + fc(gelu_erf(fc(x, L["up"])), L["down"]), *L["ln2"], eps)
        states.append(x)
    write_checkpoint("tiny-bert", cfg, p.tensors, ids, "hidden", x, states)
    return x


if __name__ == "__main__":
    if sys.byteorder != "little":
        sys.exit("write_safetensors assumes a little-endian host")
    for name, out in (("tiny-gpt2", make_gpt2()), ("tiny-bert", make_bert())):
        print(f"{name}: output {tuple(out.shape)}, std {out.std().item():.3f}, "
              f"max |x| {out.abs().max().item():.3f}")
