#include "models/routing/trace_io.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace moesim::routing::io {

void fail_at(const std::string& file, int64_t line, const std::string& what, const std::string& detail) {
  throw ConfigError(Location{file, static_cast<int>(line), 1}, what, detail);
}

std::string float_text(float v) { return fmt::format("{}", v); }  // fmt prints the shortest round-trip form

TraceBuilder::TraceBuilder(std::string file, std::optional<int32_t> num_experts, bool pad_variable_k)
    : file_(std::move(file)), num_experts_(num_experts), pad_(pad_variable_k) {}

void TraceBuilder::add(int64_t line, int64_t step, int32_t layer, int64_t token, const std::vector<int32_t>& experts,
                       const std::vector<float>& weights, const std::vector<uint8_t>& dropped) {
  add(line, step, layer, token, experts, weights, dropped, {});
}

void TraceBuilder::add(int64_t line, int64_t step, int32_t layer, int64_t token, const std::vector<int32_t>& experts,
                       const std::vector<float>& weights, const std::vector<uint8_t>& dropped,
                       const std::vector<uint8_t>& bits) {
  const std::string rec = fmt::format("step {} layer {} token {}", step, layer, token);
  if (step < step_) fail_at(file_, line, rec, fmt::format("steps must not decrease (step {} came before, at line {})", step_, step_line_));
  if (step != step_) {
    flush_step();
    step_ = step;
    step_line_ = line;
  }
  if (layer < 0) fail_at(file_, line, rec, "negative layer index");
  if (experts.empty()) fail_at(file_, line, rec, "no expert ids");
  if (!weights.empty() && weights.size() != experts.size())
    fail_at(file_, line, rec, fmt::format("{} weights for {} expert ids", weights.size(), experts.size()));
  if (!dropped.empty() && dropped.size() != experts.size())
    fail_at(file_, line, rec, fmt::format("{} dropped marks for {} expert ids", dropped.size(), experts.size()));
  if (!bits.empty() && bits.size() != experts.size())
    fail_at(file_, line, rec, fmt::format("{} bit-widths for {} expert ids", bits.size(), experts.size()));
  for (int32_t e : experts) {
    const int32_t limit = num_experts_ ? *num_experts_ : kMaxTraceExperts;
    if (e < kNoExpert || e >= limit)
      fail_at(file_, line, rec, fmt::format("expert id {} outside [0, {}) (-1 marks a null slot)", e, limit));
    max_id_ = std::max(max_id_, e);
  }
  auto& acc = layers_[layer];
  if (!acc.load.empty()) fail_at(file_, line, rec, "layer has both a load row and token records");
  any_routes_ = true;
  if (acc.tokens.empty()) {
    acc.first_line = line;
    acc.has_weights = !weights.empty();
    acc.has_dropped = !dropped.empty();
    acc.has_bits = !bits.empty();
  } else {
    if (token <= acc.last_token)
      fail_at(file_, line, rec, fmt::format("token indices must increase within a layer (token {} came before)", acc.last_token));
    if (!pad_ && experts.size() != acc.tokens.front().slots)
      fail_at(file_, line, rec, fmt::format("wrong k: {} expert ids, earlier records of this layer have {} (line {})",
                                            experts.size(), acc.tokens.front().slots, acc.first_line));
    if (acc.has_weights != !weights.empty())
      fail_at(file_, line, rec, fmt::format("weights {} here but {} in the layer's first record (line {})",
                                            weights.empty() ? "missing" : "present", acc.has_weights ? "present" : "missing", acc.first_line));
    if (acc.has_dropped != !dropped.empty())
      fail_at(file_, line, rec, fmt::format("dropped marks {} here but not in the layer's first record (line {})",
                                            dropped.empty() ? "missing" : "present", acc.first_line));
    if (acc.has_bits != !bits.empty())
      fail_at(file_, line, rec, fmt::format("bit-widths {} here but {} in the layer's first record (line {})",
                                            bits.empty() ? "missing" : "present", acc.has_bits ? "present" : "missing", acc.first_line));
  }
  acc.last_token = token;
  acc.tokens.push_back({acc.experts.size(), experts.size()});
  acc.experts.insert(acc.experts.end(), experts.begin(), experts.end());
  acc.weights.insert(acc.weights.end(), weights.begin(), weights.end());
  acc.dropped.insert(acc.dropped.end(), dropped.begin(), dropped.end());
  acc.bits.insert(acc.bits.end(), bits.begin(), bits.end());
}

