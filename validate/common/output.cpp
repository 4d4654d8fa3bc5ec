#include "validate/common/output.hpp"

#include <filesystem>
#include <iostream>

#include "sim/core/errors.hpp"

namespace moesim::bench {

Output::Output(const std::string& path) {
  if (path.empty() || path == "-") {
    stdout_ = &std::cout;
    return;
  }
  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  file_ = std::make_unique<std::ofstream>(path);
  if (!*file_) throw IoError("cannot write " + path);
}

}  // namespace moesim::bench
