#pragma once
// The progress line of `moesim run` and `moesim compare` on stderr: step, share of the step's
// tasks done, the task that ended last (its layer), simulated time, elapsed and ETA. Shown only
// when stderr is a terminal and the run has lasted more than kQuietFor; redrawn at most every
// kRedrawEvery; erased when the run ends (so outputs and pipes never see it).
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "sim/engine/engine.hpp"

namespace moesim::app {

class ProgressLine {
 public:
  static constexpr double kQuietFor = 2.0;     // seconds
  static constexpr double kRedrawEvery = 0.2;  // seconds

  explicit ProgressLine(int64_t steps, std::string label = "")
      : steps_(std::max<int64_t>(1, steps)), label_(std::move(label)), start_(Clock::now()) {}
  ~ProgressLine() { clear(); }

  // Installs the line into the engine options when stderr is a terminal; returns the line (or null).
  static std::shared_ptr<ProgressLine> attach(engine::EngineOptions& o, int64_t steps, std::string label = "") {
    if (!isatty(STDERR_FILENO)) return nullptr;
    auto line = std::make_shared<ProgressLine>(steps, std::move(label));
    o.progress = [raw = line.get()](const engine::Progress& p) { raw->update(p); };
    return line;
  }

  void update(const engine::Progress& p) {
    const double now = seconds_since(start_);
    if (now < kQuietFor || now - last_draw_ < kRedrawEvery) return;
    last_draw_ = now;
    const double done = (static_cast<double>(p.step) + static_cast<double>(p.tasks_done) / std::max<size_t>(1, p.tasks_total)) /
                        static_cast<double>(steps_);
    const double eta = done > 0 ? now / done - now : 0.0;
    fmt::print(stderr, "\r\033[K{}step {}/{}  tasks {:.0f}%  {}  simulated {:.4g} s  elapsed {:.0f} s  ETA {:.0f} s",
               label_.empty() ? "" : label_ + ": ", p.step + 1, steps_,
               100.0 * static_cast<double>(p.tasks_done) / std::max<size_t>(1, p.tasks_total),
               p.last_task ? *p.last_task : std::string(), p.simulated_s, now, eta);
    std::fflush(stderr);
    drawn_ = true;
  }

  void clear() {
    if (!drawn_) return;
    fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }

 private:
  using Clock = std::chrono::steady_clock;
  static double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
  int64_t steps_;
  std::string label_;
  Clock::time_point start_;
  double last_draw_ = -1e9;
  bool drawn_ = false;
};

}  // namespace moesim::app
