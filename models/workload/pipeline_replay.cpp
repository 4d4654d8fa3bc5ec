// Plan validation and the communication-free replay of pipeline plans (pipeline_replay.hpp).
#include "models/workload/pipeline_replay.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

namespace moesim::workload {

PipelineOp fwd(int32_t mb, int32_t chunk) { return PipelineOp{PipelineOp::Kind::forward, mb, chunk}; }
PipelineOp bwd(int32_t mb, int32_t chunk) { return PipelineOp{PipelineOp::Kind::backward, mb, chunk}; }
PipelineSlot one(PipelineOp op) { return PipelineSlot{{op}}; }

namespace {

using Key = std::tuple<int32_t, int32_t, int32_t>;  // kind, mb, chunk
Key key(const PipelineOp& o) { return {static_cast<int32_t>(o.kind), o.micro_batch, o.chunk}; }
Key key(PipelineOp::Kind k, int32_t mb, int32_t chunk) { return {static_cast<int32_t>(k), mb, chunk}; }

bool ends_backward(PipelineOp::Kind k) {
  return k == PipelineOp::Kind::backward || k == PipelineOp::Kind::backward_input;
}

// The ops `o` waits for (which may run on any stage).
std::vector<Key> inputs(const PipelineOp& o, int32_t chunks, const std::set<Key>& present) {
  using K = PipelineOp::Kind;
  std::vector<Key> in;
  auto backward_of = [&](int32_t c) {
    Key b = key(K::backward, o.micro_batch, c);
    return present.count(b) ? b : key(K::backward_input, o.micro_batch, c);
  };
  switch (o.kind) {
    case K::forward:
      if (o.chunk > 0) in.push_back(key(K::forward, o.micro_batch, o.chunk - 1));
      break;
    case K::backward:
    case K::backward_input:
      in.push_back(key(K::forward, o.micro_batch, o.chunk));
      if (o.chunk + 1 < chunks) in.push_back(backward_of(o.chunk + 1));
      break;
    case K::backward_weight:
      in.push_back(key(K::backward_input, o.micro_batch, o.chunk));
      break;
  }
  return in;
}

}  // namespace

std::vector<std::vector<int32_t>> stage_of_chunks(const PipelinePlan& plan) {
  std::vector<std::vector<int32_t>> s(static_cast<size_t>(plan.micro_batches),
                                      std::vector<int32_t>(static_cast<size_t>(plan.chunks), -1));
  for (int32_t st = 0; st < plan.stages; ++st)
    for (const auto& slot : plan.slots[st])
      for (const auto& o : slot.ops)
        if (o.kind == PipelineOp::Kind::forward && o.micro_batch < plan.micro_batches && o.chunk < plan.chunks)
          s[o.micro_batch][o.chunk] = st;
  return s;
}

std::string validate_plan(const PipelinePlan& plan) {
  std::map<Key, int32_t> stage_of;
  for (int32_t st = 0; st < plan.stages; ++st) {
    std::set<std::pair<int32_t, int32_t>> forwarded;
    for (const auto& slot : plan.slots[st])
      for (const auto& o : slot.ops) {
        if (o.micro_batch < 0 || o.micro_batch >= plan.micro_batches || o.chunk < 0 || o.chunk >= plan.chunks)
          return fmt::format("stage {}: op of micro-batch {} chunk {} out of range", st, o.micro_batch, o.chunk);
        if (!stage_of.emplace(key(o), st).second)
          return fmt::format("micro-batch {} chunk {}: op {} scheduled twice", o.micro_batch, o.chunk, static_cast<int>(o.kind));
        if (o.kind == PipelineOp::Kind::forward) forwarded.insert({o.micro_batch, o.chunk});
        else if (!forwarded.count({o.micro_batch, o.chunk}))
          return fmt::format("stage {}: backward of micro-batch {} chunk {} before its forward", st, o.micro_batch, o.chunk);
      }
  }
  using K = PipelineOp::Kind;
  for (int32_t mb = 0; mb < plan.micro_batches; ++mb)
    for (int32_t c = 0; c < plan.chunks; ++c) {
      auto f = stage_of.find(key(K::forward, mb, c));
      if (f == stage_of.end()) return fmt::format("micro-batch {} chunk {} has no forward", mb, c);
      bool full = stage_of.count(key(K::backward, mb, c)) > 0;
      bool split = stage_of.count(key(K::backward_input, mb, c)) > 0 && stage_of.count(key(K::backward_weight, mb, c)) > 0;
      if (full == split) return fmt::format("micro-batch {} chunk {} needs one backward (or one B and one W)", mb, c);
    }
  return "";
}

double PipelineReplay::bubble_fraction() const {
  if (busy.empty() || makespan <= 0) return 0;
  double sum = 0;
  for (double b : busy) sum += b;
  return 1.0 - sum / (static_cast<double>(busy.size()) * makespan);
}

int32_t PipelineReplay::max_in_flight(const PipelinePlan& plan, int32_t stage) {
  int32_t now = 0, peak = 0;
  for (const auto& slot : plan.slots[stage])
    for (const auto& o : slot.ops) {
      if (o.kind == PipelineOp::Kind::forward) peak = std::max(peak, ++now);
      else if (ends_backward(o.kind)) --now;
    }
  return peak;
}

PipelineReplay replay(const PipelinePlan& plan, const OpDuration& duration, const PairDuration& pair) {
  std::set<Key> present;
  for (const auto& stage : plan.slots)
    for (const auto& slot : stage)
      for (const auto& o : slot.ops) present.insert(key(o));
  std::map<Key, double> done;  // op -> end time
  std::vector<size_t> next(static_cast<size_t>(plan.stages), 0);
  std::vector<double> free_at(static_cast<size_t>(plan.stages), 0.0);
  PipelineReplay r;
  r.busy.assign(static_cast<size_t>(plan.stages), 0.0);
  size_t remaining = 0;
  for (const auto& s : plan.slots) remaining += s.size();
  while (remaining > 0) {
    bool progressed = false;
    for (int32_t st = 0; st < plan.stages; ++st) {
      while (next[st] < plan.slots[st].size()) {
        const auto& slot = plan.slots[st][next[st]];
        double ready = free_at[st];
        bool ok = true;
        for (const auto& o : slot.ops)
          for (const auto& in : inputs(o, plan.chunks, present)) {
            auto it = done.find(in);
            if (it == done.end()) { ok = false; break; }
            ready = std::max(ready, it->second);
          }
        if (!ok) break;
        // The ops of one slot share the stage's compute: they run one after the other, or as the
        // overlapped pair's time scaled over them.
        double scale = 1.0;
        if (pair && slot.ops.size() == 2) {
          const double sum = duration(st, slot.ops[0]) + duration(st, slot.ops[1]);
          scale = sum > 0 ? pair(st, slot.ops[0], slot.ops[1]) / sum : 1.0;
        }
        double t = ready;
        for (const auto& o : slot.ops) {
          double d = duration(st, o) * scale;
          r.ops.push_back(ReplayedOp{st, static_cast<int32_t>(next[st]), o, t, t + d});
          t += d;
          r.busy[st] += d;
        }
        for (const auto& o : slot.ops) done[key(o)] = t;
        free_at[st] = t;
        r.makespan = std::max(r.makespan, t);
        ++next[st];
        --remaining;
        progressed = true;
      }
    }
    if (!progressed) throw std::logic_error("pipeline plan deadlocks: a stage waits for an op that never runs");
  }
  std::stable_sort(r.ops.begin(), r.ops.end(), [](const ReplayedOp& a, const ReplayedOp& b) {
    return std::tie(a.start, a.stage, a.slot) < std::tie(b.start, b.stage, b.slot);
  });
  return r;
}

}  // namespace moesim::workload
