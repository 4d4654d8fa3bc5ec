#include "sim/scenario/scenario.hpp"

#include <fmt/format.h>

#include "models/model_reader.hpp"
#include "models/workload/layout.hpp"

namespace moesim::scenario {
namespace {

OutputOptions read_output(const config::Table& t) {
  OutputOptions o;
  o.dir = t.string_or("dir", o.dir.string());
  o.timeline = t.boolean_or("timeline", o.timeline);
  o.timeline_max_devices = t.integer_in_or("timeline_max_devices", 1, int64_t{1} << 30, o.timeline_max_devices);
  o.fail_on_memory_overflow = t.boolean_or("fail_on_memory_overflow", o.fail_on_memory_overflow);
  t.finish();
  return o;
}

// Output folder names must stay inside the output directory.
void check_name(const config::Table& root, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find_first_of("/\\") != std::string::npos)
    root.fail("name", fmt::format("'{}' is not a valid folder name (no slashes, not empty)", name));
}

routing::RoutingContext routing_context(const Scenario& s) {
  routing::RoutingContext c;
  c.num_experts = static_cast<int32_t>(s.model.experts);
  c.top_k = static_cast<int32_t>(s.model.top_k);
  c.num_moe_layers = static_cast<int32_t>(s.model.moe_layer_count());
  c.devices = s.topology->device_count();
  c.devices_per_node = s.topology->devices_per_node();
  if (s.model.experts > 0) {
    auto place = s.sharding->place(workload::PlacementRequest{0, 0, 0});
    for (const auto& h : place.holders) c.expert_device.push_back(h.empty() ? -1 : h[0]);
  }
  c.seed = s.seed;
  return c;
}

}  // namespace

std::vector<double> Scenario::device_capacity() const {
  std::vector<double> c;
  for (int32_t d = 0; d < topology->device_count(); ++d) {
    const auto& dev = topology->device(d);
    c.push_back(dev.memory_capacity.value - dev.reserved_memory.value);
  }
  return c;
}

std::unique_ptr<Scenario> read_scenario(config::Document doc) {
  auto s = std::make_unique<Scenario>();
  s->doc = std::move(doc);
  s->source = s->doc.source_name();
  config::Table root = config::Table::root(s->doc);
  std::string stem = std::filesystem::path(s->source).stem().string();
  s->name = root.string_or("name", stem.empty() ? "scenario" : stem);
  check_name(root, s->name);
  s->description = root.string_or("description", "");
  s->seed = static_cast<uint64_t>(root.integer_in_or("seed", 0, INT64_MAX, 0));

  s->model = model::read_model(root.table("model"));
  s->topology.reset(new hw::Topology(hw::read_topology(root.table("cluster"))));
  s->compute = hw::make_compute_model(root.table_or_empty("compute"));

  workload::ShardingContext sc;
  sc.num_experts = static_cast<int32_t>(s->model.experts);
  sc.devices = s->topology->device_count();
  for (int32_t d = 0; d < sc.devices; ++d) sc.node_of.push_back(s->topology->node_of(d));
  // [parallel]: the layout keys (pp, ZeRO, recomputation, schedule) first, then the sharding
  // strategy, built over one pipeline stage's devices (every stage has the same arrangement).
  config::Table parallel = root.table_or_empty("parallel");
  std::vector<int32_t> all_nodes = sc.node_of;
  s->layout = std::make_unique<workload::Layout>(workload::read_layout(parallel, s->model.layers, all_nodes));
  sc.devices = s->layout->stage_size();
  sc.node_of.clear();
  for (int32_t d : s->layout->stage_devices[0]) sc.node_of.push_back(all_nodes[d]);
  s->sharding = workload::ShardingRegistry::instance().create_or(parallel, "ep", sc);
  sc.devices = s->topology->device_count();
  sc.node_of = all_nodes;
  s->routing = routing::RoutingRegistry::instance().create(root.table("routing"), routing_context(*s));

  s->context.model = &s->model;
  s->context.cluster.devices = sc.devices;
  s->context.cluster.node_of = sc.node_of;
  s->context.cluster.memory_bytes = s->device_capacity();
  s->context.seed = s->seed;
  const hw::Topology* topo = s->topology.get();
  const hw::IComputeModel* cm = s->compute.get();
  s->context.compute_time = [topo, cm](const graph::ComputeWork& w) {
    return cm->time(topo->device(w.device), hw::ComputeOp{w.flops, w.bytes, w.dtype, w.gemm_m, w.kernels, 0, w.operators});
  };
  s->context.routing = s->routing.get();
  s->context.sharding = s->sharding.get();
  s->context.layout = s->layout.get();
  s->workload = workload::WorkloadRegistry::instance().create(root.table("workload"), s->context);

  s->engine = std::make_unique<config::Table>(root.table_or_empty("engine"));
  s->output = read_output(root.table_or_empty("output"));
  // [[variants]] and [compare] are read by `moesim compare` (sim/app/cmd_compare.cpp); a plain
  // run simulates the scenario as written (the base every variant overrides).
  // [sweep] and [plan] are read by `moesim sweep` / `moesim plan` (sim/plan).
  root.allow({"variants", "compare", "sweep", "plan"});
  root.finish();
  return s;
}

std::unique_ptr<Scenario> load_scenario(const std::filesystem::path& path, const std::vector<std::string>& sets) {
  config::Document doc = config::Document::load_file(path);
  for (const auto& a : sets) doc.apply_set(a);
  return read_scenario(std::move(doc));
}

}  // namespace moesim::scenario
