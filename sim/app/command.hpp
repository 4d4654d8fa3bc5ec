#pragma once
// CLI subcommands register themselves (one .cpp each) so that adding a command touches one file and
// one CMake line. Each registration adds a CLI11 subcommand to the app with its callback.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace moesim::app {

struct CommandRegistration {
  int order;  // position in --help
  std::function<void(CLI::App&)> attach;
};

std::vector<CommandRegistration>& command_registrations();
bool register_command(int order, std::function<void(CLI::App&)> attach);

// Exit codes: 0 ok, 1 findings the scenario asked to fail on, 2 bad input, 3 infeasible, 4 I/O.
enum ExitCode { kOk = 0, kFindings = 1, kBadInput = 2, kInfeasible = 3, kIoError = 4 };

// Thrown by a command to end with a given exit code after it printed what it wanted.
struct ExitRequest {
  int code;
};

}  // namespace moesim::app

#define MOESIM_COMMAND(order, attach_fn)                                                  \
  [[maybe_unused]] static const bool MOESIM_CONCAT(moesim_command_, __LINE__) =           \
      ::moesim::app::register_command(order, attach_fn)
