// Expert-cache policies: Belady is never beaten on demand-only replays (uniform, skewed and
// path-correlated traces from the routing generators); a cache holding every expert never loads one
// twice; each policy's defining behaviour on hand-made sequences.
#include <gtest/gtest.h>

#include "models/offload/expert_cache.hpp"
#include "models/routing/generators.hpp"

namespace moesim::offload {
namespace {

using Seq = std::vector<ExpertKey>;

std::unique_ptr<ICachePolicy> make(const std::string& kind, const OffloadContext& ctx) {
  if (kind == "lru") return make_lru();
  if (kind == "lfu") return make_lfu();
  if (kind == "fifo") return make_fifo();
  if (kind == "edgemoe") return make_edgemoe_cache({}, ctx);
  if (kind == "belady") return make_belady();
  return make_pinned_hot(PinnedHotParams{2}, ctx);
}
const std::vector<std::string> kKinds{"lru", "lfu", "fifo", "edgemoe", "belady", "pinned_hot"};

// Replays demand accesses (each expert 1 byte) through a cache of `slots` bytes.
CacheStats replay(ICachePolicy& p, const Seq& seq, double slots, const CalibrationTrace* calib = nullptr) {
  if (calib) p.calibrate(*calib);
  if (p.needs_future()) p.set_future(seq);
  ExpertCache cache(slots, p);
  for (size_t i = 0; i < seq.size(); ++i) {
    cache.clear_protection();
    cache.access(seq[i], 1.0, CacheClock{static_cast<int64_t>(i), seq[i].layer});
  }
  return cache.stats();
}

// Decode of one token at a time through `layers` MoE layers: the sequence a batch-1 decoder makes.
Seq sequence_from(routing::IRoutingSource& src, int32_t layers, int64_t steps, CalibrationTrace* calib) {
  Seq seq;
  for (int64_t s = 0; s < steps; ++s) {
    TokenPath path;
    for (int32_t l = 0; l < layers; ++l) {
      auto r = src.route(routing::RouteRequest{s, l, 1, {}});
      path.experts.emplace_back();
      for (int32_t k = 0; k < r.k; ++k) {
        seq.push_back(ExpertKey{l, r.expert(0, k)});
        path.experts.back().push_back(r.expert(0, k));
      }
    }
    if (calib) calib->tokens.push_back(path);
  }
  return seq;
}

routing::RoutingContext routing_ctx(int32_t experts, int32_t k, int32_t layers, uint64_t seed) {
  routing::RoutingContext c;
  c.num_experts = experts;
  c.top_k = k;
  c.num_moe_layers = layers;
  c.seed = seed;
  return c;
}

struct TraceCase {
  std::string name;
  std::unique_ptr<routing::IRoutingSource> src;
  int32_t experts, k, layers;
};

std::vector<TraceCase> traces() {
  std::vector<TraceCase> t;
  t.push_back({"uniform", routing::make_uniform({1}, routing_ctx(8, 1, 6, 1)), 8, 1, 6});
  routing::PopularityGenParams skew;
  skew.popularity.law = "zipf";
  skew.popularity.exponent = 1.2;
  skew.top_k = 2;
  t.push_back({"zipf_top2", routing::make_popularity(skew, routing_ctx(16, 2, 4, 2)), 16, 2, 4});
  routing::CrossLayerParams paths;
  paths.top_k = 1;
  t.push_back({"paths", routing::make_cross_layer(paths, routing_ctx(8, 1, 6, 3)), 8, 1, 6});
  return t;
}

TEST(CachePolicy, BeladyHitRateAtLeastEveryOtherPolicy) {
  for (auto& tc : traces()) {
    CalibrationTrace calib{tc.layers, tc.experts, {}};
    Seq seq = sequence_from(*tc.src, tc.layers, 200, &calib);
    OffloadContext ctx{tc.layers, tc.experts, tc.k};
    for (double slots : {2.0, 5.0, 11.0, 20.0}) {
      auto belady = make_belady();
      double best = replay(*belady, seq, slots).hit_rate();
      for (const auto& kind : kKinds) {
        auto p = make(kind, ctx);
        double hr = replay(*p, seq, slots, &calib).hit_rate();
        EXPECT_GE(best + 1e-12, hr) << tc.name << " slots " << slots << " " << kind;
      }
    }
  }
}

TEST(CachePolicy, SkewedTraceSeparatesPolicies) {  // the comparison is not vacuous
  auto tc = std::move(traces()[1]);
  Seq seq = sequence_from(*tc.src, tc.layers, 200, nullptr);
  auto belady = make_belady();
  auto fifo = make_fifo();
  EXPECT_GT(replay(*belady, seq, 8).hit_rate(), replay(*fifo, seq, 8).hit_rate() + 0.02);
}

TEST(CachePolicy, CacheHoldingEveryExpertNeverLoadsTwice) {
  for (auto& tc : traces()) {
    Seq seq = sequence_from(*tc.src, tc.layers, 100, nullptr);
    OffloadContext ctx{tc.layers, tc.experts, tc.k};
    for (const auto& kind : kKinds) {
      auto p = make(kind, ctx);
      CacheStats s = replay(*p, seq, tc.layers * tc.experts);
      for (const auto& [key, n] : s.loads) EXPECT_EQ(n, 1) << kind;
      EXPECT_EQ(s.misses, static_cast<int64_t>(s.loads.size())) << kind;
    }
  }
}

Seq keys(std::initializer_list<int> experts) {
  Seq s;
  for (int e : experts) s.push_back(ExpertKey{0, e});
  return s;
}

TEST(CachePolicy, LruEvictsLeastRecentlyUsed) {
  auto p = make_lru();
  // 1 2 1 3: 3 evicts 2 (1 was used after it), so the last 1 hits.
  auto s = replay(*p, keys({1, 2, 1, 3, 1}), 2);
  EXPECT_EQ(s.hits, 2);  // second 1 and the last 1
}

TEST(CachePolicy, FifoEvictsOldestInsertion) {
  auto p = make_fifo();
  auto s = replay(*p, keys({1, 2, 1, 3, 1}), 2);  // 3 evicts 1 (oldest) even though it was just used
  EXPECT_EQ(s.hits, 1);
}

TEST(CachePolicy, LfuKeepsFrequentExpert) {
  auto p = make_lfu();
  auto s = replay(*p, keys({1, 1, 1, 2, 3, 1}), 2);  // 3 evicts 2 (count 1), keeps 1 (count 3)
  EXPECT_EQ(s.hits, 3);
}

TEST(CachePolicy, BeladyEvictsFarthestNextUse) {
  auto p = make_belady();
  auto s = replay(*p, keys({1, 2, 3, 1, 2, 1}), 2);
  // 1 2 | 3 is never used again: streamed, not cached (MIN with bypass) | 1, 2, 1 hit
  EXPECT_EQ(s.hits, 3);
  EXPECT_EQ(s.bypasses, 1);
  // 3 used again soon: cached, evicting the farthest, 2 (never again), not 1 (next at 4).
  auto q = make_belady();
  auto t = replay(*q, keys({1, 2, 3, 3, 1, 1}), 2);
  EXPECT_EQ(t.hits, 3);  // 3, 1, 1 (evicting 1 instead would give 2)
}

TEST(CachePolicy, EdgeMoeScoreFollowsFrequencyAndLayerDistance) {
  OffloadContext ctx{4, 4, 1};
  auto p = make_edgemoe_cache({false}, ctx);
  // Equal frequency: at current layer I = 0 the expert of layer 1 has d = (4-1+0)%4 = 3, layer 3
  // has d = 1: -f/3 > -f/1, so layer 1's expert is evicted.
  for (ExpertKey k : {ExpertKey{1, 0}, ExpertKey{3, 0}}) p->on_access(k, {}, false);
  EXPECT_EQ((p->choose_victim({ExpertKey{1, 0}, ExpertKey{3, 0}}, CacheClock{0, 0})), (ExpertKey{1, 0}));
  // A much more frequent expert survives even at the larger distance.
  for (int i = 0; i < 10; ++i) p->on_access(ExpertKey{1, 0}, {}, true);
  EXPECT_EQ((p->choose_victim({ExpertKey{1, 0}, ExpertKey{3, 0}}, CacheClock{0, 0})), (ExpertKey{3, 0}));
  // The current layer is never chosen while another candidate exists.
  EXPECT_EQ((p->choose_victim({ExpertKey{0, 1}, ExpertKey{1, 0}}, CacheClock{0, 0})), (ExpertKey{1, 0}));
}

TEST(CachePolicy, PinnedHotNeverEvictsThePinnedSet) {
  CalibrationTrace calib{1, 8, {}};
  for (int i = 0; i < 10; ++i) calib.tokens.push_back(TokenPath{{{5}}});
  auto p = make_pinned_hot(PinnedHotParams{1}, OffloadContext{1, 8, 1});
  // 5 is pinned: with 2 slots, every other expert cycles through the one free slot.
  auto s = replay(*p, keys({5, 1, 2, 3, 5, 4, 5}), 2, &calib);
  EXPECT_EQ(s.hits, 2);
  auto lru = make_lru();
  EXPECT_EQ(replay(*lru, keys({5, 1, 2, 3, 5, 4, 5}), 2).hits, 1);  // only the last 5
}

TEST(ExpertCache, ProtectedExpertsAreNotEvictedAndOversizeBypasses) {
  auto p = make_lru();
  ExpertCache c(2, *p);
  c.access(ExpertKey{0, 1}, 1, {0, 0});
  c.access(ExpertKey{0, 2}, 1, {1, 0});
  auto o = c.access(ExpertKey{0, 3}, 1, {2, 0});  // all protected: streamed, not cached
  EXPECT_TRUE(o.bypass);
  EXPECT_FALSE(c.contains(ExpertKey{0, 3}));
  c.clear_protection();
  o = c.access(ExpertKey{0, 4}, 3, {3, 0});  // larger than the buffer
  EXPECT_TRUE(o.bypass);
  EXPECT_EQ(c.used_bytes(), 2);
}

TEST(ExpertCache, PrefetchAccounting) {
  auto p = make_lru();
  ExpertCache c(2, *p);
  ASSERT_TRUE(c.prefetch(ExpertKey{0, 1}, 1, {0, 0}).has_value());
  ASSERT_TRUE(c.prefetch(ExpertKey{0, 2}, 1, {0, 0}).has_value());
  EXPECT_FALSE(c.prefetch(ExpertKey{0, 2}, 1, {0, 0}).has_value());  // already resident
  EXPECT_TRUE(c.access(ExpertKey{0, 1}, 1, {1, 0}).prefetched);
  c.clear_protection();
  c.access(ExpertKey{0, 3}, 1, {2, 0});  // evicts 2, prefetched and never used
  EXPECT_EQ(c.stats().prefetches, 2);
  EXPECT_EQ(c.stats().prefetch_used, 1);
  EXPECT_EQ(c.stats().prefetch_wasted, 1);
  EXPECT_DOUBLE_EQ(c.stats().prefetch_accuracy(), 0.5);
  EXPECT_DOUBLE_EQ(c.stats().bytes_loaded, 3);
}

TEST(CachePolicy, RegisteredKinds) {
  auto kinds = CachePolicyRegistry::instance().kinds();
  for (const auto& k : kKinds) EXPECT_NE(std::find(kinds.begin(), kinds.end(), k), kinds.end()) << k;
}

}  // namespace
}  // namespace moesim::offload
