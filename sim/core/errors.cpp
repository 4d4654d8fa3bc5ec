#include "sim/core/errors.hpp"

#include <fmt/format.h>

namespace moesim {

std::string Location::str() const {
  if (line <= 0) return file.empty() ? std::string("<input>") : file;
  return fmt::format("{}:{}:{}", file.empty() ? "<input>" : file, line, col);
}

static std::string format_config_error(const Location& w, const std::string& key, const std::string& d) {
  if (key.empty()) return fmt::format("{}: error: {}", w.str(), d);
  return fmt::format("{}: error: {}: {}", w.str(), key, d);
}

ConfigError::ConfigError(Location where, std::string key, std::string detail)
    : std::runtime_error(format_config_error(where, key, detail)),
      where_(std::move(where)),
      key_(std::move(key)),
      detail_(std::move(detail)) {}

}  // namespace moesim