void TraceBuilder::add_load(int64_t line, int64_t step, int32_t layer, std::vector<int64_t> load) {
  const std::string rec = fmt::format("step {} layer {}", step, layer);
  if (step < step_) fail_at(file_, line, rec, fmt::format("steps must not decrease (step {} came before, at line {})", step_, step_line_));
  if (step != step_) {
    flush_step();
    step_ = step;
    step_line_ = line;
  }
  for (auto v : load)
    if (v < 0 || v > kMaxLoad) fail_at(file_, line, rec, fmt::format("load {} outside [0, 2^40]", v));
  if (load.size() > static_cast<size_t>(kMaxTraceExperts))
    fail_at(file_, line, rec, fmt::format("{} expert loads: more than {} experts", load.size(), kMaxTraceExperts));
  if (num_experts_ && load.size() != static_cast<size_t>(*num_experts_))
    fail_at(file_, line, rec, fmt::format("{} expert loads, expected {}", load.size(), *num_experts_));
  auto& acc = layers_[layer];
  if (!acc.tokens.empty() || !acc.load.empty()) fail_at(file_, line, rec, "layer appears twice in this step");
  max_id_ = std::max(max_id_, static_cast<int32_t>(load.size()) - 1);
  any_load_ = true;
  acc.load = std::move(load);
  acc.first_line = line;
}

TraceLayer TraceBuilder::finish_layer(int32_t layer, LayerAcc& acc) const {
  TraceLayer out;
  out.layer = layer;
  if (!acc.load.empty()) {
    out.load = std::move(acc.load);
    return out;
  }
  auto& r = out.routing;
  r.tokens = static_cast<int64_t>(acc.tokens.size());
  size_t k = 0;
  for (const auto& t : acc.tokens) k = std::max(k, t.slots);
  r.k = static_cast<int32_t>(k);
  if (k == acc.tokens.front().slots && std::all_of(acc.tokens.begin(), acc.tokens.end(), [&](const Token& t) { return t.slots == k; })) {
    r.experts = std::move(acc.experts);
    r.weights = std::move(acc.weights);
    r.dropped = std::move(acc.dropped);
    r.bits = std::move(acc.bits);
    return out;
  }
  r.experts.assign(acc.tokens.size() * k, kNoExpert);
  if (acc.has_weights) r.weights.assign(acc.tokens.size() * k, 0.0f);
  if (acc.has_dropped) r.dropped.assign(acc.tokens.size() * k, 0);
  if (acc.has_bits) r.bits.assign(acc.tokens.size() * k, 0);
  for (size_t t = 0; t < acc.tokens.size(); ++t)
    for (size_t s = 0; s < acc.tokens[t].slots; ++s) {
      size_t src = acc.tokens[t].offset + s, dst = t * k + s;
      r.experts[dst] = acc.experts[src];
      if (acc.has_weights) r.weights[dst] = acc.weights[src];
      if (acc.has_dropped) r.dropped[dst] = acc.dropped[src];
      if (acc.has_bits) r.bits[dst] = acc.bits[src];
    }
  return out;
}

void TraceBuilder::flush_step() {
  if (layers_.empty()) return;
  TraceStep s{step_, {}};
  for (auto& [layer, acc] : layers_) s.layers.push_back(finish_layer(layer, acc));
  done_.push_back(std::move(s));
  layers_.clear();
}

Trace TraceBuilder::finish(TraceMeta meta) {
  flush_step();
  if (any_load_ && any_routes_) fail_at(file_, 0, "trace", "mixes load rows and token records");
  Trace t;
  t.meta = std::move(meta);
  t.meta.num_experts = num_experts_ ? *num_experts_ : max_id_ + 1;
  t.meta.load_only = any_load_;
  t.steps = std::move(done_);
  if (t.steps.empty()) fail_at(file_, 0, "trace", "no records");
  if (t.meta.top_k == 0 && !t.meta.load_only) t.meta.top_k = t.steps.front().layers.front().routing.k;
  return t;
}

}  // namespace moesim::routing::io
