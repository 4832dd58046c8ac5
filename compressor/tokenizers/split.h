// How a Split pre-tokenizer turns the matches of its pattern into pieces: Hugging Face
// `tokenizers`' SplitDelimiterBehavior, applied as NormalizedString::split applies it.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "compressor/tokenizers/pattern.h"

namespace compressor::tokenizers {

enum class SplitBehavior {
  Removed,             // matches dropped, the text between them kept
  Isolated,            // every match and every text between matches its own piece
  MergedWithPrevious,  // a match glued to the end of the piece before it
  MergedWithNext,      // a match glued to the start of the piece after it
  Contiguous,          // adjacent matches (or adjacent non-matches) one piece
};

// "Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous" (tokenizer.json).
std::optional<SplitBehavior> split_behavior_named(std::string_view name);

// Appends the non-empty pieces of `text` that `spans` (from Pattern::find_matches) make under
// `behavior`. `spans` is used as scratch space.
void split_spans(std::string_view text, std::vector<Match>& spans, SplitBehavior behavior,
                 std::vector<std::string_view>& out);

}  // namespace compressor::tokenizers
