#pragma once
// Validation at the engine's entry (docs/robustness.md): every number handed to SimGrid must be one
// it can simulate. SimGrid aborts the process ("duration is not finite", "Deadlock") on a NaN or
// infinite duration, a zero or denormal bandwidth, or a rate its solver's precision cannot resolve,
// so these are refused here with an InfeasibleError naming the link or task. No SimGrid types.
#include "hardware/topology/topology.hpp"
#include "sim/graph/step_graph.hpp"

namespace moesim::engine {

// Link capacities (bandwidth x lanes x efficiency) in [1 kB/s, 1 EB/s], latencies and message
// overheads finite in [0, 10^7 s].
void check_topology(const hw::Topology& topo);
// Compute and delay durations finite in [0, 10^7 s]; bytes (transfers, copies, reads, matrices)
// finite and in [0, 2^70]; every device id inside the topology.
void check_step_graph(const graph::StepGraph& g, int32_t devices);

}  // namespace moesim::engine
