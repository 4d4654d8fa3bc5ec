#include "models/routing/stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

namespace moesim::routing {

double gini(const std::vector<int64_t>& load) {
  // G = sum_i (2i - n - 1) x_(i) / (n sum x), x sorted ascending, i = 1..n (Gini mean difference form).
  std::vector<int64_t> x(load);
  std::sort(x.begin(), x.end());
  const double n = static_cast<double>(x.size());
  double total = 0, acc = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    total += static_cast<double>(x[i]);
    acc += (2.0 * static_cast<double>(i + 1) - n - 1.0) * static_cast<double>(x[i]);
  }
  return total > 0 ? acc / (n * total) : 0.0;
}

double normalised_entropy(const std::vector<int64_t>& load) {
  double total = static_cast<double>(std::accumulate(load.begin(), load.end(), int64_t{0}));
  if (total <= 0 || load.size() < 2) return 0.0;
  double h = 0;
  for (auto v : load)
    if (v > 0) h -= (static_cast<double>(v) / total) * std::log(static_cast<double>(v) / total);
  return h / std::log(static_cast<double>(load.size()));
}

double max_vio(const std::vector<int64_t>& load) {
  double mean = static_cast<double>(std::accumulate(load.begin(), load.end(), int64_t{0})) / static_cast<double>(load.size());
  return mean > 0 ? (static_cast<double>(*std::max_element(load.begin(), load.end())) - mean) / mean : 0.0;
}

namespace {
double quantile(const std::vector<int64_t>& sorted, double q) {  // linear interpolation (type 7)
  double pos = q * static_cast<double>(sorted.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos)), hi = std::min(lo + 1, sorted.size() - 1);
  return static_cast<double>(sorted[lo]) + (pos - static_cast<double>(lo)) * static_cast<double>(sorted[hi] - sorted[lo]);
}
}  // namespace

LoadStats load_stats(const std::vector<int64_t>& load) {
  LoadStats s;
  if (load.empty()) return s;
  s.selections = std::accumulate(load.begin(), load.end(), int64_t{0});
  s.mean = static_cast<double>(s.selections) / static_cast<double>(load.size());
  auto mx = std::max_element(load.begin(), load.end());
  auto mn = *std::min_element(load.begin(), load.end());
  s.hottest = static_cast<int32_t>(mx - load.begin());
  s.hottest_share = s.selections > 0 ? static_cast<double>(*mx) / static_cast<double>(s.selections) : 0.0;
  s.max_over_mean = s.mean > 0 ? static_cast<double>(*mx) / s.mean : 0.0;
  s.max_over_min = mn > 0 ? static_cast<double>(*mx) / static_cast<double>(mn) : std::numeric_limits<double>::infinity();
  double var = 0;
  for (auto v : load) var += (static_cast<double>(v) - s.mean) * (static_cast<double>(v) - s.mean);
  s.cv = s.mean > 0 ? std::sqrt(var / static_cast<double>(load.size())) / s.mean : 0.0;
  s.gini = gini(load);
  s.entropy = normalised_entropy(load);
  s.max_vio = max_vio(load);
  std::vector<int64_t> sorted(load);
  std::sort(sorted.begin(), sorted.end());
  const double qs[5] = {0.0, 0.25, 0.5, 0.75, 1.0};
  for (size_t i = 0; i < 5; ++i) s.quantiles[i] = quantile(sorted, qs[i]);
  return s;
}

double dropped_fraction(const LayerRouting& r) {
  if (r.dropped.empty()) return 0.0;
  int64_t used = 0, dropped = 0;
  for (size_t i = 0; i < r.experts.size(); ++i)
    if (r.experts[i] != kNoExpert) ++used, dropped += r.dropped[i] != 0;
  return used > 0 ? static_cast<double>(dropped) / static_cast<double>(used) : 0.0;
}

double mean_real_k(const LayerRouting& r) {
  if (r.tokens == 0) return 0.0;
  int64_t real = 0;
  for (auto e : r.experts) real += e != kNoExpert;
  return static_cast<double>(real) / static_cast<double>(r.tokens);
}

