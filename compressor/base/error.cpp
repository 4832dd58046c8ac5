#include "compressor/base/error.h"

namespace compressor {

namespace {
std::string compose(const std::string& where, const std::string& what) {
  return where.empty() ? what : where + ": " + what;
}
}  // namespace

Error::Error(std::string where, std::string what)
    : std::runtime_error(compose(where, what)), where_(std::move(where)), detail_(std::move(what)) {}

}  // namespace compressor
