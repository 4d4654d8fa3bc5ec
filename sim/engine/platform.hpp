#pragma once
// The SimGrid platform built from a Topology, in C++ (no XML): one SimGrid host per topology
// vertex, one split-duplex link per full-duplex link pair (a simplex link for one-way edges such
// as a storage read path), and one route per directed edge between its two endpoint hosts.
// Links have zero SimGrid latency: the executor pays route latencies itself (alpha-beta), so
// SimGrid only shares bandwidth. Include only from sim/engine/*.cpp.
#include <simgrid/s4u.hpp>
#include <vector>

#include "hardware/topology/topology.hpp"

namespace moesim::engine {

// Speed of every SimGrid host (flop/s). Hosts compute nothing but the SM budget of collectives
// (executor.cpp): a device's SM seconds of a phase are carried as seconds x kHostSpeed flops on
// its host, inside the phase's parallel task.
inline constexpr double kHostSpeed = 1e9;

struct Platform {
  std::vector<simgrid::s4u::Host*> hosts;  // per topology vertex
};

// Needs a live s4u::Engine configured with host/model:ptask_L07; seals the platform.
Platform build_platform(const hw::Topology& topo);

}  // namespace moesim::engine
