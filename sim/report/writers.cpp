#include "sim/report/writers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <nlohmann/json.hpp>

#include "sim/core/errors.hpp"
#include "sim/core/units.hpp"
#include "sim/report/atomic_output.hpp"
#include "sim/report/links_csv.hpp"
#include "sim/report/text_sink.hpp"
#include "sim/report/timeline_json.hpp"

namespace moesim::report {
namespace {

using ojson = nlohmann::ordered_json;

std::string num(double v) { return fmt::format("{:.9g}", v); }

ojson category_map(const std::vector<double>& by_category) {
  ojson j = ojson::object();
  for (size_t c = 0; c < by_category.size(); ++c)
    if (by_category[c] != 0) j[std::string(graph::mem_category_name(static_cast<graph::MemCategory>(c)))] = by_category[c];
  return j;
}

}  // namespace

std::string summary_json(const Summary& s) {
  ojson j;
  j["name"] = s.name;
  j["seed"] = s.seed;
  j["workload"] = s.workload;
  j["cluster"] = s.cluster;
  j["devices"] = s.devices;
  j["steps"] = s.steps;
  j["total_time_s"] = s.total_time;
  j["step_time_s"] = {{"mean", s.step_mean}, {"p50", s.step_p50}, {"min", s.step_min}, {"max", s.step_max}};
  j["tokens_per_s"] = s.tokens_per_s;
  if (s.prefill_tokens_per_s >= 0) j["prefill_tokens_per_s"] = s.prefill_tokens_per_s;
  if (s.ttft >= 0) j["ttft_s"] = s.ttft;
  if (s.tpot >= 0) j["tpot_s"] = s.tpot;
  j["all_to_all"] = {{"seconds_per_step", s.a2a_seconds_per_step},
                     {"bytes_per_step", s.a2a_bytes_per_step},
                     {"share_of_step", s.a2a_share}};
  j["inter_node_bytes"] = s.inter_node_bytes;
  j["routing"] = {{"routed_slots", s.routed_slots}, {"dropped_slots", s.dropped_slots},
                  {"dropped_fraction", s.routed_slots > 0 ? static_cast<double>(s.dropped_slots) / s.routed_slots : 0.0}};
  j["busiest_link"] = {{"link", s.busiest_link}, {"bytes", s.busiest_link_bytes},
                       {"utilization", s.busiest_link_utilization}};
  j["mean_compute_utilization"] = s.mean_compute_utilization;
  j["memory_peak"] = {{"device", s.memory_peak_device}, {"bytes", s.memory_peak_bytes}};
  ojson devs = ojson::array();
  for (const auto& d : s.device_metrics)
    devs.push_back({{"device", d.device}, {"node", d.node}, {"compute_busy_s", d.compute_busy_s},
                    {"compute_utilization", d.compute_utilization}, {"memory_peak_bytes", d.memory_peak_bytes},
                    {"memory_peak_time_s", d.memory_peak_time}, {"memory_capacity_bytes", d.capacity_bytes},
                    {"memory_at_peak", category_map(d.at_peak)}});
  j["devices_detail"] = devs;
  if (s.workload_metrics_top_level)
    for (const auto& [k, v] : s.workload_metrics) j[k] = v;
  else if (!s.workload_metrics.empty())
    j["workload_metrics"] = s.workload_metrics;
  j["findings"] = s.findings;
  j["notes"] = s.notes;
  return j.dump(2) + "\n";
}

std::string steps_csv(const Summary& s) {
  std::string out = "step,phase,tokens,output_tokens,start_s,end_s,duration_s,a2a_s,a2a_bytes,inter_node_bytes,routed_slots,dropped_slots\n";
  for (const auto& m : s.step_metrics)
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{}\n", m.info.step, m.info.phase, m.info.tokens,
                       m.info.output_tokens, num(m.start), num(m.end), num(m.end - m.start), num(m.a2a_seconds),
                       num(m.info.a2a_bytes), num(m.info.inter_node_bytes), m.info.routed_slots, m.info.dropped_slots);
  return out;
}

std::string layers_csv(const Summary& s) {
  std::string out = "layer,moe,attention_s,expert_mean_s,expert_max_s,other_compute_s,dispatch_s,combine_s,a2a_s,a2a_bytes,a2a_share\n";
  for (const auto& l : s.layers)
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", l.layer, l.moe ? 1 : 0, num(l.attention_s),
                       num(l.expert_mean_s), num(l.expert_max_s), num(l.other_compute_s), num(l.dispatch_s),
                       num(l.combine_s), num(l.dispatch_s + l.combine_s), num(l.a2a_bytes), num(l.a2a_share));
  return out;
}

