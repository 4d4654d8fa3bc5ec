#pragma once
// `moesim bench` benchmarks that run whole scenarios (sim/app/cmd_bench_scenarios.cpp): each run is
// a child process of a moesim binary (this one, or a --baseline binary for the before column),
// measured with wait4: wall time, CPU time and peak RSS (docs/performance.md).
#include <string>
#include <vector>

namespace moesim::app {

struct ScenarioBenchArgs {
  std::string what;                  // deepseek | decode | small
  std::vector<int> devices = {64, 256, 1024, 2048};
  std::string scenario;              // default per benchmark
  std::string baseline;              // another moesim binary measured beside this one
  int baseline_up_to = 64;           // run the baseline only up to this many devices
  double timeout_s = 600;            // a run still going after this is stopped and reported as such
  int repeat = 20;                   // small: runs of the scenario
};

bool is_scenario_bench(const std::string& what);
void bench_scenarios(const ScenarioBenchArgs& a);

}  // namespace moesim::app
