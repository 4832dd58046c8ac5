#!/usr/bin/env python3
"""Writes the Llama GGUF goldens for tests/model/gguf_llama_test.cpp.

  tests/golden/gguf/tiny-llama.gguf           tests/golden/tiny-llama (HF names, untied head,
                                              4 heads / 2 kv heads) converted the way llama.cpp's
                                              convert_hf_to_gguf.py converts a LlamaForCausalLM:
                                              llama.* metadata keys, GGUF tensor names, all F32, and
                                              the rows of q_proj / k_proj permuted so rotary pairs are
                                              interleaved (its LlamaModel.permute, with n_head for q
                                              and n_head_kv for k). Loading it must give the same
                                              logits as the HF checkpoint (expected.safetensors).
  tests/golden/gguf/tiny-llama-badarch.gguf   general.architecture "gpt2", no tensors
  tests/golden/gguf/tiny-llama-badshape.gguf  llama metadata, token_embd.weight of shape [100, 63]

Rerun (deterministic, no randomness):
  python3 -m venv /tmp/gguf-venv && /tmp/gguf-venv/bin/pip install gguf==0.19.0 numpy
  /tmp/gguf-venv/bin/python tests/golden/make_gguf_llama_golden.py
"""
import json
import os
import struct

import numpy as np
import gguf

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "tiny-llama")
OUT = os.path.join(HERE, "gguf")


def read_safetensors(path):
    """Minimal reader (F32 only): 8-byte header length, JSON header, data."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(info["shape"]).copy()
    return out


def permute(w, n_head):
    """llama.cpp's converter: per head, rows [0, hd/2) and [hd/2, hd) become interleaved pairs."""
    rows = w.shape[0]
    return w.reshape(n_head, 2, rows // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute(w, n_head):
    rows = w.shape[0]
    return w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def add_metadata(w, cfg, vocab):
    w.add_name("tiny-llama")
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_rope_freq_base(cfg["rope_theta"])
    w.add_file_type(0)  # ALL_F32
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"t{i}" for i in range(vocab)])
    w.add_bos_token_id(cfg["bos_token_id"])
    w.add_eos_token_id(cfg["eos_token_id"])


def write(path, arch, fill):
    w = gguf.GGUFWriter(path, arch)
    fill(w)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(SRC, "config.json")) as f:
        cfg = json.load(f)
    t = read_safetensors(os.path.join(SRC, "model.safetensors"))
    H, KV, V = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["vocab_size"]
    assert not cfg["tie_word_embeddings"]

    names = [("model.embed_tokens.weight", "token_embd.weight")]
    for i in range(cfg["num_hidden_layers"]):
        p, b = f"model.layers.{i}.", f"blk.{i}."
        names += [(p + "input_layernorm.weight", b + "attn_norm.weight"),
                  (p + "self_attn.q_proj.weight", b + "attn_q.weight"),
                  (p + "self_attn.k_proj.weight", b + "attn_k.weight"),
                  (p + "self_attn.v_proj.weight", b + "attn_v.weight"),
                  (p + "self_attn.o_proj.weight", b + "attn_output.weight"),
                  (p + "post_attention_layernorm.weight", b + "ffn_norm.weight"),
                  (p + "mlp.gate_proj.weight", b + "ffn_gate.weight"),
                  (p + "mlp.up_proj.weight", b + "ffn_up.weight"),
                  (p + "mlp.down_proj.weight", b + "ffn_down.weight")]
    names += [("model.norm.weight", "output_norm.weight"), ("lm_head.weight", "output.weight")]
    assert sorted(n for n, _ in names) == sorted(t), "unexpected tensor set"

    def fill(w):
        add_metadata(w, cfg, V)
        for hf, g in names:
            x = t[hf]
            if g.endswith("attn_q.weight"):
                x = permute(x, H)
                assert np.array_equal(unpermute(x, H), t[hf])
                assert not np.array_equal(x, t[hf])
            elif g.endswith("attn_k.weight"):
                x = permute(x, KV)
                assert np.array_equal(unpermute(x, KV), t[hf])
            w.add_tensor(g, np.ascontiguousarray(x, dtype=np.float32))

    write(os.path.join(OUT, "tiny-llama.gguf"), "llama", fill)

    def fill_badarch(w):
        add_metadata(w, cfg, V)

    write(os.path.join(OUT, "tiny-llama-badarch.gguf"), "gpt2", fill_badarch)

    def fill_badshape(w):
        add_metadata(w, cfg, V)
        w.add_tensor("token_embd.weight", np.zeros((V, cfg["hidden_size"] - 1), dtype=np.float32))

    write(os.path.join(OUT, "tiny-llama-badshape.gguf"), "llama", fill_badshape)

    # Round trip through gguf-py's reader: names, numpy shapes and values as intended.
    r = gguf.GGUFReader(os.path.join(OUT, "tiny-llama.gguf"))
    got = {x.name: np.asarray(x.data) for x in r.tensors}
    assert got["blk.0.attn_q.weight"].shape == t["model.layers.0.self_attn.q_proj.weight"].shape
    assert np.array_equal(unpermute(got["blk.1.attn_k.weight"], KV), t["model.layers.1.self_attn.k_proj.weight"])
    assert np.array_equal(got["output.weight"], t["lm_head.weight"])
    print("wrote", OUT)


if __name__ == "__main__":
    main()
