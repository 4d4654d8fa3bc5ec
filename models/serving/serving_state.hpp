#pragma once
// Request-level serving state (docs/serving.md): requests that arrived and wait, requests running
// with their K/V in a paged cache on one device each (attention is data-parallel), requests
// swapped to host memory, and the iteration a scheduler forms from them. Pure: no graphs, no
// SimGrid; the clock is given by the caller (the engine's timeline, or a test's step timer).
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "models/serving/kv_cache.hpp"

namespace moesim::serving {

// One request as it arrives: when, how many prompt tokens, how many tokens to generate.
struct RequestSpec {
  double arrival = 0;  // seconds
  int64_t prompt = 1;
  int64_t output = 1;
};

struct Sequence {
  int64_t id = 0;
  RequestSpec spec;
  int32_t device = -1;         // where its K/V lives while running (-1: not placed)
  int64_t prefill_target = 0;  // tokens to (re)process before its next token (prompt, or prompt +
                               // generated after a recompute preemption); 0 in the decode phase
  int64_t prefilled = 0;       // of prefill_target, processed
  int64_t generated = 0;       // output tokens produced
  int64_t kv_tokens = 0;       // tokens whose K/V is held (on the device, or on the host when swapped)
  int64_t blocks = 0;          // K/V blocks it holds on its device
  int32_t preemptions = 0;
  int32_t recomputes = 0;
  int32_t swaps = 0;
  double first_scheduled = -1, first_token = -1, finish = -1;
  int64_t origin = -1;         // disaggregated decode pool: the request's id in the prefill pool
  int32_t remote_device = -1;  // K/V waiting on another pool's device (global id) to be fetched

  bool in_prefill() const { return prefill_target > 0; }
  int64_t prefill_left() const { return prefill_target - prefilled; }
};

// One scheduled piece of work: `tokens` tokens of sequence `seq`, over `cached` tokens already in
// its K/V (a prefill chunk, or one decode token).
struct Chunk {
  int64_t seq = 0;
  int64_t tokens = 0;
  int64_t cached = 0;
  bool prefill = false;
  bool last = false;  // yields the sequence's next token (decode, or a prefill's last chunk)
};

// What one iteration does: the chunks of the batch and the K/V moved to or from host memory.
struct Iteration {
  std::vector<Chunk> chunks;
  struct Swap {
    int32_t device = 0;
    int64_t tokens = 0;
    bool to_host = true;
    int32_t from_device = -1;  // >= 0: fetched over the network from this (global) device, not the host
  };
  std::vector<Swap> swaps;
  double idle_until = -1;  // >= 0: nothing to run; the server waits for the next arrival
  int64_t prefill_tokens() const;
  int64_t decode_tokens() const;
  int64_t tokens() const { return prefill_tokens() + decode_tokens(); }
  bool empty() const { return chunks.empty() && swaps.empty(); }
};

enum class Preemption { recompute, swap };

class ServingState {
 public:
  ServingState(std::vector<RequestSpec> requests, KvCache kv, Preemption preemption);

  // Moves requests that arrived by `now` to the waiting queue (FCFS).
  void admit_arrivals(double now);
  double now() const { return now_; }
  bool done() const { return finished_ == static_cast<int64_t>(seqs_.size()); }
  // Arrival time of the next request not yet arrived (-1: none).
  double next_arrival() const;

  std::deque<int64_t>& waiting() { return waiting_; }
  std::vector<int64_t>& running() { return running_; }
  std::deque<int64_t>& swapped() { return swapped_; }
  Sequence& seq(int64_t id) { return seqs_[static_cast<size_t>(id)]; }
  const std::vector<Sequence>& sequences() const { return seqs_; }
  KvCache& kv() { return kv_; }
  const KvCache& kv() const { return kv_; }

  // Places waiting-queue head `id` on the device with the most free blocks if that device can hold
  // `kv_tokens` tokens (plus the cache's watermark), moving it to the running set. False: no room.
  bool admit(int64_t id, int64_t kv_tokens);
  // Ensures the running sequence holds blocks for `kv_tokens` tokens; false when its device is full.
  bool reserve(int64_t id, int64_t kv_tokens);
  // Preempts running sequence `id` (recompute: frees its blocks, back to the head of the waiting
  // queue to re-prefill prompt + generated tokens; swap: its blocks go to host memory, recorded in `it`).
  void preempt(int64_t id, Iteration& it);
  // Brings the head of the swapped queue back to a device if it fits (with room for one more
  // token); records the copy in `it`. False: no room.
  bool swap_in(Iteration& it);
  // Disaggregated serving: a request whose prefill ran on another pool (first token at
  // `first_token`, K/V of `kv_tokens` tokens on global device `remote_device`) joins this pool's
  // queue of requests to bring in (as swapped ones are), in decode phase. Returns its id here.
  int64_t inject(const Sequence& prefilled, int32_t remote_device);
  // Adds a chunk of `tokens` of sequence `id` to the iteration.
  void schedule(int64_t id, int64_t tokens, bool prefill, Iteration& it);

  // Applies a finished iteration at time `end`: tokens produced, first tokens, finished requests.
  void complete(const Iteration& it, double end);
  void set_now(double t) { now_ = t; }

  int64_t preemptions() const { return preemptions_; }

 private:
  void finish(Sequence& s, double end);

  std::vector<Sequence> seqs_;  // by arrival order (id = index)
  size_t next_ = 0;             // next request to arrive
  std::deque<int64_t> waiting_;
  std::vector<int64_t> running_;  // in admission order (the last one is preempted first)
  std::deque<int64_t> swapped_;
  KvCache kv_;
  Preemption preemption_;
  double now_ = 0;
  int64_t finished_ = 0;
  int64_t preemptions_ = 0;
};

}  // namespace moesim::serving
