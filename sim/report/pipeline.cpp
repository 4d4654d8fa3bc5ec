#include "sim/report/pipeline.hpp"

namespace moesim::report {

engine::EngineOptions read_engine(scenario::Scenario& s) { return engine::read_engine_options(*s.engine); }

RunResult run_scenario(scenario::Scenario& s, const engine::EngineOptions& options) {
  RunResult r;
  engine::StepSource source = [&](int64_t step, const graph::Timeline& so_far) -> std::optional<graph::StepGraph> {
    s.workload->observe(so_far);
    if (step >= s.workload->steps()) return std::nullopt;
    workload::BuiltStep b = s.workload->build(step);
    r.steps.push_back(b.info);
    r.graphs.push_back(b.graph);
    return std::move(b.graph);
  };
  r.timeline = engine::run(*s.topology, source, options);
  r.memory = graph::derive_memory(r.graphs, r.timeline, s.topology->device_count(), s.device_capacity());
  return r;
}

}  // namespace moesim::report