void write_memory_csv(const RunResult& r, TextSink& sink) {
  // Rows appended straight into the sink's chunk (no string per row): memory.csv is the largest
  // file of a large run (one row per device, category and change).
  std::string& out = sink.text();
  out += "device,category,time_s,bytes\n";
  auto row = [&](graph::DeviceId device, std::string_view category, const graph::MemoryPoint& p) {
    append_int(out, device);
    out.push_back(',');
    out.append(category);
    out.push_back(',');
    append_g9(out, p.time);
    out.push_back(',');
    append_g9(out, p.bytes);
    out.push_back('\n');
  };
  for (const auto& d : r.memory.devices) {
    for (int c = 0; c < graph::kMemCategories; ++c) {
      auto name = graph::mem_category_name(static_cast<graph::MemCategory>(c));
      for (const auto& p : d.by_category[static_cast<size_t>(c)]) row(d.device, name, p);
      sink.spill();
    }
    for (const auto& p : d.total) row(d.device, "total", p);
    sink.spill();
  }
}

std::string memory_csv(const RunResult& r) {
  StringSink s;
  write_memory_csv(r, s);
  return s.take();
}

std::string text_table(const Summary& s) {
  std::string o;
  auto row = [&](std::string_view k, const std::string& v) { o += fmt::format("  {:<22} {}\n", k, v); };
  o += fmt::format("{} — {} on {}\n", s.name, s.workload, s.cluster);
  row("steps", fmt::format("{}, simulated time {}", s.steps, format_seconds(Seconds(s.total_time))));
  row("step time", fmt::format("mean {}  p50 {}  max {}", format_seconds(Seconds(s.step_mean)),
                               format_seconds(Seconds(s.step_p50)), format_seconds(Seconds(s.step_max))));
  row("throughput", fmt::format("{:.1f} tokens/s", s.tokens_per_s));
  if (s.prefill_tokens_per_s >= 0) row("prefill throughput", fmt::format("{:.1f} prompt tokens/s", s.prefill_tokens_per_s));
  if (s.ttft >= 0) row("TTFT", format_seconds(Seconds(s.ttft)));
  if (s.tpot >= 0) row("TPOT", format_seconds(Seconds(s.tpot)));
  row("All-to-All", fmt::format("{} per step ({:.1f}% of step), {} per step", format_seconds(Seconds(s.a2a_seconds_per_step)),
                                100.0 * s.a2a_share, format_bytes(Bytes(s.a2a_bytes_per_step))));
  row("inter-node bytes", format_bytes(Bytes(s.inter_node_bytes)));
  if (!s.busiest_link.empty())
    row("busiest link", fmt::format("{} ({:.1f}% utilized, {})", s.busiest_link, 100.0 * s.busiest_link_utilization,
                                    format_bytes(Bytes(s.busiest_link_bytes))));
  row("compute utilization", fmt::format("{:.1f}% (mean over devices)", 100.0 * s.mean_compute_utilization));
  if (!s.device_metrics.empty()) {
    const auto& d = s.device_metrics[static_cast<size_t>(s.memory_peak_device)];
    row("memory peak", fmt::format("device {}: {} of {}", d.device, format_bytes(Bytes(d.memory_peak_bytes)),
                                   format_bytes(Bytes(d.capacity_bytes))));
  }
  if (s.dropped_slots > 0)
    row("dropped slots", fmt::format("{} of {} ({:.2f}%)", s.dropped_slots, s.routed_slots,
                                     100.0 * static_cast<double>(s.dropped_slots) / static_cast<double>(s.routed_slots)));
  for (const auto& [k, v] : s.workload_metrics) row(k, fmt::format("{:.6g}", v));
  for (const auto& f : s.findings) row("finding", f);
  for (const auto& n : s.notes) row("note", n);
  return o;
}

std::filesystem::path write_outputs(const scenario::Scenario& sc, const RunResult& r, const Summary& s,
                                    const std::filesystem::path& dir) {
  AtomicDir out(dir / sc.name);
  out.write("summary.json", summary_json(s));
  out.write("steps.csv", steps_csv(s));
  out.write("layers.csv", layers_csv(s));
  // The large files go to disk in chunks (sim/report/text_sink.hpp).
  auto stream = [&](const char* file, const auto& fill) {
    FileSink f(out.temp_dir() / file);
    fill(f);
    f.close();
  };
  stream("memory.csv", [&](TextSink& f) { write_memory_csv(r, f); });
  stream("links.csv", [&](TextSink& f) { write_links_csv(sc, r, f); });
  if (sc.output.timeline) stream("timeline.json", [&](TextSink& f) { write_timeline_json(sc, r, f); });
  out.write("resolved.toml", sc.doc.dump());
  for (const auto& [file, text] : sc.workload->extra_outputs()) out.write(file, text);
  return out.commit();
}

}  // namespace moesim::report
