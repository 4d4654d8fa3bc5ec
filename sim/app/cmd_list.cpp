// `moesim list [interface]`: every registered kind with a one-line summary, and the catalogs.
#include <fmt/format.h>

#include "sim/app/command.hpp"
#include "sim/core/config.hpp"
#include "sim/core/registry.hpp"
#include "sim/core/suggest.hpp"

namespace moesim::app {
namespace {

// Catalog folders listed by `moesim list` (data, not code: presets are TOML files).
const std::vector<std::pair<std::string, std::string>>& catalogs() {
  static const std::vector<std::pair<std::string, std::string>> c = {
      {"device", "hardware/presets/devices"}, {"link", "hardware/presets/links"},
      {"storage", "hardware/presets/storage"}, {"memory", "hardware/presets/memory"},
      {"model", "models/catalog"},
  };
  return c;
}

void list(const std::string& which) {
  const auto& all = RegistryIndex::all();
  std::vector<std::string> names;
  for (const auto& [iface, kinds] : all) names.push_back(iface);
  for (const auto& [name, dir] : catalogs()) names.push_back(name);
  if (!which.empty() && std::find(names.begin(), names.end(), which) == names.end()) {
    std::string msg = fmt::format("unknown interface or catalog '{}' (valid values: {})", which, join(names));
    if (auto n = nearest(which, names)) msg += fmt::format("; did you mean '{}'?", *n);
    throw ConfigError(Location{"moesim list"}, "", msg);
  }
  for (const auto& [iface, kinds] : all) {
    if (!which.empty() && which != iface) continue;
    fmt::print("{} (kind = ...):\n", iface);
    for (const auto& k : kinds) fmt::print("  {:<24} {}\n", k.kind, k.summary);
  }
  for (const auto& [name, dir] : catalogs()) {
    if (!which.empty() && which != name) continue;
    fmt::print("{} presets ({}/):\n  {}\n", name, dir, join(config::preset_names(dir), " "));
  }
}

MOESIM_COMMAND(50, [](CLI::App& app) {
  auto* cmd = app.add_subcommand("list", "List every registered kind (routing, sharding, cache, ...) and catalog");
  auto which = std::make_shared<std::string>();
  cmd->add_option("interface", *which, "Only this interface or catalog (e.g. routing, device, model)");
  cmd->callback([which] { list(*which); });
});

}  // namespace
}  // namespace moesim::app
