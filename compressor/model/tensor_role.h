#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace compressor::model {

// What a weight does in the network. Passes select by role or by name pattern, never by
// string-matching slot names themselves.
enum class TensorRole {
  AttnQ, AttnK, AttnV, AttnQKV, AttnOut, MlpUp, MlpGate, MlpDown, Embedding, LmHead, Norm, Other
};

std::string_view role_name(TensorRole r);  // "attn_q", "mlp_up", ...
std::optional<TensorRole> parse_role(std::string_view s);
std::vector<std::string> all_role_names();

}  // namespace compressor::model
