// Reading and deriving the parallel layout (layout.hpp).
#include "models/workload/layout.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "sim/core/errors.hpp"

namespace moesim::workload {

std::string_view recompute_name(Recompute r) {
  switch (r) {
    case Recompute::none: return "none";
    case Recompute::selective: return "selective";
    case Recompute::full: return "full";
  }
  return "none";
}

std::vector<int32_t> split_layers(int64_t layers, int32_t chunks, const std::vector<int64_t>& explicit_split) {
  std::vector<int32_t> n(static_cast<size_t>(chunks), static_cast<int32_t>(layers / chunks));
  if (!explicit_split.empty()) {
    for (int32_t c = 0; c < chunks; ++c) n[c] = static_cast<int32_t>(explicit_split[c]);
    return n;
  }
  int64_t extra = layers % chunks;
  // Middle chunks first: chunk 1, 2, ..., then the last, then the first.
  for (int64_t i = 0; i < extra; ++i) {
    int32_t c = chunks <= 2 ? static_cast<int32_t>(i) : static_cast<int32_t>(1 + i % (chunks - 2));
    ++n[static_cast<size_t>(c)];
  }
  return n;
}

namespace {

std::vector<int32_t> first_layers(const std::vector<int32_t>& per_chunk) {
  std::vector<int32_t> first{0};
  for (int32_t n : per_chunk) first.push_back(first.back() + n);
  return first;
}

// Blocks of gcd(stage size, devices per node) consecutive devices -- a whole node when a stage
// spans whole nodes, the stage when a node holds whole stages, and a size dividing both otherwise
// (3 nodes of 8 in 2 stages of 12: blocks of 4) -- dealt to the stages in order (consecutive:
// stage s gets blocks s*k .. s*k+k-1) or in turn (round_robin: block b to stage b % pp). Every
// device lands in exactly one stage, each stage gets devices / pp of them.
std::vector<std::vector<int32_t>> place_stages(int32_t devices, int32_t pp, bool round_robin,
                                               const std::vector<int32_t>& node_of) {
  int32_t per_node = 0;
  while (per_node < devices && node_of[per_node] == node_of[0]) ++per_node;
  const int32_t stage = devices / pp;
  const int32_t block = std::max(1, std::gcd(stage, per_node));
  const int32_t blocks = devices / block, per_stage = stage / block;
  std::vector<std::vector<int32_t>> out(static_cast<size_t>(pp));
  for (int32_t b = 0; b < blocks; ++b) {
    int32_t s = round_robin ? b % pp : b / per_stage;
    for (int32_t i = 0; i < block; ++i) out[s].push_back(b * block + i);
  }
  return out;
}

}  // namespace

Layout default_layout(int64_t layers, int32_t devices) {
  Layout l;
  l.devices = devices;
  std::vector<int32_t> all(static_cast<size_t>(devices));
  for (int32_t d = 0; d < devices; ++d) all[d] = d;
  l.stage_devices = {all};
  l.chunk_first_layer = {0, static_cast<int32_t>(layers)};
  config::Document doc = config::Document::parse("kind = \"1f1b\"\n", "default schedule");
  l.schedule = PipelineScheduleRegistry::instance().create(config::Table::root(doc));
  return l;
}

Layout read_layout(const config::Table& t, int64_t layers, const std::vector<int32_t>& node_of) {
  const int32_t devices = static_cast<int32_t>(node_of.size());
  Layout l = default_layout(layers, devices);
  for (const char* k : {"pp", "stage_layers", "stage_placement", "zero_stage", "expert_zero_stage", "recompute", "schedule"})
    l.explicit_keys |= t.has(k);
  l.pp = static_cast<int32_t>(t.integer_in_or("pp", 1, std::max(1, devices), 1));
  if (devices % l.pp != 0)
    t.fail("pp", fmt::format("{} devices cannot be split into {} pipeline stages of equal size", devices, l.pp));
  if (l.pp > layers) t.fail("pp", fmt::format("{} pipeline stages for a model of {} layers", l.pp, layers));
  if (auto s = t.table_opt("schedule")) l.schedule = PipelineScheduleRegistry::instance().create_or(*s, "1f1b");
  const int32_t chunks = l.schedule->chunks(l.pp);
  auto split = t.integers_or("stage_layers", {});
  if (!split.empty()) {
    int64_t sum = 0;
    for (int64_t n : split) {
      if (n < 1) t.fail("stage_layers", "every chunk needs at least one layer");
      sum += n;
    }
    if (static_cast<int32_t>(split.size()) != chunks || sum != layers)
      t.fail("stage_layers", fmt::format("needs {} entries (pp x virtual stages) summing to the model's {} layers; got {} summing to {}",
                                         chunks, layers, split.size(), sum));
  } else if (chunks > layers) {
    t.fail("pp", fmt::format("{} model chunks (pp x virtual stages) for {} layers", chunks, layers));
  }
  l.chunk_first_layer = first_layers(split_layers(layers, chunks, split));
  bool rr = t.choice_or("stage_placement", {"consecutive", "round_robin"}, "consecutive") == "round_robin";
  l.stage_devices = place_stages(devices, l.pp, rr, node_of);
  l.zero_dense = static_cast<int32_t>(t.integer_in_or("zero_stage", 0, 3, 0));
  l.zero_expert = static_cast<int32_t>(t.integer_in_or("expert_zero_stage", 0, 3, l.zero_dense));
  std::string r = t.choice_or("recompute", {"none", "selective", "full"}, "none");
  l.recompute = r == "full" ? Recompute::full : r == "selective" ? Recompute::selective : Recompute::none;
  return l;
}

}  // namespace moesim::workload
