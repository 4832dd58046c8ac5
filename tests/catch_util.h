// Test helpers that need Catch (kept out of test_util.h, which the non-Catch CLI fixture includes).
#pragma once

#include <catch2/catch.hpp>

#include <exception>
#include <string>

#include "compressor/base/error.h"

namespace test_util {

// Runs `f`, requires it to throw compressor::BadInput (or a subclass such as IoError) and returns
// the message. Another exception, or none, fails the test case.
template <class F>
std::string bad_input_message(F&& f) {
  try {
    f();
  } catch (const compressor::BadInput& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("expected BadInput, got another exception: " << e.what());
  }
  FAIL("expected BadInput, nothing was thrown");
  return {};
}

}  // namespace test_util
