// Hugging Face tokenizer.json -> a BpeTokenizer or WordPieceTokenizer. What is read (anything else
// is BadInput naming the file and the JSON key, e.g. "tokenizer.json: pre_tokenizer.pretokenizers[0].pattern: ..."):
//   model           BPE {vocab, merges ("a b" or ["a", "b"]), ignore_merges}; unk_token, dropout,
//                   continuing_subword_prefix, end_of_word_suffix unset and byte_fallback false
//                   (byte-level BPE needs none of them).
//                   WordPiece {vocab, unk_token, continuing_subword_prefix, max_input_chars_per_word}.
//                   Other types (Unigram, WordLevel) are BadInput.
//   normalizer      null, NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, BertNormalizer, Sequence.
//   pre_tokenizer   null, Split {pattern {String | Regex}, behavior, invert} (Oniguruma, as tokenizers),
//                   ByteLevel {add_prefix_space, use_regex} (BPE only, and last), Digits
//                   {individual_digits}, BertPreTokenizer, WhitespaceSplit, Punctuation {behavior},
//                   Sequence. A BPE model needs ByteLevel.
//   post_processor  null, ByteLevel, TemplateProcessing ("single"), BertProcessing, RobertaProcessing, Sequence.
//   decoder         BPE: ByteLevel or null. WordPiece: its "cleanup" is read from a WordPiece decoder.
//   added_tokens    content, id, special, normalized; lstrip/rstrip/single_word are BadInput.
// Truncation and padding are ignored (encode never truncates or pads).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "compressor/tokenizers/bpe.h"
#include "compressor/tokenizers/tokenizer.h"
#include "compressor/tokenizers/wordpiece.h"

namespace compressor::tokenizers {

// model.type "BPE" -> BpeTokenizer, "WordPiece" -> WordPieceTokenizer. `file` names it in errors.
std::unique_ptr<Tokenizer> load_tokenizer_json(const std::filesystem::path& path);
std::unique_ptr<Tokenizer> load_tokenizer_json(const nlohmann::json& j, const std::string& file);
std::unique_ptr<BpeTokenizer> load_bpe_json(const nlohmann::json& j, const std::string& file);
std::unique_ptr<BpeTokenizer> load_bpe_json(const std::filesystem::path& path);
std::unique_ptr<WordPieceTokenizer> load_wordpiece_json(const nlohmann::json& j, const std::string& file);
std::unique_ptr<WordPieceTokenizer> load_wordpiece_json(const std::filesystem::path& path);

// Reads and parses a JSON file: IoError when it cannot be opened, BadInput naming it when it is not JSON.
nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace compressor::tokenizers
