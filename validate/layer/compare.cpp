#include "validate/layer/compare.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "validate/common/stats.hpp"

namespace moesim::layercheck {
namespace {

void add(RunComparison& c, const std::string& q, int64_t index, double meas, double pred) {
  if (!(meas > 0)) {
    c.notes.push_back(fmt::format("{} #{}: measured 0, not compared (predicted {:.4g})", q, index, pred));
    return;
  }
  c.points.push_back(Point{q, index, meas, pred, std::abs(pred - meas) / meas * 100.0});
}

const SimStep* sim_step(const SimResult& sim, int64_t index) {
  for (const auto& s : sim.steps)
    if (s.step == index) return &s;
  return nullptr;
}

double op(const SimStep& s, const std::string& name) {
  auto it = s.op_s.find(name);
  return it == s.op_s.end() ? 0.0 : it->second;
}

// The simulator's time per expert load and per expert FFN: over the tokens, the median of the
// op's summed task time divided by the token's misses (loads) or experts (FFNs), the counts taken
// from the kernel's own notes (the bytes read are checked equal token by token).
double per_expert(const bench::ResultFile& measured, const SimResult& sim, const std::string& op_name, bool loads_only) {
  std::vector<double> v;
  for (const auto& r : measured.records) {
    if (r.kernel != "offload" || r.pattern != "token") continue;
    const SimStep* s = sim_step(sim, note_int(r.note, "token"));
    const int64_t misses = note_int(r.note, "misses"), hits = note_int(r.note, "hits");
    const int64_t n = loads_only ? misses : misses + hits;
    if (s && n > 0) v.push_back(op(*s, op_name) / double(n));
  }
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return bench::percentile_sorted(v, 0.5);
}

// The kernel's reference rows (one expert read alone, one expert's FFN alone, one expert's FFN
// beside a read: the machine during the check) against the simulator's time per load and per
// expert FFN (the simulator has no contention between a load and the compute beside it).
void add_reference(RunComparison& c, const bench::ResultFile& measured, const SimResult& sim) {
  for (const auto& r : measured.records) {
    if (r.kernel != "offload" || (r.pattern != "ref_read" && r.pattern != "ref_expert" && r.pattern != "ref_expert_io"))
      continue;
    const bool read = r.pattern == "ref_read";
    const double pred = per_expert(measured, sim, read ? "expert_load" : "expert_ffn", read);
    if (pred > 0) add(c, r.pattern, -1, r.median_s, pred);
  }
}

}  // namespace

int64_t note_int(const std::string& note, const std::string& key) {
  const std::string k = key + "=";
  size_t at = 0;
  while ((at = note.find(k, at)) != std::string::npos) {
    if (at == 0 || note[at - 1] == ' ') return std::strtoll(note.c_str() + at + k.size(), nullptr, 10);
    at += k.size();
  }
  return -1;
}

void summarize_points(RunComparison& c) {
  c.stats.clear();
  for (const auto& p : c.points) {
    if (std::any_of(c.stats.begin(), c.stats.end(), [&](const auto& s) { return s.quantity == p.quantity; })) continue;
    std::vector<double> e;
    size_t off = 0;
    for (const auto& q : c.points)
      if (q.quantity == p.quantity) e.push_back(q.ape), off += q.ape > kOffPercent;
    std::sort(e.begin(), e.end());
    const auto s = bench::summarize(e);
    c.stats.push_back(QuantityStats{p.quantity, s.count, s.median, bench::percentile_sorted(e, 0.9), s.max, off});
  }
}

RunComparison compare_moe_layer(const bench::ResultFile& measured, const SimResult& sim, const std::string& run) {
  RunComparison c{run, "moe_layer", {}, {}, sim.notes, true};
  // Each kernel phase against the simulator's ops of the same work: the local gather and the
  // (here empty) dispatch, the local scatter-add and the combine.
  const std::map<std::string, std::vector<std::string>> sim_ops{
      {"gate", {"gate"}}, {"permute", {"permute", "dispatch"}}, {"experts", {"expert_ffn"}}, {"combine", {"combine", "unpermute"}}};
  const auto phase_s = [&](const SimStep& s, const std::string& phase) {
    double t = 0;
    for (const auto& o : sim_ops.at(phase)) t += op(s, o);
    return t;
  };
  double layer_memory = 0;
  for (const auto& s : sim.steps) layer_memory = std::max(layer_memory, s.layer_memory_bytes);
  for (const auto& phase : {"step", "gate", "permute", "experts", "combine"})
    for (const auto& r : measured.records) {
      if (r.kernel != "moe_layer" || r.pattern != phase) continue;
      const int64_t st = note_int(r.note, "step");
      const SimStep* s = sim_step(sim, st);
      if (!s) {
        c.notes.push_back(fmt::format("{} step {}: no simulated step", phase, st));
        continue;
      }
      add(c, phase, st, r.median_s, std::string(phase) == "step" ? s->moe_s : phase_s(*s, phase));
    }
  for (const auto& r : measured.records) {
    if (r.kernel != "moe_layer") continue;
    if (r.pattern == "memory_buffers") add(c, "memory", -1, double(r.size_bytes), layer_memory);
    if (r.pattern == "memory_vmhwm") add(c, "memory_vmhwm", -1, double(r.size_bytes), layer_memory);
  }
  c.notes.push_back(fmt::format("simulated whole-device memory peak (with the resident model parts the kernel does not "
                                "hold: embeddings, attention, KV) {:.4g} B", sim.device_peak_bytes));
  summarize_points(c);
  return c;
}

RunComparison compare_offload(const bench::ResultFile& measured, const SimResult& sim, const std::string& run) {
  RunComparison c{run, "offload", {}, {}, sim.notes, true};
  int64_t mismatched = 0, tokens = 0;
  for (const auto& phase : {"token", "read", "compute"})
    for (const auto& r : measured.records) {
      if (r.kernel != "offload" || r.pattern != phase) continue;
      const int64_t t = note_int(r.note, "token");
      const SimStep* s = sim_step(sim, t);
      if (!s) {
        c.notes.push_back(fmt::format("{} token {}: no simulated step", phase, t));
        continue;
      }
      const std::string p = phase;
      if (p == "token") {
        add(c, "token", t, r.median_s, s->moe_s);
        ++tokens;
        if (double(r.size_bytes) != s->bytes_read) {
          ++mismatched;
          c.bytes_exact = false;
          c.notes.push_back(fmt::format("BYTES DIFFER at token {}: measured {} B, simulated {:.0f} B", t, r.size_bytes, s->bytes_read));
        }
        if (r.size_bytes > 0 || s->bytes_read > 0) add(c, "bytes_read", t, double(r.size_bytes), s->bytes_read);
      } else if (p == "read") {
        add(c, "read", t, r.median_s, op(*s, "expert_load"));
      } else {
        add(c, "compute", t, r.median_s, op(*s, "gate") + op(*s, "expert_ffn"));
      }
    }
  add_reference(c, measured, sim);
  c.notes.push_back(mismatched == 0 ? fmt::format("bytes read: identical on all {} tokens", tokens)
                                    : fmt::format("bytes read: {} of {} tokens DIFFER", mismatched, tokens));
  summarize_points(c);
  return c;
}

std::string report_markdown(const std::vector<RunComparison>& runs, const std::string& title, const std::string& intro) {
  std::string md = "# " + title + "\n\n" + intro + "\n\n";
  md += "| run | check | quantity | points | median APE % | p90 APE % | max APE % | off (> 25%) |\n|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : runs)
    for (const auto& s : r.stats)
      md += fmt::format("| {} | {} | {} | {} | {:.1f} | {:.1f} | {:.1f} | {} |\n", r.run, r.check, s.quantity, s.count, s.median,
                        s.p90, s.max, s.off);
  for (const auto& r : runs) {
    md += fmt::format("\n## {} ({})\n\n", r.run, r.check);
    if (!r.notes.empty()) {
      for (const auto& n : r.notes) md += "- " + n + "\n";
      md += "\n";
    }
    md += "| quantity | step/token | measured | predicted | APE % | |\n|---|---|---|---|---|---|\n";
    for (const auto& p : r.points) {
      const bool bytes = p.quantity.rfind("memory", 0) == 0 || p.quantity == "bytes_read";
      md += fmt::format("| {} | {} | {:.4g}{} | {:.4g}{} | {:.1f} | {} |\n", p.quantity, p.index < 0 ? "run" : std::to_string(p.index),
                        p.measured, bytes ? " B" : " s", p.predicted, bytes ? " B" : " s", p.ape, p.ape > kOffPercent ? "OFF" : "");
    }
  }
  return md;
}

}  // namespace moesim::layercheck
