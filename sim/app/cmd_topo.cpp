// `moesim topo <scenario.toml> [--dot] [-o FILE] [--set k=v]...`: builds the [cluster] topology
// of a scenario and prints a summary, or its Graphviz graph with --dot.
#include <fmt/format.h>

#include <fstream>

#include "hardware/topology/topology.hpp"
#include "sim/app/command.hpp"
#include "sim/core/config.hpp"

namespace moesim::app {
namespace {

struct TopoArgs {
  std::string scenario;
  std::vector<std::string> sets;
  bool dot = false;
  std::string out;
};

std::string summary(const hw::Topology& t) {
  int32_t switches = 0, nics = 0;
  for (hw::VertexId v = 0; v < t.vertex_count(); ++v) {
    switches += t.vertex(v).kind == hw::VertexKind::fabric_switch;
    nics += t.vertex(v).kind == hw::VertexKind::nic;
  }
  std::string s = fmt::format("{}\n{} devices, {} switches, {} NICs, {} directed links\n", t.describe(),
                              t.device_count(), switches, nics, t.edge_count());
  if (t.device_count() > 1) {
    const auto r = t.route(0, t.device_count() - 1);
    s += fmt::format("route device 0 -> {} ({} hops, {}):", t.device_count() - 1, r.size(),
                     format_seconds(Seconds(t.route_latency(r))));
    for (auto e : r) s += fmt::format("\n  {} ({:.1f} GB/s)", t.edge(e).name, t.edge(e).capacity() / 1e9);
    s += "\n";
  }
  return s;
}

void topo(const TopoArgs& a) {
  auto doc = config::Document::load_file(a.scenario);
  for (const auto& s : a.sets) doc.apply_set(s);
  const auto t = hw::read_topology(config::Table::root(doc).table("cluster"));
  const std::string text = a.dot ? t.to_dot() : summary(t);
  if (a.out.empty()) {
    fmt::print("{}", text);
    return;
  }
  std::ofstream f(a.out);
  if (!(f << text)) throw IoError(fmt::format("{}: cannot write", a.out));
}

MOESIM_COMMAND(35, [](CLI::App& app) {
  auto args = std::make_shared<TopoArgs>();
  auto* cmd = app.add_subcommand("topo", "Build a scenario's [cluster] topology; print a summary or --dot (Graphviz)");
  cmd->add_option("scenario", args->scenario, "Scenario TOML file")->required();
  cmd->add_flag("--dot", args->dot, "Write the topology graph in Graphviz dot format");
  cmd->add_option("-o,--output", args->out, "Write to this file instead of stdout");
  cmd->add_option("--set", args->sets, "Override a value: --set cluster.nodes=4");
  cmd->callback([args] { topo(*args); });
});

}  // namespace
}  // namespace moesim::app
