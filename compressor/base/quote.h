// How error messages quote a name from the user's input (a key, tensor or file entry), one way
// everywhere: 'name'.
#pragma once

#include <string>

namespace compressor::base {

inline std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

}  // namespace compressor::base
