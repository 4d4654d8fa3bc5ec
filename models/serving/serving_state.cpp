#include "models/serving/serving_state.hpp"

#include <algorithm>
#include <stdexcept>

namespace moesim::serving {

int64_t Iteration::prefill_tokens() const {
  int64_t n = 0;
  for (const auto& c : chunks)
    if (c.prefill) n += c.tokens;
  return n;
}

int64_t Iteration::decode_tokens() const {
  int64_t n = 0;
  for (const auto& c : chunks)
    if (!c.prefill) n += c.tokens;
  return n;
}

ServingState::ServingState(std::vector<RequestSpec> requests, KvCache kv, Preemption preemption)
    : kv_(std::move(kv)), preemption_(preemption) {
  std::stable_sort(requests.begin(), requests.end(), [](const auto& a, const auto& b) { return a.arrival < b.arrival; });
  for (size_t i = 0; i < requests.size(); ++i) {
    Sequence s;
    s.id = static_cast<int64_t>(i);
    s.spec = requests[i];
    s.prefill_target = s.spec.prompt;
    seqs_.push_back(s);
  }
}

// A request counts as arrived when its arrival time is within 1 ns of the clock: an idle wait that
// ends "at" the arrival may land a rounding error before it.
void ServingState::admit_arrivals(double now) {
  now_ = now;
  while (next_ < seqs_.size() && seqs_[next_].spec.arrival <= now + 1e-9) waiting_.push_back(static_cast<int64_t>(next_++));
}

double ServingState::next_arrival() const { return next_ < seqs_.size() ? seqs_[next_].spec.arrival : -1.0; }

bool ServingState::admit(int64_t id, int64_t kv_tokens) {
  int32_t best = -1;
  for (int32_t d = 0; d < kv_.devices(); ++d)
    if (best < 0 || kv_.free_blocks(d) > kv_.free_blocks(best)) best = d;
  Sequence& s = seq(id);
  const int64_t need = kv_.blocks_for(kv_tokens);
  if (best < 0 || kv_.free_blocks(best) - need < kv_.watermark() || !kv_.take(best, need)) return false;
  s.device = best;
  s.blocks = need;
  auto it = std::find(waiting_.begin(), waiting_.end(), id);
  if (it == waiting_.end()) throw std::logic_error("serving: admitted a request that is not waiting");
  waiting_.erase(it);
  running_.push_back(id);
  return true;
}

bool ServingState::reserve(int64_t id, int64_t kv_tokens) {
  Sequence& s = seq(id);
  const int64_t need = kv_.blocks_for(kv_tokens) - s.blocks;
  if (need <= 0) return true;
  if (!kv_.take(s.device, need)) return false;
  s.blocks += need;
  return true;
}

void ServingState::preempt(int64_t id, Iteration& it) {
  Sequence& s = seq(id);
  running_.erase(std::find(running_.begin(), running_.end(), id));
  kv_.give_back(s.device, s.blocks);
  ++s.preemptions;
  ++preemptions_;
  // A sequence still in its first prefill has nothing on the host worth keeping: recompute it.
  if (preemption_ == Preemption::swap && !s.in_prefill()) {
    it.swaps.push_back({s.device, s.kv_tokens, true});
    ++s.swaps;
    swapped_.push_back(id);
  } else {
    ++s.recomputes;
    s.kv_tokens = 0;
    s.prefilled = 0;
    s.prefill_target = s.spec.prompt + s.generated;
    waiting_.push_front(id);
  }
  s.blocks = 0;
  s.device = -1;
}

bool ServingState::swap_in(Iteration& it) {
  if (swapped_.empty()) return false;
  const int64_t id = swapped_.front();
  Sequence& s = seq(id);
  int32_t best = 0;
  for (int32_t d = 1; d < kv_.devices(); ++d)
    if (kv_.free_blocks(d) > kv_.free_blocks(best)) best = d;
  const int64_t need = kv_.blocks_for(s.kv_tokens + 1);
  if (!kv_.take(best, need)) return false;
  s.device = best;
  s.blocks = need;
  swapped_.pop_front();
  running_.push_back(id);
  it.swaps.push_back({best, s.kv_tokens, false, s.remote_device});
  s.remote_device = -1;
  return true;
}

int64_t ServingState::inject(const Sequence& prefilled, int32_t remote_device) {
  Sequence s;
  s.id = static_cast<int64_t>(seqs_.size());
  s.spec = prefilled.spec;
  s.origin = prefilled.id;
  s.generated = prefilled.generated;
  s.kv_tokens = prefilled.kv_tokens;
  s.first_scheduled = prefilled.first_scheduled;
  s.first_token = prefilled.first_token;
  s.remote_device = remote_device;
  seqs_.push_back(s);
  next_ = seqs_.size();  // injected requests are not arrivals
  swapped_.push_back(s.id);
  return s.id;
}

void ServingState::schedule(int64_t id, int64_t tokens, bool prefill, Iteration& it) {
  Sequence& s = seq(id);
  if (s.first_scheduled < 0) s.first_scheduled = now_;
  const bool last = !prefill || s.prefilled + tokens == s.prefill_target;
  it.chunks.push_back(Chunk{id, tokens, s.kv_tokens, prefill, last});
}

void ServingState::complete(const Iteration& it, double end) {
  now_ = end;
  for (const auto& c : it.chunks) {
    Sequence& s = seq(c.seq);
    s.kv_tokens += c.tokens;
    if (c.prefill) {
      s.prefilled += c.tokens;
      if (!c.last) continue;
      s.prefill_target = 0;
      s.prefilled = 0;
    }
    ++s.generated;
    if (s.first_token < 0) s.first_token = end;
    if (s.generated >= s.spec.output) finish(s, end);
  }
}

void ServingState::finish(Sequence& s, double end) {
  s.finish = end;
  kv_.give_back(s.device, s.blocks);
  s.blocks = 0;
  running_.erase(std::find(running_.begin(), running_.end(), s.id));
  ++finished_;
}

}  // namespace moesim::serving
