#include "validate/layer/simulate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "models/workload/token_costs.hpp"
#include "sim/core/errors.hpp"
#include "sim/engine/engine.hpp"
#include "sim/report/pipeline.hpp"

namespace moesim::layercheck {
namespace {

// Value of a step function (points sorted by time, later points at equal times win) at time t.
double value_at(const std::vector<graph::MemoryPoint>& pts, double t) {
  double v = 0;
  for (const auto& p : pts) {
    if (p.time > t) break;
    v = p.bytes;
  }
  return v;
}

// The layer's resident weights: E experts + the router (token_costs: the same per-token costs the
// workload builders use).
double layer_weight_bytes(const model::ModelSpec& m) {
  for (int64_t l = 0; l < m.layers; ++l)
    if (m.is_moe_layer(l)) {
      auto c = workload::layer_token_costs(m, l, 1.0);
      return static_cast<double>(m.experts) * c.expert.weight_bytes + c.gate.weight_bytes;
    }
  return 0;
}

double transient_peak(const graph::DeviceMemory& mem, double from, double to) {
  const auto& a = mem.by_category[static_cast<size_t>(graph::MemCategory::a2a_buffers)];
  const auto& w = mem.by_category[static_cast<size_t>(graph::MemCategory::workspace)];
  std::vector<double> times{from};
  for (const auto* s : {&a, &w})
    for (const auto& p : *s)
      if (p.time >= from && p.time < to) times.push_back(p.time);
  double peak = 0;
  for (double t : times) peak = std::max(peak, value_at(a, t) + value_at(w, t));
  return peak;
}

SimResult extract(const scenario::Scenario& s, const report::RunResult& r) {
  SimResult out;
  const double weights = layer_weight_bytes(s.model);
  for (size_t i = 0; i < r.graphs.size() && i < r.timeline.steps.size(); ++i) {
    const auto& g = r.graphs[i];
    const auto& tl = r.timeline.steps[i];
    SimStep st;
    st.step = g.step;
    st.step_s = tl.end - tl.start;
    double moe_from = tl.end, moe_to = tl.start, outside = 0;
    for (size_t j = 0; j < g.tasks.size(); ++j) {
      const auto& t = g.tasks[j];
      const double d = tl.tasks[j].end - tl.tasks[j].start;
      st.op_s[t.op] += d;
      if (t.op == "attention" || t.op == "lm_head") {
        outside += d;
      } else {
        moe_from = std::min(moe_from, tl.tasks[j].start);
        moe_to = std::max(moe_to, tl.tasks[j].end);
      }
    }
    st.moe_s = st.step_s - outside;
    if (i < r.steps.size()) {
      const auto& extra = r.steps[i].extra;
      if (auto it = extra.find("bytes_read"); it != extra.end()) st.bytes_read = it->second;
      if (auto it = extra.find("cache_misses"); it != extra.end()) st.misses = it->second;
    }
    if (!r.memory.devices.empty() && moe_to > moe_from)
      st.layer_memory_bytes = weights + transient_peak(r.memory.devices[0], moe_from, moe_to);
    out.steps.push_back(std::move(st));
  }
  for (const auto& d : r.memory.devices) out.device_peak_bytes = std::max(out.device_peak_bytes, d.peak_bytes);
  out.notes = s.routing->notes();
  return out;
}

}  // namespace

std::string serialize(const SimResult& r) {
  std::string o = fmt::format("peak {:.17g}\n", r.device_peak_bytes);
  for (const auto& n : r.notes) o += "note " + n + "\n";
  for (const auto& st : r.steps) {
    o += fmt::format("step {} {:.17g} {:.17g} {:.17g} {:.17g} {:.17g}", st.step, st.step_s, st.moe_s, st.bytes_read,
                     st.misses, st.layer_memory_bytes);
    for (const auto& [op, v] : st.op_s) o += fmt::format(" {}={:.17g}", op, v);
    o += "\n";
  }
  return o;
}

SimResult deserialize(const std::string& text) {
  SimResult r;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    std::string tag;
    ls >> tag;
    if (tag == "peak") {
      ls >> r.device_peak_bytes;
    } else if (tag == "note") {
      r.notes.push_back(line.size() > 5 ? line.substr(5) : "");
    } else if (tag == "step") {
      SimStep st;
      ls >> st.step >> st.step_s >> st.moe_s >> st.bytes_read >> st.misses >> st.layer_memory_bytes;
      for (std::string kv; ls >> kv;) {
        const auto eq = kv.find('=');
        if (eq != std::string::npos) st.op_s[kv.substr(0, eq)] = std::stod(kv.substr(eq + 1));
      }
      r.steps.push_back(std::move(st));
    }
  }
  return r;
}

SimResult simulate(const std::filesystem::path& scenario) {
  const std::string text = engine::run_in_child([&] {
    auto s = scenario::load_scenario(scenario);
    auto options = report::read_engine(*s);
    auto result = report::run_scenario(*s, options);
    return serialize(extract(*s, result));
  });
  return deserialize(text);
}

WorkloadShape read_workload_shape(const std::filesystem::path& scenario) {
  auto doc = config::Document::load_file(scenario);
  auto w = config::Table::root(doc).table("workload");
  WorkloadShape sh;
  const std::string kind = w.string("kind");
  if (kind == "inference") sh.check = "moe_layer";
  else if (kind == "offload_inference") sh.check = "offload";
  else throw ConfigError(w.where("kind"), "workload.kind", "'" + kind + "' is not a layer check (inference, offload_inference)");
  sh.tokens_per_step = w.integer("batch");
  sh.steps = w.integer("generate_tokens");
  if (sh.check == "offload") sh.cache_experts = w.integer("cache_experts");
  return sh;
}

}  // namespace moesim::layercheck
