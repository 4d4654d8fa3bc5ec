// Layer-level checks (validate/layer): permutation/combine of mb_moe_layer are exact; the kernel's
// LRU (mb_offload) gives the same miss sequence as the simulator's ExpertCache + lru policy, and
// the same bytes read as the full simulator on a generated offload scenario; the scenario
// generator writes scenarios that load; the comparison flags byte mismatches. No benchmark runs.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "models/offload/cache_policy.hpp"
#include "models/offload/expert_cache.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/rng.hpp"
#include "sim/scenario/scenario.hpp"
#include "validate/layer/compare.hpp"
#include "validate/layer/host_memory.hpp"
#include "validate/layer/layer_ops.hpp"
#include "validate/layer/lru.hpp"
#include "validate/layer/scenario_gen.hpp"
#include "validate/layer/simulate.hpp"

namespace moesim::layercheck {
namespace {
namespace fs = std::filesystem;

// tokens x k distinct experts from a fixed LCG, power-of-two gate weights (exact sums), one null
// and one dropped slot.
routing::LayerRouting small_routing(int64_t tokens, int32_t k, int32_t experts) {
  routing::LayerRouting r;
  r.tokens = tokens;
  r.k = k;
  uint32_t x = 12345;
  for (int64_t t = 0; t < tokens; ++t) {
    std::vector<int32_t> chosen;
    while (static_cast<int32_t>(chosen.size()) < k) {
      x = x * 1664525u + 1013904223u;
      int32_t e = static_cast<int32_t>((x >> 16) % static_cast<uint32_t>(experts));
      if (std::find(chosen.begin(), chosen.end(), e) == chosen.end()) chosen.push_back(e);
    }
    for (int32_t j = 0; j < k; ++j) {
      r.experts.push_back(chosen[j]);
      r.weights.push_back(std::ldexp(1.0f, -(j + 1)));  // 1/2, 1/4, ...
      r.dropped.push_back(0);
    }
  }
  r.experts[1] = routing::kNoExpert;  // token 0, slot 1: null
  r.dropped[2 * k] = 1;               // token 2, slot 0: dropped
  return r;
}

TEST(LayerOps, PermutationGroupsSlotsByExpertAndSkipsNullAndDropped) {
  auto r = small_routing(10, 3, 5);
  Permutation p = build_permutation(r, 5);
  auto load = r.expert_load(5);
  EXPECT_EQ(p.rows(), 10 * 3 - 2);
  for (int32_t e = 0; e < 5; ++e) EXPECT_EQ(p.rows_of(e), load[e]) << "expert " << e;
  for (int32_t e = 0; e < 5; ++e)
    for (int64_t i = p.offsets[e]; i < p.offsets[e + 1]; ++i) {
      bool found = false;
      for (int32_t j = 0; j < r.k; ++j) found |= r.expert(p.token[i], j) == e;
      EXPECT_TRUE(found);
      if (i > p.offsets[e]) {
        EXPECT_LT(p.token[i - 1], p.token[i]);  // token order inside an expert
      }
    }
}

TEST(LayerOps, GatherAndIdentityCombineAreExact) {
  const int64_t T = 12, d = 7;
  const int32_t E = 6, k = 3;
  auto r = small_routing(T, k, E);
  Permutation p = build_permutation(r, E);
  std::vector<float> x(T * d), xp(p.rows() * d), out(T * d, -1.0f);
  for (int64_t i = 0; i < T * d; ++i) x[i] = static_cast<float>(i % 13) - 6.0f;  // small integers: exact products
  gather_rows(x.data(), d, p, xp.data());
  for (int64_t i = 0; i < p.rows(); ++i)
    for (int64_t c = 0; c < d; ++c) ASSERT_EQ(xp[i * d + c], x[p.token[i] * d + c]);
  combine_rows(xp.data(), d, p, T, out.data());  // identity experts: y = xp
  for (int64_t t = 0; t < T; ++t) {
    float w = 0;
    for (int32_t j = 0; j < k; ++j) {
      const bool kept = r.expert(t, j) != routing::kNoExpert && !r.dropped[t * k + j];
      if (kept) w += r.weights[t * k + j];
    }
    for (int64_t c = 0; c < d; ++c) ASSERT_EQ(out[t * d + c], w * x[t * d + c]) << "token " << t;
  }
}

TEST(LayerOps, CombineWithoutWeightsUsesOneOverK) {
  auto r = small_routing(4, 2, 4);
  r.weights.clear();
  Permutation p = build_permutation(r, 4);
  for (float w : p.weight) EXPECT_EQ(w, 0.5f);
}

TEST(LayerOps, SwigluMatchesDefinition) {
  std::vector<float> a{-2.0f, 0.0f, 1.5f}, b{3.0f, 2.0f, -1.0f};
  auto expect = a;
  for (size_t i = 0; i < a.size(); ++i) expect[i] = a[i] / (1.0f + std::exp(-a[i])) * b[i];
  swiglu(a.data(), b.data(), 3);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_FLOAT_EQ(a[i], expect[i]);
}

TEST(HostMemory, VmHwmParsesKilobytes) {
  EXPECT_EQ(vm_hwm_bytes_from_status("Name:\tx\nVmPeak:\t  999 kB\nVmHWM:\t   2048 kB\nVmRSS: 1 kB\n"), 2048 * 1024);
  EXPECT_EQ(vm_hwm_bytes_from_status("Name: x\n"), 0);
}

// Random decode routes: tokens x layers x k distinct experts (skewed towards low ids).
TokenRoutes random_routes(int64_t tokens, int32_t layers, int32_t k, int32_t experts, uint64_t seed) {
  Rng rng(seed, "test.layer_lru");
  TokenRoutes routes(static_cast<size_t>(tokens), std::vector<std::vector<int32_t>>(static_cast<size_t>(layers)));
  for (auto& tok : routes)
    for (auto& l : tok)
      while (static_cast<int32_t>(l.size()) < k) {
        const double u = rng.uniform();
        int32_t e = static_cast<int32_t>(u * u * experts);
        if (std::find(l.begin(), l.end(), e) == l.end()) l.push_back(e);
      }
  return routes;
}

// The simulator's cache driven as models/offload/offload_replay.cpp drives it for one token.
std::vector<ReplayEvent> simulator_replay(const TokenRoutes& routes, int32_t slots) {
  auto policy = offload::make_lru();
  offload::ExpertCache cache(static_cast<double>(slots) * 100.0, *policy);
  std::vector<ReplayEvent> ev;
  int64_t tick = 0;
  for (size_t t = 0; t < routes.size(); ++t)
    for (size_t l = 0; l < routes[t].size(); ++l) {
      cache.clear_protection();
      auto needed = distinct_experts(routes[t][l]);
      const int32_t mi = static_cast<int32_t>(l);
      for (int32_t e : needed)
        if (cache.contains({mi, e})) cache.protect({mi, e});
      for (int32_t e : needed) {
        auto o = cache.access({mi, e}, 100.0, offload::CacheClock{tick++, mi});
        ev.push_back(ReplayEvent{static_cast<int64_t>(t), ExpertId{mi, e}, o.hit, o.bypass});
      }
    }
  return ev;
}

TEST(LayerLru, SameMissSequenceAsTheSimulatorsLru) {
  for (int32_t slots : {1, 3, 6, 12, 40}) {
    auto routes = random_routes(60, 3, 4, 10, 7 + slots);
    auto mine = lru_replay(routes, slots);
    auto sim = simulator_replay(routes, slots);
    ASSERT_EQ(mine.size(), sim.size());
    int64_t misses = 0, bypasses = 0;
    for (size_t i = 0; i < mine.size(); ++i) {
      ASSERT_EQ(mine[i].key, sim[i].key) << i;
      ASSERT_EQ(mine[i].hit, sim[i].hit) << "slots " << slots << ", access " << i;
      ASSERT_EQ(mine[i].bypass, sim[i].bypass) << "slots " << slots << ", access " << i;
      misses += !mine[i].hit, bypasses += mine[i].bypass;
    }
    if (slots < 30) {
      EXPECT_GT(misses, 30) << "the trace must exercise evictions (30 distinct keys)";
    } else {
      EXPECT_EQ(misses, 30) << "a cache holding every key misses each key once";
    }
    if (slots < 4) {
      EXPECT_GT(bypasses, 0) << "fewer slots than k: some experts stream through";
    }
  }
}

TEST(LayerLru, EvictsLeastRecentUnprotected) {
  LruSlots c(2);
  const std::vector<ExpertId> l0{{0, 1}, {0, 2}};
  EXPECT_FALSE(c.access({0, 1}, l0).hit);
  EXPECT_FALSE(c.access({0, 2}, l0).hit);
  EXPECT_TRUE(c.access({0, 1}, l0).hit);  // 1 is now the most recent
  const std::vector<ExpertId> l1{{1, 5}};
  auto a = c.access({1, 5}, l1);
  ASSERT_TRUE(a.evicted.has_value());
  EXPECT_EQ(a.evicted->expert, 2);
  // Both residents protected: the third expert of the layer streams through.
  const std::vector<ExpertId> l2{{0, 1}, {1, 5}, {2, 0}};
  EXPECT_TRUE(c.access({0, 1}, l2).hit);
  EXPECT_TRUE(c.access({1, 5}, l2).hit);
  EXPECT_TRUE(c.access({2, 0}, l2).bypass);
}

// A small model (d 64, 8 experts of width 32, top-2) and a moesim JSONL trace in a temp folder.
struct Fixture {
  fs::path dir;
  Fixture() {
    dir = fs::temp_directory_path() / fmt::format("moesim_layer_test_{}", ::getpid());
    fs::create_directories(dir);
    std::ofstream f(dir / "trace.jsonl");
    f << R"({"type":"meta","format":"moesim-trace","version":1,"num_experts":8,"top_k":2,"model":"t","source":"test","load_only":false})"
      << "\n";
    auto routes = random_routes(40, 2, 2, 8, 3);
    for (int64_t t = 0; t < 40; ++t)
      for (int32_t l = 0; l < 2; ++l)
        f << fmt::format(R"({{"step":0,"layer":{},"token":{},"experts":[{},{}],"weights":[0.75,0.25]}})", l, t,
                         routes[t][l][0], routes[t][l][1])
          << "\n";
  }
  ~Fixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  CheckSpec spec(const std::string& check) const {
    CheckSpec s;
    s.check = check;
    s.name = "t_" + check;
    s.model_sets = {"d_model=64", "attention.heads=4", "moe.experts=8", "moe.top_k=2", "moe.expert_dim=32"};
    s.preset = "cpu_host";  // replaced below when a calibrated preset exists
    s.trace_path = "trace.jsonl";
    s.tokens = check == "offload" ? 24 : 16;
    s.steps = 3;
    s.layers = check == "offload" ? 2 : 1;
    s.cache_experts = 5;
    return s;
  }
  fs::path write(CheckSpec s) const {
    s.preset = preset();
    fs::path p = dir / (s.name + ".toml");
    std::ofstream(p) << scenario_toml(s);
    return p;
  }
  // Any device preset that also exists as a storage preset (the calibrated ones do).
  static std::string preset() {
    auto dev = config::preset_names("hardware/presets/devices");
    auto st = config::preset_names("hardware/presets/storage");
    for (const auto& n : dev)
      if (n.rfind("calibrated_", 0) == 0 && std::find(st.begin(), st.end(), n) != st.end()) return n;
    return "";
  }
};

TEST(LayerScenario, GeneratedScenariosLoad) {
  Fixture fx;
  if (Fixture::preset().empty()) GTEST_SKIP() << "no calibrated device+storage preset in hardware/presets";
  for (const std::string check : {"moe_layer", "offload"}) {
    auto path = fx.write(fx.spec(check));
    auto s = scenario::load_scenario(path);
    EXPECT_EQ(s->model.d_model, 64);
    EXPECT_EQ(s->model.experts, 8);
    EXPECT_EQ(s->model.weight_dtype, hw::Dtype::fp32);
    EXPECT_EQ(s->topology->device_count(), 1);
    auto shape = read_workload_shape(path);
    EXPECT_EQ(shape.check, check);
    EXPECT_EQ(shape.tokens_per_step, check == "offload" ? 1 : 16);
    EXPECT_EQ(shape.steps, check == "offload" ? 24 : 3);
    if (check == "offload") {
      EXPECT_EQ(shape.cache_experts, 5);
    }
  }
}

TEST(LayerScenario, UnknownCheckAndBadModelSetAreErrors) {
  CheckSpec s;
  s.check = "nope";
  EXPECT_THROW(scenario_toml(s), ConfigError);
  s.check = "moe_layer";
  s.model_sets = {"no_equals_sign"};
  EXPECT_THROW(scenario_toml(s), ConfigError);
}

// The full simulator's bytes read per decoded token equal the kernel LRU's misses x expert bytes
// on the routes the scenario's own routing source gives (what mb_offload replays).
TEST(LayerSimulate, OffloadBytesReadMatchTheKernelLru) {
  Fixture fx;
  if (Fixture::preset().empty()) GTEST_SKIP() << "no calibrated device+storage preset in hardware/presets";
  auto path = fx.write(fx.spec("offload"));
  auto s = scenario::load_scenario(path);
  TokenRoutes routes(24, std::vector<std::vector<int32_t>>(2));
  for (int64_t t = 0; t < 24; ++t)
    for (int32_t l = 0; l < 2; ++l) {
      auto r = s->routing->route({t, l, 1, {0}});
      for (int32_t j = 0; j < r.k; ++j) routes[t][l].push_back(r.expert(0, j));
    }
  auto events = lru_replay(routes, 5);
  std::vector<double> misses(24, 0);
  for (const auto& e : events) misses[e.token] += !e.hit;
  const double expert_bytes = 3.0 * 64 * 32 * 4;
  SimResult sim = simulate(path);
  ASSERT_EQ(sim.steps.size(), 24u);
  double total = 0;
  for (int64_t t = 0; t < 24; ++t) {
    EXPECT_EQ(sim.steps[t].misses, misses[t]) << "token " << t;
    EXPECT_EQ(sim.steps[t].bytes_read, misses[t] * expert_bytes) << "token " << t;
    EXPECT_GT(sim.steps[t].moe_s, 0);
    EXPECT_LT(sim.steps[t].moe_s, sim.steps[t].step_s);
    total += misses[t];
  }
  EXPECT_GT(total, 10);
}

TEST(LayerSimulate, MoeLayerStepsHavePhasesAndLayerMemory) {
  Fixture fx;
  if (Fixture::preset().empty()) GTEST_SKIP() << "no calibrated device+storage preset in hardware/presets";
  SimResult sim = simulate(fx.write(fx.spec("moe_layer")));
  ASSERT_EQ(sim.steps.size(), 3u);
  const double expert_weights = 8 * 3.0 * 64 * 32 * 4;
  for (const auto& st : sim.steps) {
    EXPECT_GT(st.op_s.at("gate"), 0);
    EXPECT_GT(st.op_s.at("expert_ffn"), 0);
    EXPECT_NEAR(st.moe_s, st.step_s - st.op_s.at("attention") - st.op_s.at("lm_head"), 1e-12);
    EXPECT_GT(st.layer_memory_bytes, expert_weights);
    EXPECT_LT(st.layer_memory_bytes, sim.device_peak_bytes);
  }
  auto back = deserialize(serialize(sim));
  ASSERT_EQ(back.steps.size(), sim.steps.size());
  EXPECT_EQ(back.steps[1].op_s, sim.steps[1].op_s);
  EXPECT_EQ(back.steps[2].layer_memory_bytes, sim.steps[2].layer_memory_bytes);
}

TEST(LayerCompare, OffloadFlagsByteMismatchesAndComputesApe) {
  bench::ResultFile f;
  for (int t = 0; t < 2; ++t)
    f.records.push_back(bench::Record{.kernel = "offload", .size_bytes = 100, .pattern = "token", .median_s = 0.2,
                                      .note = fmt::format("token={} hits=0", t)});
  SimResult sim;
  sim.steps = {SimStep{0, 1.0, 0.21, {}, 100, 1, 0}, SimStep{1, 1.0, 0.1, {}, 200, 2, 0}};
  auto c = compare_offload(f, sim, "x.csv");
  EXPECT_FALSE(c.bytes_exact);
  ASSERT_GE(c.stats.size(), 1u);
  EXPECT_EQ(c.stats[0].quantity, "token");
  EXPECT_NEAR(c.stats[0].max, 50.0, 1e-9);  // |0.1 - 0.2| / 0.2
  EXPECT_EQ(c.stats[0].off, 1u);
  EXPECT_EQ(note_int("token=12 hits=3", "hits"), 3);
  EXPECT_EQ(note_int("xtoken=1", "token"), -1);
}

TEST(LayerCompare, OffloadReferenceRowsMeetTheSimulatorsTimePerExpert) {
  bench::ResultFile f;
  // Token 0: 2 misses + 1 hit; token 1: 1 miss + 3 hits.
  f.records.push_back(bench::Record{.kernel = "offload", .size_bytes = 200, .pattern = "token", .median_s = 0.2,
                                    .note = "token=0 hits=1 misses=2 bypasses=0"});
  f.records.push_back(bench::Record{.kernel = "offload", .size_bytes = 100, .pattern = "token", .median_s = 0.2,
                                    .note = "token=1 hits=3 misses=1 bypasses=0"});
  f.records.push_back(bench::Record{.kernel = "offload", .size_bytes = 100, .pattern = "ref_read", .median_s = 0.05});
  f.records.push_back(bench::Record{.kernel = "offload", .size_bytes = 100, .pattern = "ref_expert", .median_s = 0.01});
  f.records.push_back(bench::Record{.kernel = "offload", .size_bytes = 100, .pattern = "ref_expert_io", .median_s = 0.0125});
  SimResult sim;
  sim.steps = {SimStep{0, 1.0, 0.2, {{"expert_load", 0.08}, {"expert_ffn", 0.03}}, 200, 1, 0},
               SimStep{1, 1.0, 0.2, {{"expert_load", 0.04}, {"expert_ffn", 0.04}}, 100, 1, 0}};
  auto c = compare_offload(f, sim, "x.csv");
  const auto point = [&](const std::string& q) {
    for (const auto& p : c.points)
      if (p.quantity == q) return p;
    ADD_FAILURE() << "no " << q;
    return Point{};
  };
  EXPECT_NEAR(point("ref_read").predicted, 0.04, 1e-12);    // 0.08 / 2 and 0.04 / 1
  EXPECT_NEAR(point("ref_read").ape, 20.0, 1e-9);           // |0.04 - 0.05| / 0.05
  EXPECT_NEAR(point("ref_expert").predicted, 0.01, 1e-12);  // 0.03 / 3 and 0.04 / 4
  EXPECT_NEAR(point("ref_expert").ape, 0.0, 1e-9);
  EXPECT_NEAR(point("ref_expert_io").predicted, 0.01, 1e-12);  // the same FFN time: no contention modelled
  EXPECT_NEAR(point("ref_expert_io").ape, 20.0, 1e-9);         // |0.01 - 0.0125| / 0.0125
}

}  // namespace
}  // namespace moesim::layercheck