ReuseStats temporal_reuse(const LayerRouting& r) {
  ReuseStats s;
  int64_t first = 0, any = 0;
  for (int64_t t = 1; t < r.tokens; ++t) {
    const int32_t* a = r.experts.data() + (t - 1) * r.k;
    const int32_t* b = r.experts.data() + t * r.k;
    ++s.pairs;
    first += a[0] != kNoExpert && a[0] == b[0];
    bool overlap = false;
    for (int32_t i = 0; i < r.k && !overlap; ++i)
      for (int32_t j = 0; j < r.k && !overlap; ++j) overlap = a[i] != kNoExpert && a[i] == b[j];
    any += overlap;
  }
  if (s.pairs > 0) s.first_choice = static_cast<double>(first) / s.pairs, s.any_overlap = static_cast<double>(any) / s.pairs;
  return s;
}

PathStats path_concentration(const std::vector<const LayerRouting*>& layers, double top_fraction) {
  PathStats s;
  if (layers.size() < 2) return s;
  const int64_t tokens = layers.front()->tokens;
  for (auto* l : layers)
    if (l->tokens != tokens) return s;
  std::map<std::vector<int32_t>, int64_t> count;
  std::vector<int32_t> path(layers.size());
  for (int64_t t = 0; t < tokens; ++t) {
    for (size_t l = 0; l < layers.size(); ++l) path[l] = layers[l]->k > 0 ? layers[l]->experts[t * layers[l]->k] : kNoExpert;
    ++count[path];
  }
  std::vector<int64_t> c;
  for (const auto& [p, n] : count) c.push_back(n);
  std::sort(c.begin(), c.end(), std::greater<>());
  const size_t top = static_cast<size_t>(std::ceil(top_fraction * static_cast<double>(c.size())));
  s.tokens = tokens;
  s.distinct_paths = static_cast<int64_t>(c.size());
  s.top_share = tokens > 0 ? static_cast<double>(std::accumulate(c.begin(), c.begin() + top, int64_t{0})) / tokens : 0.0;
  return s;
}

TraceStats trace_stats(const Trace& trace) {
  TraceStats out;
  out.steps = static_cast<int64_t>(trace.steps.size());
  const auto E = static_cast<size_t>(trace.meta.num_experts);
  std::map<int32_t, LayerSummary> by_layer;
  std::map<int32_t, std::array<double, 4>> acc;  // dropped*n, k*n, reuse first*pairs, any*pairs
  std::map<int32_t, int64_t> pairs;
  std::vector<int64_t> overall(E, 0);
  int64_t path_tokens = 0, path_distinct = 0;
  double path_covered = 0;
  for (const auto& s : trace.steps) {
    std::vector<const LayerRouting*> step_layers;
    for (const auto& l : s.layers) {
      auto& sum = by_layer[l.layer];
      sum.layer = l.layer;
      if (sum.expert_load.empty()) sum.expert_load.assign(E, 0);
      auto load = trace.meta.load_only ? l.load : l.routing.expert_load(trace.meta.num_experts);
      for (size_t i = 0; i < E; ++i) sum.expert_load[i] += load[i], overall[i] += load[i];
      if (trace.meta.load_only) continue;
      const auto& r = l.routing;
      sum.tokens += r.tokens;
      auto& a = acc[l.layer];
      a[0] += dropped_fraction(r) * static_cast<double>(r.tokens);
      a[1] += mean_real_k(r) * static_cast<double>(r.tokens);
      auto reuse = temporal_reuse(r);
      a[2] += reuse.first_choice * static_cast<double>(reuse.pairs);
      a[3] += reuse.any_overlap * static_cast<double>(reuse.pairs);
      pairs[l.layer] += reuse.pairs;
      step_layers.push_back(&r);
    }
    auto p = path_concentration(step_layers);
    path_tokens += p.tokens, path_distinct += p.distinct_paths, path_covered += p.top_share * static_cast<double>(p.tokens);
  }
  for (auto& [layer, sum] : by_layer) {
    sum.load = load_stats(sum.expert_load);
    if (sum.tokens > 0) {
      const auto& a = acc[layer];
      sum.dropped = a[0] / static_cast<double>(sum.tokens);
      sum.mean_k = a[1] / static_cast<double>(sum.tokens);
      sum.reuse.pairs = pairs[layer];
      if (pairs[layer] > 0) sum.reuse.first_choice = a[2] / pairs[layer], sum.reuse.any_overlap = a[3] / pairs[layer];
    }
    out.layers.push_back(std::move(sum));
  }
  out.overall = load_stats(overall);
  out.paths.tokens = path_tokens;
  out.paths.distinct_paths = path_distinct;
  out.paths.top_share = path_tokens > 0 ? path_covered / static_cast<double>(path_tokens) : 0.0;
  return out;
}

}  // namespace moesim::routing
