#include "compressor/model/selection.h"

#include <regex>

#include <spdlog/spdlog.h>

#include "compressor/base/error.h"

namespace compressor::model {

namespace {
std::regex compile(const std::string& entry, const std::string& where) {
  try {
    return std::regex(entry.substr(3), std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw BadInput(where, "invalid regular expression '" + entry + "': " + e.what());
  }
}

// Python's re.match: anchored at the start of the name, not at its end (what llm-compressor's
// "re:" targets mean), so "re:.*mlp" matches "model.layers.0.mlp.up_proj".
bool matches(const LinearSlot& slot, const std::string& entry, const std::regex* re) {
  if (re) return std::regex_search(slot.name, *re, std::regex_constants::match_continuous);
  // Every nn.Linear, as in llm-compressor: the blocks' linears and an untied lm_head (a tied head
  // is the embedding table, which is not a Linear).
  if (entry == "Linear") return slot.is_linear() || slot.role == TensorRole::LmHead;
  if (auto role = parse_role(entry)) return slot.role == *role;
  return slot.name == entry || slot.name + ".weight" == entry;
}

struct Matcher {
  std::string entry;
  std::optional<std::regex> re;
  bool test(const LinearSlot& s) const { return matches(s, entry, re ? &*re : nullptr); }
};

std::vector<Matcher> matchers(const std::vector<std::string>& entries, const std::string& where) {
  std::vector<Matcher> out;
  for (const auto& e : entries) {
    Matcher m{e, std::nullopt};
    if (e.rfind("re:", 0) == 0) m.re = compile(e, where);
    out.push_back(std::move(m));
  }
  return out;
}
}  // namespace

bool slot_matches(const LinearSlot& slot, const std::string& entry) {
  if (entry.rfind("re:", 0) == 0) {
    auto re = compile(entry, entry);
    return matches(slot, entry, &re);
  }
  return matches(slot, entry, nullptr);
}

std::vector<LinearSlot*> select_slots(Model& model, const std::vector<std::string>& targets,
                                      const std::vector<std::string>& ignore, const std::string& where) {
  const auto want = matchers(targets, where);
  const auto skip = matchers(ignore, where);
  for (const auto& m : want) {
    bool any = false;
    for (const auto& s : model.slots()) any = any || m.test(s);
    if (!any) {
      std::string names;
      for (size_t i = 0; i < model.slots().size() && i < 6; ++i) names += (i ? ", " : "") + model.slots()[i].name;
      throw BadInput(where, "target '" + m.entry + "' matches no weight of this model (slots are named like " +
                                names + "; roles: Linear, attn_qkv, attn_out, mlp_up, mlp_down, ...)");
    }
  }
  for (const auto& m : skip) {
    bool any = false;
    for (const auto& s : model.slots()) any = any || m.test(s);
    if (!any) spdlog::warn("{}: ignore entry '{}' matches no weight of this model", where, m.entry);
  }
  std::vector<LinearSlot*> out;
  for (auto& s : model.slots()) {
    bool wanted = false, skipped = false;
    for (const auto& m : want) wanted = wanted || m.test(s);
    for (const auto& m : skip) skipped = skipped || m.test(s);
    if (wanted && !skipped) out.push_back(&s);
  }
  return out;
}

}  // namespace compressor::model
