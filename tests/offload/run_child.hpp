#pragma once
// Runs a scenario in a forked child (SimGrid allows one engine per process) and returns its
// headline metrics plus the workload's own (run_metrics), as name -> value.
#include <gtest/gtest.h>
#include <map>
#include <sstream>
#include <string>

#include "sim/engine/engine.hpp"
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
  std::string text;
  try {
    text = engine::run_in_child([&] {
      auto s = load();
      std::ostringstream o;
      o.precision(17);
      for (const auto& [k, v] : metrics_of(*s)) o << k << ' ' << v << '\n';
      return o.str();
    });
  } catch (const std::exception& e) {
    ADD_FAILURE() << "scenario failed in the child: " << e.what();
    return {};
  }
  Metrics m;
  std::istringstream in(text);
  std::string k;
  double v;
  while (in >> k >> v) m[k] = v;
  EXPECT_FALSE(m.empty()) << "the child returned no metrics";
  return m;
}

}  // namespace moesim::offload::testing
