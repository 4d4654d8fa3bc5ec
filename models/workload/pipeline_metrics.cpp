// Bubble and exposed All-to-All of one step (pipeline_metrics.hpp).
#include "models/workload/pipeline_metrics.hpp"

#include <algorithm>
#include <map>

namespace moesim::workload {
namespace {

using Interval = std::pair<double, double>;

std::vector<Interval> merged(std::vector<Interval> v) {
  std::sort(v.begin(), v.end());
  std::vector<Interval> out;
  for (const auto& i : v) {
    if (i.second <= i.first) continue;
    if (!out.empty() && i.first <= out.back().second) out.back().second = std::max(out.back().second, i.second);
    else out.push_back(i);
  }
  return out;
}

double length(const std::vector<Interval>& v) {
  double s = 0;
  for (const auto& i : v) s += i.second - i.first;
  return s;
}

// Length of the intersection of two merged interval lists.
double overlap(const std::vector<Interval>& a, const std::vector<Interval>& b) {
  double s = 0;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    double lo = std::max(a[i].first, b[j].first), hi = std::min(a[i].second, b[j].second);
    if (hi > lo) s += hi - lo;
    (a[i].second < b[j].second) ? ++i : ++j;
  }
  return s;
}

bool involves(const graph::Task& t, int32_t device) {
  if (const auto* c = std::get_if<graph::CollectiveWork>(&t.work))
    return std::find(c->group.begin(), c->group.end(), device) != c->group.end();
  if (const auto* w = std::get_if<graph::ComputeWork>(&t.work)) return w->device == device;
  return false;
}

bool is_a2a(const std::string& op) {
  return op == "dispatch" || op == "combine" || op == "dispatch_bwd" || op == "combine_bwd";
}

}  // namespace

PipelineStepMetrics pipeline_step_metrics(const graph::StepGraph& g, const graph::StepTimeline& tl,
                                          const PipelineTags& tags, const Layout& layout) {
  PipelineStepMetrics m;
  // The pipeline's span: from the step's start to the end of its last slot (the optimizer after
  // it is not a bubble).
  double last = tl.start;
  for (size_t i = 0; i < g.tasks.size() && i < tl.tasks.size() && i < tags.slot.size(); ++i)
    if (tags.slot[i] >= 0 && g.tasks[i].stream != graph::Stream::io) last = std::max(last, tl.tasks[i].end);
  const double span = last - tl.start;
  if (span <= 0 || layout.stage_devices.empty()) return m;
  m.span_s = span;
  const int32_t pp = static_cast<int32_t>(layout.stage_devices.size());
  for (int32_t st = 0; st < pp; ++st) {
    const int32_t dev = layout.stage_devices[st][0];
    std::map<int32_t, Interval> slots;
    std::vector<Interval> a2a, compute, tail;  // compute in slots / after them (optimizer)
    for (size_t i = 0; i < g.tasks.size() && i < tl.tasks.size(); ++i) {
      const auto& t = g.tasks[i];
      if (t.stream == graph::Stream::io || !involves(t, dev)) continue;
      Interval iv{tl.tasks[i].start, tl.tasks[i].end};
      int32_t slot = i < tags.slot.size() ? tags.slot[i] : -1;
      if (t.stream == graph::Stream::compute) (slot >= 0 ? compute : tail).push_back(iv);
      if (is_a2a(t.op)) a2a.push_back(iv);
      if (slot < 0) continue;
      auto [it, fresh] = slots.emplace(slot, iv);
      if (!fresh) it->second = {std::min(it->second.first, iv.first), std::max(it->second.second, iv.second)};
    }
    std::vector<Interval> busy;
    for (const auto& [k, iv] : slots) busy.push_back(iv);
    m.bubble_fraction += 1.0 - length(merged(busy)) / span;
    auto a = merged(a2a), c = merged(compute), all = compute;
    all.insert(all.end(), tail.begin(), tail.end());
    double hidden = overlap(a, merged(all));
    m.a2a_hidden_s += hidden;
    m.a2a_exposed_s += length(a) - hidden;
    m.compute_s += length(c);
  }
  m.bubble_fraction /= pp;
  m.a2a_exposed_s /= pp;
  m.a2a_hidden_s /= pp;
  m.compute_s /= pp;
  return m;
}

}  // namespace moesim::workload
