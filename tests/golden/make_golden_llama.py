#!/usr/bin/python3
"""Golden values for the Llama architecture (tests/model/llama_test.cpp).

Rerun from the repository root:   /usr/bin/python3 tests/golden/make_golden_llama.py
(the Python that has python3-torch). Seeded, so rerunning rewrites the same bytes. Shares the
safetensors writer and the seeded Init with make_golden.py.

An independent reference: plain torch written from the Hugging Face `LlamaForCausalLM`
semantics (transformers/models/llama/modeling_llama.py), not a port of our C++. Computed in
float64 from the float32 weights it stores, so the C++ float32 forward differs only by rounding.

  h = embed_tokens[ids]
  per layer:  a = input_layernorm(h)                          RMSNorm: x * rsqrt(mean(x^2) + eps) * w
              q, k, v = q_proj(a), k_proj(a), v_proj(a)       [H*hd], [KV*hd], [KV*hd] (bias iff attention_bias)
              q, k = rope(q), rope(k)                         inv_freq = 1 / theta^(2i/hd), rotate_half layout:
                                                              x*cos + cat(-x2, x1)*sin with cos/sin of cat(f, f)
              head j reads kv head j // (H/KV)                (HF repeat_kv)
              h = h + o_proj(causal softmax(q k^T / sqrt(hd)) v)
              h = h + down_proj(silu(gate_proj(b)) * up_proj(b)),  b = post_attention_layernorm(h)
  logits = lm_head(norm(h))    (lm_head = embed_tokens when tie_word_embeddings)

Writes tests/golden/tiny-llama (the tiny config, untied head) and tests/golden/tiny-llama-tied
(tied head, plus attention_bias true, an explicit head_dim 8 != hidden/heads and rope_theta
500000, so those paths are covered too). Each holds config.json, model.safetensors (HF names and
[out, in] layouts) and expected.safetensors ("input_ids" I64 [2, 16], "logits" F32 [2, 16, 100]).

Cross-checks (asserted before anything is written, see cross_check()):
  * RMSNorm with eps 0 equals torch.nn.functional.normalize(x) * sqrt(d);
  * silu equals torch.nn.functional.silu;
  * rotate_half RoPE equals the complex-number form (x1 + i x2) * exp(i pos inv_freq) of the
    original Meta code, after mapping its halves, and scores depend only on relative position;
  * causal attention equals torch.nn.functional.multi_head_attention_forward (identity
    projections, additive causal mask) on the repeated kv heads;
  * the whole GQA model equals the same model with k_proj/v_proj rows repeated per head group
    and num_key_value_heads = num_attention_heads (plain multi-head attention);
  * the full forward is causal: logits at position t from ids[:, :t+1] equal the full run's.
Weights are larger than HF's init (std 0.15, norm weights 1 +- 0.1) so a wrong layout shows.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_golden import Init, write_checkpoint  # noqa: E402

BATCH, TIME = 2, 16
D64 = torch.float64


def rms_norm(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def silu(x):
    return x / (1.0 + torch.exp(-x))


def rope_cos_sin(T, hd, theta):
    inv_freq = 1.0 / theta ** (torch.arange(0, hd, 2, dtype=D64) / hd)  # [hd/2]
    ang = torch.arange(T, dtype=D64)[:, None] * inv_freq[None, :]     # [T, hd/2]
    ang = torch.cat([ang, ang], -1)                                    # [T, hd]
    return ang.cos(), ang.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


def rope(x, cos, sin):  # x [B, heads, T, hd]
    return x * cos + rotate_half(x) * sin


def attention(q, k, v):
    """q [B, H, T, hd], k/v [B, KV, T, hd] -> [B, H, T, hd]; head j uses kv head j // (H/KV)."""
    H, KV, T, hd = q.shape[1], k.shape[1], q.shape[2], q.shape[3]
    rep = H // KV
    mask = torch.ones(T, T, dtype=torch.bool).triu(1)
    out = []
    for j in range(H):
        s = q[:, j] @ k[:, j // rep].transpose(-1, -2) / math.sqrt(hd)
        out.append(torch.softmax(s.masked_fill(mask, float("-inf")), -1) @ v[:, j // rep])
    return torch.stack(out, 1)


def forward(cfg, W, ids, states=None):
    """W: dict of float64 tensors under checkpoint names; returns logits [B, T, vocab]. `states`, when a
    list, receives the hidden states after each block."""
    B, T = ids.shape
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or cfg["hidden_size"] // H
    eps = cfg["rms_norm_eps"]
    cos, sin = rope_cos_sin(T, hd, cfg["rope_theta"])
    lin = lambda x, name: x @ W[name + ".weight"].t() + (W[name + ".bias"] if name + ".bias" in W else 0)
    heads = lambda t, n: t.view(B, T, n, hd).transpose(1, 2)
    x = W["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = rms_norm(x, W[p + "input_layernorm.weight"], eps)
        q = rope(heads(lin(a, p + "self_attn.q_proj"), H), cos, sin)
        k = rope(heads(lin(a, p + "self_attn.k_proj"), KV), cos, sin)
        v = heads(lin(a, p + "self_attn.v_proj"), KV)
        y = attention(q, k, v).transpose(1, 2).reshape(B, T, H * hd)
        x = x + lin(y, p + "self_attn.o_proj")
        b = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        x = x + lin(silu(lin(b, p + "mlp.gate_proj")) * lin(b, p + "mlp.up_proj"), p + "mlp.down_proj")
        if states is not None:
            states.append(x)
    x = rms_norm(x, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
    return x @ head.t()


def make_weights(cfg, seed):
    D, Fi, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or D // H
    p = Init(seed)
    W = {}

    def t(name, shape, std, mean=0.0):
        W[name] = p.normal(name, shape, std, mean)

    def linear(name, i, o, bias):
        t(name + ".weight", [o, i], 0.15)
        if bias:
            t(name + ".bias", [o], 0.1)

    t("model.embed_tokens.weight", [V, D], 0.5)
    for i in range(cfg["num_hidden_layers"]):
        pre = f"model.layers.{i}."
        ab = cfg["attention_bias"]
        t(pre + "input_layernorm.weight", [D], 0.1, 1.0)
        linear(pre + "self_attn.q_proj", D, H * hd, ab)
        linear(pre + "self_attn.k_proj", D, KV * hd, ab)
        linear(pre + "self_attn.v_proj", D, KV * hd, ab)
        linear(pre + "self_attn.o_proj", H * hd, D, ab)
        t(pre + "post_attention_layernorm.weight", [D], 0.1, 1.0)
        linear(pre + "mlp.gate_proj", D, Fi, False)
        linear(pre + "mlp.up_proj", D, Fi, False)
        linear(pre + "mlp.down_proj", Fi, D, False)
    t("model.norm.weight", [D], 0.1, 1.0)
    if not cfg["tie_word_embeddings"]:
        t("lm_head.weight", [V, D], 0.15)
    ids = torch.randint(0, V, (BATCH, TIME), generator=p.g, dtype=torch.int64)
    ids[0, 0], ids[1, -1] = 0, V - 1  # both ends of the vocabulary
    return p.tensors, W, ids


def close(a, b, what, tol=1e-10):
    err = (a - b).abs().max().item()
    assert err < tol, f"cross-check failed: {what}: max |diff| {err}"


def cross_check(cfg, W, ids, logits):
    g = torch.Generator().manual_seed(99)
    x = torch.randn(3, 5, 64, generator=g, dtype=D64)
    close(rms_norm(x, torch.ones(64, dtype=D64), 0.0), F.normalize(x, dim=-1) * math.sqrt(64), "rms_norm")
    close(silu(x), F.silu(x), "silu")

    # RoPE: rotate_half layout pairs element i with i + hd/2; as a complex number z = x_i + i x_{i+hd/2}
    # it is multiplied by exp(i * pos * inv_freq_i) (Meta's apply_rotary_emb on the de-interleaved layout).
    T, hd, theta = 7, 16, 10000.0
    xq = torch.randn(2, 3, T, hd, generator=g, dtype=D64)
    cos, sin = rope_cos_sin(T, hd, theta)
    inv_freq = 1.0 / theta ** (torch.arange(0, hd, 2, dtype=D64) / hd)
    z = torch.complex(xq[..., : hd // 2], xq[..., hd // 2:]) * torch.polar(
        torch.ones(T, hd // 2, dtype=D64), torch.arange(T, dtype=D64)[:, None] * inv_freq)
    close(rope(xq, cos, sin), torch.cat([z.real, z.imag], -1), "rope vs complex form")
    # Relative position: <rope(q, m), rope(k, n)> depends on m - n only.
    qv, kv = torch.randn(hd, generator=g, dtype=D64), torch.randn(hd, generator=g, dtype=D64)
    rq = rope(qv.expand(T, hd), cos, sin)
    rk = rope(kv.expand(T, hd), cos, sin)
    close((rq[5] * rk[3]).sum(), (rq[2] * rk[0]).sum(), "rope relative position")

    # Attention against torch's multi-head attention (identity projections, causal additive mask).
    B, H, KV, T, hd = 2, 4, 2, 6, 8
    q = torch.randn(B, H, T, hd, generator=g, dtype=D64)
    k = torch.randn(B, KV, T, hd, generator=g, dtype=D64)
    v = torch.randn(B, KV, T, hd, generator=g, dtype=D64)
    mine = attention(q, k, v).transpose(1, 2).reshape(B, T, H * hd)
    seq = lambda t: t.repeat_interleave(H // t.shape[1], 1).transpose(1, 2).reshape(B, T, H * hd).transpose(0, 1)
    E = H * hd
    eye = torch.eye(E, dtype=D64)
    ref, _ = F.multi_head_attention_forward(
        seq(q), seq(k), seq(v), E, H, None, None, None, None, False, 0.0, eye, None, training=False,
        need_weights=False, attn_mask=torch.full((T, T), float("-inf"), dtype=D64).triu(1),
        use_separate_proj_weight=True, q_proj_weight=eye, k_proj_weight=eye, v_proj_weight=eye)
    close(mine, ref.transpose(0, 1), "attention vs F.multi_head_attention_forward")

    # GQA == MHA with each kv head's k/v rows repeated for its group of query heads.
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or cfg["hidden_size"] // H
    mha, Wm = dict(cfg, num_key_value_heads=H), dict(W)
    for name, w in W.items():
        if ".k_proj." in name or ".v_proj." in name:
            Wm[name] = w.view(KV, hd, *w.shape[1:]).repeat_interleave(H // KV, 0).reshape(H * hd, *w.shape[1:])
    close(forward(mha, Wm, ids), logits, "GQA vs repeated-kv MHA")

    # Causality: a prefix gives the same logits as the full sequence at its positions.
    for t in (0, 5, TIME - 2):
        close(forward(cfg, W, ids[:, : t + 1])[:, t], logits[:, t], f"causal prefix {t}")


def make(name, cfg, seed):
    tensors, W, ids = make_weights(cfg, seed)
    states = []
    logits = forward(cfg, W, ids, states)
    cross_check(cfg, W, ids, logits)
    write_checkpoint(name, cfg, tensors, ids, "logits", logits, states)
    return logits


BASE = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 100,
        "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "hidden_act": "silu", "max_position_embeddings": 64,
        "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "rope_scaling": None, "attention_bias": False,
        "mlp_bias": False, "tie_word_embeddings": False, "initializer_range": 0.02,
        "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}

if __name__ == "__main__":
    if sys.byteorder != "little":
        sys.exit("write_safetensors assumes a little-endian host")
    tied = dict(BASE, tie_word_embeddings=True, attention_bias=True, head_dim=8, rope_theta=500000.0)
    for name, cfg, seed in (("tiny-llama", BASE, 4321), ("tiny-llama-tied", tied, 8765)):
        out = make(name, cfg, seed)
        print(f"{name}: logits {tuple(out.shape)}, std {out.std().item():.3f}, max |x| {out.abs().max().item():.3f}")
