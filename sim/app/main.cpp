// moesim: the command-line entry point. Decides what is printed and with which exit code; library
// code only throws.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "sim/app/command.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/registry.hpp"

namespace moesim::app {

std::vector<CommandRegistration>& command_registrations() {
  static std::vector<CommandRegistration> r;
  return r;
}

bool register_command(int order, std::function<void(CLI::App&)> attach) {
  command_registrations().push_back({order, std::move(attach)});
  return true;
}

}  // namespace moesim::app

int main(int argc, char** argv) {
  using namespace moesim;
  CLI::App app{"moesim: a discrete-event simulator of Mixture-of-Experts systems on hardware"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "moesim 0.1.0");
  auto regs = app::command_registrations();
  std::stable_sort(regs.begin(), regs.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  for (auto& r : regs) r.attach(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const app::ExitRequest& e) {
    return e.code;
  } catch (const ConfigError& e) {
    std::cerr << e.what() << "\n";
    return app::kBadInput;
  } catch (const InfeasibleError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return app::kInfeasible;
  } catch (const IoError& e) {
    std::cerr << e.what() << "\n";
    return app::kIoError;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return app::kBadInput;
  }
  return app::kOk;
}
