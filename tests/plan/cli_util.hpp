#pragma once
// Running the moesim binary from tests, and a tiny scenario (2-layer Mixtral decode, 2 tokens) that
// simulates in a fraction of a second per point.
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "tests/support/cli.hpp"

namespace moesim::plan::testing {

namespace fs = std::filesystem;

using Result = test_support::CliResult;
inline Result moesim(const std::string& args) { return test_support::run_moesim(args); }
using test_support::slurp;

inline fs::path scratch(const std::string& tag) { return test_support::scratch_dir("plan_" + tag); }

inline std::string q(const fs::path& p) { return test_support::quoted(p); }

inline const char* kTinyBase = test_support::kTinyMixtralDecode;

inline fs::path write_scenario(const fs::path& dir, const std::string& extra) {
  return test_support::write_tiny_scenario(dir, extra);
}

inline size_t lines_of(const fs::path& p) {
  std::string s = slurp(p);
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace moesim::plan::testing
