#include "sim/report/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "sim/core/units.hpp"

namespace moesim::report {

bool is_all_to_all(const std::string& op) {
  return op == "dispatch" || op == "combine" || op == "dispatch_bwd" || op == "combine_bwd";
}

double a2a_wall_seconds(const graph::StepGraph& g, const graph::StepTimeline& t) {
  std::vector<std::pair<double, double>> spans;
  for (size_t j = 0; j < g.tasks.size() && j < t.tasks.size(); ++j)
    if (is_all_to_all(g.tasks[j].op)) spans.emplace_back(t.tasks[j].start, t.tasks[j].end);
  std::sort(spans.begin(), spans.end());
  double total = 0, open_start = 0, open_end = -1;
  for (const auto& [a, b] : spans) {
    if (a > open_end) {
      if (open_end > open_start) total += open_end - open_start;
      open_start = a, open_end = b;
    } else {
      open_end = std::max(open_end, b);
    }
  }
  if (open_end > open_start) total += open_end - open_start;
  return total;
}

namespace {

bool is_a2a(const std::string& op) { return is_all_to_all(op); }
bool is_attention(const std::string& op) { return op == "attention" || op == "attention_bwd"; }
bool is_expert(const std::string& op) { return op == "expert_ffn" || op == "expert_ffn_bwd"; }

double percentile(std::vector<double> v, double q) {  // nearest rank
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
}

struct LayerAcc {
  double attention = 0, other = 0, dispatch = 0, combine = 0, bytes = 0;
  std::vector<double> expert_by_device;
  bool moe = false;
};

double matrix_bytes(const graph::CollectiveWork& c) {
  double s = 0;
  size_t n = c.group.size();
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) if (i != j) s += c.matrix[i * n + j];
  return s;
}

void fill_layers(const scenario::Scenario& s, const RunResult& r, Summary& out) {
  int32_t P = s.topology->device_count();
  std::map<int32_t, LayerAcc> acc;
  for (size_t i = 0; i < r.graphs.size() && i < r.timeline.steps.size(); ++i) {
    const auto& g = r.graphs[i];
    const auto& tl = r.timeline.steps[i];
    for (size_t j = 0; j < g.tasks.size(); ++j) {
      const auto& t = g.tasks[j];
      if (t.layer < 0) continue;
      double span = tl.tasks[j].end - tl.tasks[j].start;
      auto& a = acc[t.layer];
      a.expert_by_device.resize(static_cast<size_t>(P), 0.0);
      a.moe = a.moe || is_expert(t.op);
      if (auto* c = std::get_if<graph::CollectiveWork>(&t.work)) {
        if (!is_a2a(t.op)) continue;
        (t.op.rfind("dispatch", 0) == 0 ? a.dispatch : a.combine) += span;
        a.bytes += matrix_bytes(*c);
      } else if (auto* w = std::get_if<graph::ComputeWork>(&t.work)) {
        if (is_attention(t.op)) a.attention += span / P;
        else if (is_expert(t.op)) a.expert_by_device[static_cast<size_t>(w->device)] += span;
        else a.other += span / P;
      }
    }
  }
  double n = std::max<double>(1.0, static_cast<double>(r.graphs.size()));
  for (auto& [layer, a] : acc) {
    LayerMetrics m;
    m.layer = layer;
    m.moe = a.moe;
    m.attention_s = a.attention / n;
    m.other_compute_s = a.other / n;
    double sum = 0, mx = 0;
    for (double e : a.expert_by_device) sum += e, mx = std::max(mx, e);
    m.expert_mean_s = sum / P / n;
    m.expert_max_s = mx / n;
    m.dispatch_s = a.dispatch / n;
    m.combine_s = a.combine / n;
    m.a2a_bytes = a.bytes / n;
    m.a2a_share = out.step_mean > 0 ? (m.dispatch_s + m.combine_s) / out.step_mean : 0;
    out.layers.push_back(m);
  }
}

void fill_steps(const RunResult& r, Summary& out) {
  std::vector<double> durations, decode;
  double output_tokens = 0, prefill_tokens = 0, prefill_seconds = 0;
  for (size_t i = 0; i < r.steps.size() && i < r.timeline.steps.size(); ++i) {
    StepMetrics m;
    m.info = r.steps[i];
    m.start = r.timeline.steps[i].start;
    m.end = r.timeline.steps[i].end;
    const auto& g = r.graphs[i];
    for (size_t j = 0; j < g.tasks.size(); ++j)
      if (is_a2a(g.tasks[j].op)) m.a2a_seconds += r.timeline.steps[i].tasks[j].end - r.timeline.steps[i].tasks[j].start;
    double d = m.end - m.start;
    durations.push_back(d);
    if (m.info.phase == "prefill" && out.ttft < 0) out.ttft = m.end;
    if (m.info.phase == "prefill") prefill_tokens += static_cast<double>(m.info.tokens), prefill_seconds += d;
    if (m.info.phase == "decode") decode.push_back(d);
    output_tokens += static_cast<double>(m.info.output_tokens);
    out.inter_node_bytes += m.info.inter_node_bytes;
    out.routed_slots += m.info.routed_slots;
    out.dropped_slots += m.info.dropped_slots;
    out.a2a_seconds_per_step += m.a2a_seconds;
    out.a2a_bytes_per_step += m.info.a2a_bytes;
    out.step_metrics.push_back(m);
  }
  out.steps = static_cast<int64_t>(durations.size());
  out.total_time = r.timeline.end;
  if (!durations.empty()) {
    double sum = 0;
    for (double d : durations) sum += d;
    out.step_mean = sum / static_cast<double>(durations.size());
    out.step_p50 = percentile(durations, 0.5);
    out.step_max = *std::max_element(durations.begin(), durations.end());
    out.step_min = *std::min_element(durations.begin(), durations.end());
    out.a2a_seconds_per_step /= static_cast<double>(durations.size());
    out.a2a_bytes_per_step /= static_cast<double>(durations.size());
  }
  if (!decode.empty()) {
    double sum = 0;
    for (double d : decode) sum += d;
    out.tpot = sum / static_cast<double>(decode.size());
  }
  out.tokens_per_s = out.total_time > 0 ? output_tokens / out.total_time : 0;
  if (prefill_seconds > 0) out.prefill_tokens_per_s = prefill_tokens / prefill_seconds;
  out.a2a_share = out.step_mean > 0 ? out.a2a_seconds_per_step / out.step_mean : 0;
}

void fill_devices(const scenario::Scenario& s, const RunResult& r, Summary& out) {
  int32_t P = s.topology->device_count();
  auto capacity = s.device_capacity();
  std::vector<double> busy(static_cast<size_t>(P), 0.0);
  for (size_t i = 0; i < r.graphs.size() && i < r.timeline.steps.size(); ++i)
    for (size_t j = 0; j < r.graphs[i].tasks.size(); ++j)
      if (auto* w = std::get_if<graph::ComputeWork>(&r.graphs[i].tasks[j].work))
        busy[static_cast<size_t>(w->device)] += r.timeline.steps[i].tasks[j].end - r.timeline.steps[i].tasks[j].start;
  double util_sum = 0;
  for (int32_t d = 0; d < P; ++d) {
    DeviceMetrics m;
    m.device = d;
    m.node = s.topology->node_of(d);
    m.compute_busy_s = busy[d];
    m.compute_utilization = out.total_time > 0 ? busy[d] / out.total_time : 0;
    m.capacity_bytes = capacity[d];
    if (d < static_cast<int32_t>(r.memory.devices.size())) {
      const auto& mem = r.memory.devices[d];
      m.memory_peak_bytes = mem.peak_bytes;
      m.memory_peak_time = mem.peak_time;
      m.at_peak.assign(mem.at_peak.begin(), mem.at_peak.end());
    }
    if (m.memory_peak_bytes > out.memory_peak_bytes) out.memory_peak_bytes = m.memory_peak_bytes, out.memory_peak_device = d;
    util_sum += m.compute_utilization;
    out.device_metrics.push_back(std::move(m));
  }
  out.mean_compute_utilization = P > 0 ? util_sum / P : 0;
  for (const auto& f : r.memory.over_capacity)
    out.findings.push_back(fmt::format("memory: device {} over capacity by {} at {} ({} peak of {})", f.device,
                                       format_bytes(Bytes(f.over_bytes)), format_seconds(Seconds(f.time)),
                                       format_bytes(Bytes(f.peak_bytes)), format_bytes(Bytes(f.capacity))));
}

void fill_links(const RunResult& r, Summary& out) {
  const graph::LinkUsage* best = nullptr;
  for (const auto& l : r.timeline.links)
    if (!best || l.bytes > best->bytes || (l.bytes == best->bytes && l.link < best->link)) best = &l;
  if (!best) return;
  out.busiest_link = best->link;
  out.busiest_link_bytes = best->bytes;
  out.busiest_link_utilization = best->capacity > 0 && out.total_time > 0 ? best->bytes / (best->capacity * out.total_time) : 0;
}

}  // namespace

Summary summarize(const scenario::Scenario& s, const RunResult& r) {
  Summary out;
  out.name = s.name;
  out.seed = s.seed;
  out.workload = s.workload->is_inference() ? "inference" : "training";
  out.cluster = s.topology->describe();
  out.devices = s.topology->device_count();
  fill_steps(r, out);
  fill_layers(s, r, out);
  fill_devices(s, r, out);
  fill_links(r, out);
  out.notes = s.routing->notes();
  if (s.output.timeline && s.topology->device_count() > s.output.timeline_max_devices)
    out.notes.push_back(fmt::format("timeline.json shows devices 0-{} of {} ([output] timeline_max_devices = {})",
                                    s.output.timeline_max_devices - 1, s.topology->device_count(),
                                    s.output.timeline_max_devices));
  out.workload_metrics = s.workload->run_metrics(r.steps, r.graphs, r.timeline);
  out.workload_metrics_top_level = s.workload->top_level_metrics();
  return out;
}

}  // namespace moesim::report
