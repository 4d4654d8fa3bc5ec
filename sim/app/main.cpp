// moesim: the command-line entry point. Decides what is printed and with which exit code; library
// code only throws.
#include <fmt/format.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <thread>

#include "sim/app/command.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/registry.hpp"
#include "sim/report/atomic_output.hpp"

namespace moesim::app {

std::vector<CommandRegistration>& command_registrations() {
  static std::vector<CommandRegistration> r;
  return r;
}

bool register_command(int order, std::function<void(CLI::App&)> attach) {
  command_registrations().push_back({order, std::move(attach)});
  return true;
}

namespace {

// SIGINT / SIGTERM / SIGHUP: blocked in every thread and taken by one thread with sigwait(), so the
// response runs as ordinary code, never inside an interrupted write: it removes this process's
// uncommitted temporary outputs (the previous outputs stay as they were), says so, and exits
// 128 + signal. Forked children (one SimGrid engine each) get the default actions back, so a
// Ctrl-C that reaches the whole process group ends them too.
sigset_t g_stop_signals;
sigset_t g_original_mask;

void restore_signals_in_child() { pthread_sigmask(SIG_SETMASK, &g_original_mask, nullptr); }

void install_stop_handler() {
  sigemptyset(&g_stop_signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&g_stop_signals, s);
  pthread_sigmask(SIG_BLOCK, &g_stop_signals, &g_original_mask);
  pthread_atfork(nullptr, nullptr, restore_signals_in_child);
  std::thread([] {
    int sig = 0;
    while (sigwait(&g_stop_signals, &sig) != 0) {
    }
    moesim::report::remove_pending_outputs();
    const std::string msg = fmt::format("moesim: interrupted by {}; unfinished outputs removed, earlier outputs left as they were\n",
                                        sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP");
    [[maybe_unused]] auto w = ::write(STDERR_FILENO, msg.data(), msg.size());
    _exit(128 + sig);
  }).detach();
}

}  // namespace

}  // namespace moesim::app

int main(int argc, char** argv) {
  using namespace moesim;
  // Step graphs, output chunks and SimGrid's parallel-task matrices are large buffers allocated and
  // freed again and again; served from the heap (not a fresh mmap each, unmapped on free, nor the
  // heap top trimmed back each time) they cost no page faults and TLB flushes after the first
  // (docs/performance.md, "Second pass").
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  app::install_stop_handler();
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
