#include "models/serving/kv_cache.hpp"

#include <algorithm>
#include <stdexcept>

namespace moesim::serving {

KvCache::KvCache(int64_t block_tokens, std::vector<int64_t> capacity_blocks, int64_t watermark_blocks)
    : block_tokens_(block_tokens), capacity_(std::move(capacity_blocks)), watermark_(watermark_blocks) {
  if (block_tokens_ < 1) throw std::invalid_argument("kv cache: block_tokens must be >= 1");
  used_.assign(capacity_.size(), 0);
  peak_.assign(capacity_.size(), 0);
}

bool KvCache::take(int32_t d, int64_t blocks) {
  if (blocks <= 0) return true;
  if (blocks > free_blocks(d)) return false;
  auto& u = used_[static_cast<size_t>(d)];
  u += blocks;
  peak_[static_cast<size_t>(d)] = std::max(peak_[static_cast<size_t>(d)], u);
  return true;
}

void KvCache::give_back(int32_t d, int64_t blocks) {
  auto& u = used_[static_cast<size_t>(d)];
  if (blocks > u) throw std::logic_error("kv cache: more blocks freed than held");
  u -= blocks;
}

}  // namespace moesim::serving
