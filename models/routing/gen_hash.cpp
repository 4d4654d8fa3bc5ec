// kind "hash": hash routing (Roller et al., "Hash Layers for Large Sparse Models", NeurIPS 2021):
// expert = h_j(token id) mod E for j = 0..k-1 (distinct, by probing), no learned router, equal gates.
// Token ids are uniform over the vocabulary, or Zipf-distributed (p(rank r) ∝ 1/r^token_zipf) as
// words in text are; load skew then comes only from token frequencies.
#include <algorithm>
#include <cmath>

#include "models/routing/generators.hpp"

namespace moesim::routing {
namespace {

uint64_t mix(uint64_t x) {  // splitmix64 finaliser
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

class Hash final : public IRoutingSource {
 public:
  Hash(HashParams p, const RoutingContext& ctx) : p_(p), ctx_(ctx) {
    if (p_.token_zipf > 0) {
      cdf_.resize(static_cast<size_t>(p_.vocab_size));
      double s = 0;
      for (int64_t r = 0; r < p_.vocab_size; ++r) cdf_[r] = (s += std::pow(static_cast<double>(r + 1), -p_.token_zipf));
      for (auto& v : cdf_) v /= s;
    }
  }
  LayerRouting route(const RouteRequest& q) override {
    // Token ids belong to the step (the same token at every layer); layers hash with different seeds.
    auto rng = gen::stream(ctx_.seed, "hash.tokens", q.step, 0);
    LayerRouting r = gen::empty_layer(q.tokens, p_.top_k, true, false);
    const auto E = static_cast<uint64_t>(ctx_.num_experts);
    for (int64_t t = 0; t < q.tokens; ++t) {
      const uint64_t id = token_id(rng);
      for (int32_t j = 0; j < p_.top_k; ++j) {
        uint64_t e = mix(id * 131ULL + static_cast<uint64_t>(q.layer) * 7919ULL + static_cast<uint64_t>(j) + ctx_.seed) % E;
        while (std::find(r.experts.begin() + t * p_.top_k, r.experts.begin() + t * p_.top_k + j, static_cast<int32_t>(e)) !=
               r.experts.begin() + t * p_.top_k + j)
          e = (e + 1) % E;
        r.experts[t * p_.top_k + j] = static_cast<int32_t>(e);
        r.weights[t * p_.top_k + j] = 1.0f / static_cast<float>(p_.top_k);
      }
    }
    return r;
  }

 private:
  uint64_t token_id(Rng& rng) {
    if (cdf_.empty()) return rng.below(static_cast<uint64_t>(p_.vocab_size));
    return static_cast<uint64_t>(std::lower_bound(cdf_.begin(), cdf_.end(), rng.uniform()) - cdf_.begin());
  }
  HashParams p_;
  RoutingContext ctx_;
  std::vector<double> cdf_;
};

}  // namespace

std::unique_ptr<IRoutingSource> make_hash(const HashParams& p, const RoutingContext& ctx) { return std::make_unique<Hash>(p, ctx); }

MOESIM_REGISTER(RoutingRegistry, "hash", "hash routing: experts fixed by a hash of the token id (Hash Layers)",
                ([](const config::Table& t, const RoutingContext& ctx) -> std::unique_ptr<IRoutingSource> {
                  HashParams p{gen::read_top_k(t, ctx), t.integer_in_or("vocab_size", 1, int64_t{1} << 32, 50000),
                               t.number_in_or("token_zipf", 0.0, 10.0, 0.0)};
                  t.finish();
                  return make_hash(p, ctx);
                }));

}  // namespace moesim::routing
