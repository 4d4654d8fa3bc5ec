#pragma once
// The typed Scenario: everything a run needs, read from one TOML document with presets resolved,
// units parsed and every table finish()ed (unknown keys are errors). Tables (docs/scenarios.md):
//
//   name, seed, description          top level
//   [model]     read_model (preset from models/catalog + overrides)
//   [cluster]   read_topology (devices, links, fabrics; docs/engine.md)
//   [compute]   compute model of the devices (kind = "roofline", default)
//   [parallel]  sharding strategy (kind = "ep", ep = ...) and layout (pp, zero_stage, recompute,
//               [parallel.schedule]; models/workload/layout.hpp)
//   [routing]   routing source (kind = "uniform" | "popularity" | "trace" | ...)
//   [workload]  builder (kind = "inference" | "training")
//   [engine]    engine options: kept as a table, read by engine::read_engine_options (the engine
//               layer sits above this one; sim/report/pipeline reads it)
//   [output]    what to write and when to fail
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "hardware/compute_model.hpp"
#include "hardware/topology/topology.hpp"
#include "models/model_spec.hpp"
#include "models/routing/routing.hpp"
#include "models/workload/layout.hpp"
#include "models/workload/workload.hpp"
#include "sim/core/config.hpp"

namespace moesim::scenario {

struct OutputOptions {
  std::filesystem::path dir = "out";    // results go to <dir>/<name>/
  bool timeline = true;                 // write timeline.json
  int64_t timeline_max_devices = 256;   // timeline.json shows at most this many devices (0 .. max-1)
  bool fail_on_memory_overflow = false; // exit non-zero when a device goes over capacity
};

// Not copyable or movable: the workload context points into it.
struct Scenario {
  config::Document doc;
  std::string source;        // the scenario file
  std::string name;
  std::string description;
  uint64_t seed = 0;
  model::ModelSpec model;
  // Held by pointer and built in place: a Topology keeps Boost edge descriptors that a copy would
  // leave pointing into the original graph.
  std::unique_ptr<hw::Topology> topology;
  std::unique_ptr<hw::IComputeModel> compute;
  std::unique_ptr<workload::Layout> layout;  // [parallel] pp, ZeRO, recomputation, schedule
  std::unique_ptr<workload::IShardingStrategy> sharding;
  std::unique_ptr<routing::IRoutingSource> routing;
  workload::WorkloadContext context;
  std::unique_ptr<workload::IWorkload> workload;
  std::unique_ptr<config::Table> engine;  // the [engine] table, read by the engine layer
  OutputOptions output;

  Scenario() = default;
  Scenario(const Scenario&) = delete;
  Scenario& operator=(const Scenario&) = delete;

  // Usable memory of each device (capacity - reserved).
  std::vector<double> device_capacity() const;
};

// Loads `path`, applies "--set key=value" assignments in order, reads everything. Throws
// ConfigError (file:line:col), IoError (missing file) or InfeasibleError.
std::unique_ptr<Scenario> load_scenario(const std::filesystem::path& path, const std::vector<std::string>& sets = {});
// Reads an already parsed document (tests).
std::unique_ptr<Scenario> read_scenario(config::Document doc);

}  // namespace moesim::scenario
