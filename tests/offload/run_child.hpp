#pragma once
// Runs a scenario in a forked child (SimGrid allows one engine per process) and returns its
// headline metrics plus the workload's own (run_metrics), as name -> value.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <sstream>
#include <string>
#include <tuple>

#include "sim/report/metrics.hpp"
#include "sim/report/pipeline.hpp"

namespace moesim::offload::testing {

using Metrics = std::map<std::string, double>;

inline Metrics metrics_of(scenario::Scenario& s) {
  auto r = report::run_scenario(s, report::read_engine(s));
  auto sum = report::summarize(s, r);
  Metrics m{{"tpot_s", sum.tpot}, {"ttft_s", sum.ttft}, {"tokens_per_s", sum.tokens_per_s},
            {"memory_peak_bytes", sum.memory_peak_bytes}};
  for (const auto& [k, v] : s.workload->run_metrics(r.steps, r.graphs, r.timeline)) m[k] = v;
  for (const auto& d : sum.device_metrics)
    if (d.at_peak.size() > 7) m["expert_cache_at_peak"] = d.at_peak[7];
  return m;
}

template <class Load>  // Load: () -> std::unique_ptr<scenario::Scenario>
Metrics run_in_child(Load load) {
  int fd[2];
  if (pipe(fd) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    std::ostringstream o;
    o.precision(17);
    try {
      auto s = load();
      for (const auto& [k, v] : metrics_of(*s)) o << k << ' ' << v << '\n';
    } catch (const std::exception& e) {
      o << "error 1\n";
      std::string msg = std::string(e.what()) + "\n";
      std::ignore = write(2, msg.data(), msg.size());
    }
    std::string text = o.str();
    std::ignore = write(fd[1], text.data(), text.size());
    _exit(0);
  }
  close(fd[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  Metrics m;
  std::istringstream in(text);
  std::string k;
  double v;
  while (in >> k >> v) m[k] = v;
  EXPECT_TRUE(WIFEXITED(status) && m.count("error") == 0 && !m.empty()) << "scenario failed in the child (see stderr)";
  return m;
}

}  // namespace moesim::offload::testing
