// `moesim show <what> [name]`: prints one catalog entry (device, link, model, ...), or the names.
#include <fmt/format.h>

#include <algorithm>

#include "sim/app/command.hpp"
#include "sim/app/show.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/registry.hpp"
#include "sim/core/suggest.hpp"

namespace moesim::app {

std::vector<ShowTarget>& show_targets() {
  static std::vector<ShowTarget> t;
  return t;
}

bool register_show_target(ShowTarget target) {
  show_targets().push_back(std::move(target));
  return true;
}

namespace {

[[noreturn]] void unknown(const std::string& where, const std::string& word, const std::vector<std::string>& valid) {
  std::string msg = fmt::format("unknown {} '{}' (valid values: {})", where, word, join(valid));
  if (auto n = nearest(word, valid)) msg += fmt::format("; did you mean '{}'?", *n);
  throw ConfigError(Location{"moesim show"}, "", msg);
}

void show(const std::string& what, const std::string& name) {
  auto& targets = show_targets();
  std::vector<std::string> whats;
  for (auto& t : targets) whats.push_back(t.what);
  std::sort(whats.begin(), whats.end());
  auto it = std::find_if(targets.begin(), targets.end(), [&](const ShowTarget& t) { return t.what == what; });
  if (it == targets.end()) unknown("catalog", what, whats);
  auto names = it->names();
  if (name.empty()) {
    fmt::print("{}\n", join(names, "\n"));
    return;
  }
  if (std::find(names.begin(), names.end(), name) == names.end()) unknown(what, name, names);
  it->show(name);
}

MOESIM_COMMAND(40, [](CLI::App& app) {
  auto* cmd = app.add_subcommand("show", "Show one catalog entry: show device h100_sxm, show model mixtral_8x7b");
  auto what = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  cmd->add_option("what", *what, "Catalog: device, link, storage, memory, model")->required();
  cmd->add_option("name", *name, "Entry name (omit to list the names)");
  cmd->callback([what, name] { show(*what, *name); });
});

}  // namespace
}  // namespace moesim::app
