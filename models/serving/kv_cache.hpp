#pragma once
// Paged K/V cache (Kwon et al., SOSP'23, "Efficient Memory Management for LLM Serving with
// PagedAttention"): each device's K/V memory is cut into blocks of `block_tokens` tokens; a
// sequence holds ceil(kv_tokens / block_tokens) blocks on its device, allocated as it grows and
// freed when it finishes or is preempted. No fragmentation beyond the last, partly filled block.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace moesim::serving {

class KvCache {
 public:
  // capacity_blocks[d]: blocks device d holds; watermark_blocks: blocks kept free at admission
  // (vLLM's watermark, so running sequences can grow without immediate preemption).
  KvCache(int64_t block_tokens, std::vector<int64_t> capacity_blocks, int64_t watermark_blocks = 0);

  int64_t block_tokens() const { return block_tokens_; }
  int32_t devices() const { return static_cast<int32_t>(capacity_.size()); }
  int64_t blocks_for(int64_t tokens) const { return (tokens + block_tokens_ - 1) / block_tokens_; }
  int64_t capacity(int32_t d) const { return capacity_[static_cast<size_t>(d)]; }
  int64_t used(int32_t d) const { return used_[static_cast<size_t>(d)]; }
  int64_t free_blocks(int32_t d) const { return capacity(d) - used(d); }
  int64_t watermark() const { return watermark_; }
  int64_t peak_used(int32_t d) const { return peak_[static_cast<size_t>(d)]; }

  // Takes `blocks` on device d; false (nothing taken) when they are not free.
  bool take(int32_t d, int64_t blocks);
  void give_back(int32_t d, int64_t blocks);

 private:
  int64_t block_tokens_;
  std::vector<int64_t> capacity_, used_, peak_;
  int64_t watermark_;
};

}  // namespace moesim::serving
