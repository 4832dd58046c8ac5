#include "distill/teacher_cache.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <vector>

#include "compressor/base/error.h"

namespace compressor::distill {

namespace {

constexpr char kMagic[8] = {'C', 'T', 'O', 'P', 'K', '0', '0', '1'};

// FNV-1a over the ids: the windows a cache was made for, so another dataset never reads it.
std::string fingerprint(const torch::Tensor& inputs) {
  const auto t = inputs.to(torch::kLong).contiguous();
  const auto* p = reinterpret_cast<const unsigned char*>(t.data_ptr<int64_t>());
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0, n = static_cast<size_t>(t.numel()) * sizeof(int64_t); i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

nlohmann::json header_of(const nlohmann::json& identity, const torch::Tensor& inputs, int64_t k) {
  return {{"identity", identity},
          {"windows", inputs.size(0)},
          {"positions", inputs.size(1)},
          {"k", k},
          {"inputs", fingerprint(inputs)}};
}

// The header of `file`, and where its data starts; null when it is not a complete cache file.
nlohmann::json read_header(const std::filesystem::path& file, uint64_t* data_offset) {
  std::ifstream in(file, std::ios::binary);
  char magic[8];
  uint64_t len = 0;
  if (!in.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0 || !in.read(reinterpret_cast<char*>(&len), 8) ||
      len > (1u << 20)) {
    return nullptr;
  }
  std::string text(len, '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(len))) return nullptr;
  auto header = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) return nullptr;
  *data_offset = 16 + len;
  return header;
}

}  // namespace

TeacherCache::TeacherCache(const std::filesystem::path& file, const torch::Tensor& inputs, int64_t k,
                           const nlohmann::json& identity, const TeacherFn& teacher, int64_t batch,
                           const ProgressFn& progress)
    : file_(file), windows_(inputs.size(0)), positions_(inputs.size(1)), k_(k) {
  const auto header = header_of(identity, inputs, k);
  const uint64_t record = static_cast<uint64_t>(positions_ * k_) * 8;
  std::error_code ec;
  uint64_t offset = 0;
  if (std::filesystem::is_regular_file(file, ec) && read_header(file, &offset) == header &&
      std::filesystem::file_size(file, ec) == offset + record * static_cast<uint64_t>(windows_)) {
    reused_ = true;
  } else {
    std::filesystem::create_directories(file.parent_path());
    auto partial = file;
    partial += ".partial";
    {
      std::ofstream out(partial, std::ios::binary | std::ios::trunc);
      if (!out) throw BadInput(partial.string(), "cannot write the teacher-logit cache: " + std::string(std::strerror(errno)));
      const std::string text = header.dump();
      const uint64_t len = text.size();
      out.write(kMagic, 8);
      out.write(reinterpret_cast<const char*>(&len), 8);
      out.write(text.data(), static_cast<std::streamsize>(len));
      torch::NoGradGuard no_grad;
      for (int64_t start = 0; start < windows_; start += batch) {
        const auto ids = inputs.slice(0, start, std::min(windows_, start + batch));
        const auto top = top_logits(teacher(ids), k);
        const auto values = top.values.contiguous();
        const auto indices = top.indices.to(torch::kInt).contiguous();
        for (int64_t r = 0; r < ids.size(0); ++r) {
          out.write(reinterpret_cast<const char*>(values[r].data_ptr<float>()), positions_ * k_ * 4);
          out.write(reinterpret_cast<const char*>(indices[r].data_ptr<int32_t>()), positions_ * k_ * 4);
        }
        if (progress) progress(std::min(windows_, start + batch), windows_);
      }
      out.flush();
      if (!out) throw BadInput(partial.string(), "writing the teacher-logit cache failed (disk full?)");
    }
    std::filesystem::rename(partial, file);
    read_header(file, &offset);
  }
  data_offset_ = offset;
  bytes_ = offset + record * static_cast<uint64_t>(windows_);
  in_.open(file, std::ios::binary);
  if (!in_) throw BadInput(file.string(), "cannot read the teacher-logit cache");
}

TopLogits TeacherCache::read(const torch::Tensor& rows) const {
  const auto r = rows.to(torch::kLong).contiguous();
  const int64_t B = r.numel();
  auto values = torch::empty({B, positions_, k_}, torch::kFloat);
  auto indices = torch::empty({B, positions_, k_}, torch::kInt);
  const uint64_t half = static_cast<uint64_t>(positions_ * k_) * 4;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t w = r.data_ptr<int64_t>()[b];
    if (w < 0 || w >= windows_) throw InternalError("teacher cache", "window " + std::to_string(w) + " not cached");
    in_.seekg(static_cast<std::streamoff>(data_offset_ + 2 * half * static_cast<uint64_t>(w)));
    in_.read(reinterpret_cast<char*>(values[b].data_ptr<float>()), static_cast<std::streamsize>(half));
    in_.read(reinterpret_cast<char*>(indices[b].data_ptr<int32_t>()), static_cast<std::streamsize>(half));
    if (!in_) throw BadInput(file_.string(), "the teacher-logit cache is truncated at window " + std::to_string(w));
  }
  return {values, indices.to(torch::kLong)};
}

}  // namespace compressor::distill
