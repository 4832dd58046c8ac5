#include "compressor/model/tensor_role.h"

#include <array>
#include <utility>

namespace compressor::model {

namespace {
constexpr std::array<std::pair<TensorRole, std::string_view>, 12> kRoles{{
    {TensorRole::AttnQ, "attn_q"},         {TensorRole::AttnK, "attn_k"},
    {TensorRole::AttnV, "attn_v"},         {TensorRole::AttnQKV, "attn_qkv"},
    {TensorRole::AttnOut, "attn_out"},     {TensorRole::MlpUp, "mlp_up"},
    {TensorRole::MlpGate, "mlp_gate"},     {TensorRole::MlpDown, "mlp_down"},
    {TensorRole::Embedding, "embedding"},  {TensorRole::LmHead, "lm_head"},
    {TensorRole::Norm, "norm"},            {TensorRole::Other, "other"},
}};
}  // namespace

std::string_view role_name(TensorRole r) {
  for (const auto& [role, name] : kRoles) {
    if (role == r) return name;
  }
  return "other";
}

std::optional<TensorRole> parse_role(std::string_view s) {
  for (const auto& [role, name] : kRoles) {
    if (name == s) return role;
  }
  return std::nullopt;
}

std::vector<std::string> all_role_names() {
  std::vector<std::string> out;
  for (const auto& [role, name] : kRoles) out.emplace_back(name);
  return out;
}

}  // namespace compressor::model
