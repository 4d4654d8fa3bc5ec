#include "sim/report/pipeline.hpp"

namespace moesim::report {

engine::EngineOptions read_engine(scenario::Scenario& s) { return engine::read_engine_options(*s.engine); }

RunResult run_scenario(scenario::Scenario& s, const engine::EngineOptions& options) {
  RunResult r;
  const int64_t steps = s.workload->steps();
  engine::StepRefSource source = [&](int64_t step, const graph::Timeline&) -> const graph::StepGraph* {
    if (step >= steps) return nullptr;
    workload::BuiltStep b = s.workload->build(step);
    r.steps.push_back(std::move(b.info));
    r.graphs.push_back(std::move(b.graph));
    return &r.graphs.back();  // valid until the next call (the engine is done with it then)
  };
  r.timeline = engine::run_refs(*s.topology, source, options);
  r.memory = graph::derive_memory(r.graphs, r.timeline, s.topology->device_count(), s.device_capacity());
  return r;
}

}  // namespace moesim::report
