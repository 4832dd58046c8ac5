// Error types thrown by library code. Only compressor/cli turns them into messages and exit codes:
// BadInput -> 2, GateFailed -> 3, anything else -> 4 (usage errors are the CLI's own, exit 1).
#pragma once

#include <stdexcept>
#include <string>

namespace compressor {

// Base of every error the library throws on purpose. `where` names the file and the key path,
// tensor or line the problem is about, so a user can find it without reading code.
class Error : public std::runtime_error {
 public:
  Error(std::string where, std::string what);
  const std::string& where() const { return where_; }
  const std::string& detail() const { return detail_; }

 private:
  std::string where_;
  std::string detail_;
};

// The user's input is wrong: a recipe, checkpoint, text file, option or path. Exit code 2.
class BadInput : public Error {
 public:
  using Error::Error;
};

// A file could not be read or written for reasons outside the user's content (I/O, permissions).
// Reported as bad input too: the user has to fix the path or the disk.
class IoError : public BadInput {
 public:
  using BadInput::BadInput;
};

// The compressed model lost more than the recipe's `validate` block allows. Exit code 3.
class GateFailed : public Error {
 public:
  using Error::Error;
};

// An invariant of our own code broke. Exit code 4.
class InternalError : public Error {
 public:
  using Error::Error;
};

}  // namespace compressor
