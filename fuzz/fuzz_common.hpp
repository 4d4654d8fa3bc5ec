#pragma once
// Shared by the libFuzzer targets: what counts as a finding. A reader may reject its input only
// with moesim's own errors (ConfigError, IoError, InfeasibleError: a message naming the file, line
// and key, shown by the app with exit code 2/3/4). Anything else escaping a reader -- a
// std::out_of_range from a bare .at(), a bad_alloc, a json type_error without a line -- is reported
// as a crash, as are the sanitizers' findings (ASan, UBSan) and timeouts.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>

#include "sim/core/errors.hpp"

namespace moesim::fuzz {

inline void expect_clean_rejection(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ConfigError&) {
  } catch (const IoError&) {
  } catch (const InfeasibleError&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "finding: an input was rejected by an exception that names no location: %s\n", e.what());
    std::abort();
  }
}

}  // namespace moesim::fuzz
