#include "sim/report/pipeline.hpp"

namespace moesim::report {

engine::EngineOptions read_engine(scenario::Scenario& s) { return engine::read_engine_options(*s.engine); }

RunResult run_scenario(scenario::Scenario& s, const engine::EngineOptions& options) {
  RunResult r;
  engine::StepRefSource source = [&](int64_t step, const graph::Timeline& so_far) -> const graph::StepGraph* {
    s.workload->observe(so_far);
    if (step >= s.workload->steps()) return nullptr;
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
