#include "compressor/quant/quant_args.h"

#include <set>

#include "compressor/base/error.h"

namespace compressor::quant {

bool QuantArgs::operator==(const QuantArgs& o) const {
  return num_bits == o.num_bits && type == o.type && symmetric == o.symmetric && strategy == o.strategy &&
         group_size == o.group_size && dynamic == o.dynamic && observer == o.observer && actorder == o.actorder;
}

std::string to_string(QuantType t) { return t == QuantType::integer ? "int" : "float"; }

std::string to_string(Strategy s) {
  switch (s) {
    case Strategy::tensor: return "tensor";
    case Strategy::channel: return "channel";
    case Strategy::group: return "group";
    case Strategy::token: return "token";
  }
  return "?";
}

std::string to_string(ActOrder a) {
  switch (a) {
    case ActOrder::none: return "none";
    case ActOrder::static_order: return "static";
    case ActOrder::weight: return "weight";
    case ActOrder::group: return "group";
  }
  return "?";
}

std::string to_string(ScaleDtype d) {
  switch (d) {
    case ScaleDtype::f32: return "float32";
    case ScaleDtype::f16: return "float16";
    case ScaleDtype::bf16: return "bfloat16";
  }
  return "?";
}

ScaleDtype parse_scale_dtype(const std::string& s, const std::string& where) {
  if (s == "float32" || s == "f32") return ScaleDtype::f32;
  if (s == "float16" || s == "f16") return ScaleDtype::f16;
  if (s == "bfloat16" || s == "bf16") return ScaleDtype::bf16;
  throw BadInput(where, "scale dtype '" + s + "' is not one of float32, float16, bfloat16");
}

int scale_bits(ScaleDtype d) { return d == ScaleDtype::f32 ? 32 : 16; }

int64_t int_qmin(int num_bits) { return -(int64_t{1} << (num_bits - 1)); }
int64_t int_qmax(int num_bits) { return (int64_t{1} << (num_bits - 1)) - 1; }

void check(const QuantArgs& a, const std::string& where) {
  if (a.type == QuantType::integer && (a.num_bits < 2 || a.num_bits > 8)) {
    throw BadInput(where, "num_bits " + std::to_string(a.num_bits) + " is outside 2-8 for int quantization");
  }
  if (a.type == QuantType::floating) {
    if (a.num_bits != 8) {
      throw BadInput(where, "num_bits " + std::to_string(a.num_bits) + ": float quantization is FP8 (num_bits 8)");
    }
    if (!a.symmetric) throw BadInput(where, "FP8 has no zero point: symmetric must be true");
  }
  if (a.strategy == Strategy::group && a.group_size <= 0) {
    throw BadInput(where, "strategy 'group' needs a positive group_size");
  }
  if (a.strategy != Strategy::group && a.group_size > 0) {
    throw BadInput(where, "group_size " + std::to_string(a.group_size) + " needs strategy 'group' (it is '" +
                              to_string(a.strategy) + "')");
  }
  if (a.strategy == Strategy::token && !a.dynamic) {
    throw BadInput(where, "strategy 'token' is dynamic only: set dynamic: true");
  }
  if (a.dynamic && a.strategy == Strategy::channel) {
    throw BadInput(where, "dynamic quantization works per tensor, group or token, not per channel");
  }
  // llm-compressor's names: minmax (a moving average for activations), static_minmax (over all
  // calibration), memoryless_minmax (each call alone), mse (clipping search); none for dynamic.
  static const std::set<std::string> observers{"minmax", "static_minmax", "memoryless_minmax", "mse", "none"};
  if (!observers.count(a.observer)) {
    throw BadInput(where, "observer '" + a.observer + "' is not one of minmax, static_minmax, memoryless_minmax, mse");
  }
  if (a.actorder != ActOrder::none && a.strategy == Strategy::token) {
    throw BadInput(where, "actorder applies to weights, not to token-wise activations");
  }
  if (a.actorder == ActOrder::group && a.strategy != Strategy::group) {
    throw BadInput(where, "actorder 'group' orders groups: it needs strategy 'group', not '" + to_string(a.strategy) + "'");
  }
}

nlohmann::json to_json(const QuantArgs& a) {
  nlohmann::json j{{"num_bits", a.num_bits},
                   {"type", to_string(a.type)},
                   {"symmetric", a.symmetric},
                   {"strategy", to_string(a.strategy)},
                   {"group_size", a.group_size > 0 ? nlohmann::json(a.group_size) : nlohmann::json(nullptr)},
                   {"block_structure", nullptr},
                   {"dynamic", a.dynamic},
                   {"actorder", a.actorder == ActOrder::none ? nlohmann::json(nullptr) : nlohmann::json(to_string(a.actorder))},
                   {"observer", a.dynamic ? nlohmann::json(nullptr) : nlohmann::json(a.observer)},
                   {"observer_kwargs", nlohmann::json::object()},
                   // As compressed-tensors serialises them: the scale dtype is the model's unless
                   // set (the artifact writer sets it), the zero point's only when asymmetric.
                   {"scale_dtype", nullptr},
                   {"zp_dtype", a.symmetric ? nlohmann::json(nullptr) : nlohmann::json(a.type == QuantType::floating ? "torch.float8_e4m3fn" : "torch.int8")}};
  return j;
}

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

QuantArgs quant_args_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw BadInput(where, "quantization args must be a mapping");
  static const std::set<std::string> known{"num_bits", "type", "symmetric", "strategy", "group_size", "block_structure",
                                           "dynamic", "actorder", "observer", "observer_kwargs", "scale_dtype", "zp_dtype"};
  for (const auto& [k, v] : j.items()) {
    if (!known.count(k)) throw BadInput(where + "." + k, "unknown quantization key '" + k + "'");
  }
  auto get = [&](const char* key) -> const nlohmann::json* {
    auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  };
  auto key_error = [&](const char* key, const std::string& what) { return BadInput(where + "." + key, what); };
  QuantArgs a;
  try {
    if (auto* v = get("num_bits")) a.num_bits = v->get<int>();
    if (auto* v = get("type")) {
      const auto t = lower(v->get<std::string>());
      if (t == "int") a.type = QuantType::integer;
      else if (t == "float") a.type = QuantType::floating;
      else throw key_error("type", "'" + t + "' is not int or float");
    }
    if (auto* v = get("symmetric")) a.symmetric = v->get<bool>();
    std::optional<int64_t> group;
    if (auto* v = get("group_size")) group = v->get<int64_t>();
    if (auto* v = get("strategy")) {
      const auto s = lower(v->get<std::string>());
      if (s == "tensor") a.strategy = Strategy::tensor;
      else if (s == "channel") a.strategy = Strategy::channel;
      else if (s == "group") a.strategy = Strategy::group;
      else if (s == "token") a.strategy = Strategy::token;
      else throw key_error("strategy", "'" + s + "' is not one of tensor, channel, group, token");
    } else if (group && *group > 0) {
      a.strategy = Strategy::group;
    } else if (group && *group == -1) {
      a.strategy = Strategy::channel;
    }
    if (group && *group < -1) throw key_error("group_size", std::to_string(*group) + " is not -1 (channel) or positive");
    a.group_size = group && *group > 0 ? *group : 0;
    if (get("block_structure")) throw key_error("block_structure", "block quantization is not supported");
    if (auto* v = get("dynamic")) {
      if (v->is_string()) throw key_error("dynamic", "'" + v->get<std::string>() + "' (only true or false are supported)");
      a.dynamic = v->get<bool>();
    }
    if (auto* v = get("actorder")) {
      if (v->is_boolean()) {
        if (v->get<bool>()) throw key_error("actorder", "true is no longer meaningful: use 'static', 'weight' or 'group'");
      } else {
        const auto s = lower(v->get<std::string>());
        if (s == "static") a.actorder = ActOrder::static_order;
        else if (s == "weight") a.actorder = ActOrder::weight;
        else if (s == "group" || s == "dynamic") a.actorder = ActOrder::group;  // "dynamic": compressed-tensors' alias
        else throw key_error("actorder", "'" + s + "' is not one of static, weight, group (or dynamic)");
      }
    }
    a.observer = a.dynamic ? "none" : "minmax";
    if (auto* v = get("observer")) a.observer = lower(v->get<std::string>());
    if (auto* v = get("observer_kwargs"); v && !v->empty()) {
      throw key_error("observer_kwargs", "observer options are not supported here; set them on the pass");
    }
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(where, std::string("malformed quantization args: ") + e.what());
  }
  check(a, where);
  return a;
}

}  // namespace compressor::quant
