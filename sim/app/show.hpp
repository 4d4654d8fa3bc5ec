#pragma once
// `moesim show <what> <name>`: each catalog registers what it can show from its own cmd_show_*.cpp.
#include <functional>
#include <string>
#include <vector>

namespace moesim::app {

struct ShowTarget {
  std::string what;                                   // "device", "model", ...
  std::string help;
  std::function<std::vector<std::string>()> names;    // valid names, for errors and `show <what>`
  std::function<void(const std::string& name)> show;  // prints; throws ConfigError on bad input
};

std::vector<ShowTarget>& show_targets();
bool register_show_target(ShowTarget target);

}  // namespace moesim::app

#define MOESIM_SHOW_TARGET(...)                                                \
  [[maybe_unused]] static const bool MOESIM_CONCAT(moesim_show_, __LINE__) = \
      ::moesim::app::register_show_target(__VA_ARGS__)
