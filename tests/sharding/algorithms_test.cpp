// Pure placement algorithms: Hecate Algorithms 1 and 2, load prediction, relocation.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "models/sharding/algorithms.hpp"
#include "models/sharding/materialize.hpp"

namespace moesim::sharding {
namespace {

std::vector<int32_t> nodes_of(int32_t devices, int32_t per_node) {
  std::vector<int32_t> n;
  for (int32_t d = 0; d < devices; ++d) n.push_back(d / per_node);
  return n;
}

// Every expert has exactly one owner and no device twice among its holders.
void expect_well_formed(const ExpertPlacement& p, int32_t devices) {
  for (int32_t e = 0; e < p.experts(); ++e) {
    ASSERT_FALSE(p.holders[e].empty()) << "expert " << e << " has no owner";
    std::set<int32_t> seen(p.holders[e].begin(), p.holders[e].end());
    EXPECT_EQ(seen.size(), p.holders[e].size()) << "expert " << e << " held twice by one device";
    for (int32_t d : p.holders[e]) EXPECT_TRUE(d >= 0 && d < devices);
  }
}

std::vector<double> zipf(int32_t experts) {
  std::vector<double> f;
  for (int32_t e = 0; e < experts; ++e) f.push_back(1000.0 / (1 + ((e * 5) % experts)));
  return f;
}

TEST(LoadHistory, PredictsTheMeanOfTheLastWindowOfEarlierIterations) {
  LoadHistory h;
  for (int64_t s = 0; s < 10; ++s) h.record({s, s, 0, 0, {s * 10, 100 - s}});
  auto p = h.predict(8, 0, 3);  // steps 5, 6, 7
  ASSERT_EQ(p.size(), 2u);
  EXPECT_DOUBLE_EQ(p[0], 60.0);
  EXPECT_DOUBLE_EQ(p[1], 94.0);
  EXPECT_TRUE(h.predict(0, 0, 5).empty());  // nothing before iteration 0
  // Micro-batches of one iteration add up; observing one again replaces it.
  h.record({20, 40, 0, 0, {1, 1}});
  h.record({20, 41, 0, 0, {2, 2}});
  h.record({20, 41, 0, 0, {3, 3}});
  EXPECT_DOUBLE_EQ(h.predict(21, 0, 1)[0], 4.0);
}

TEST(SparseMaterialize, EnoughMemoryReplicatesTheHottestTEverywhereAndKeepsTheShards) {
  auto node_of = nodes_of(8, 4);
  auto shards = owners_only(even_owners(16, 8));
  auto load = zipf(16);
  auto p = sparse_materialize(shards, load, {3, 3, true}, node_of);
  expect_well_formed(p, 8);
  auto top = by_load_descending(load);
  for (int32_t e = 0; e < 16; ++e) {
    EXPECT_EQ(p.holders[e][0], shards.holders[e][0]) << "materialization must contain the shard placement";
    bool hot = std::find(top.begin(), top.begin() + 3, e) != top.begin() + 3;
    EXPECT_EQ(p.holders[e].size(), hot ? 8u : 1u) << "expert " << e;
  }
}

TEST(SparseMaterialize, MemoryBoundReplicationIsProportionalAndRespectsSlots) {
  auto node_of = nodes_of(8, 4);
  auto shards = owners_only(even_owners(16, 8));
  auto load = zipf(16);
  const int32_t t = 6, m = 2;
  auto p = sparse_materialize(shards, load, {t, m, true}, node_of);
  expect_well_formed(p, 8);
  std::vector<int32_t> group(8);
  std::iota(group.begin(), group.end(), 0);
  auto copies = copies_per_rank(p, group);
  int32_t total = 0;
  for (int32_t c : copies) {
    EXPECT_LE(c, m);
    total += c;
  }
  EXPECT_LE(total, 8 * m);
  EXPECT_GT(total, 0);
  auto top = by_load_descending(load);
  // Hotter experts get at least as many copies as colder ones; experts outside top-t none.
  for (int32_t i = 1; i < t; ++i) EXPECT_GE(p.holders[top[i - 1]].size(), p.holders[top[i]].size());
  for (int32_t i = t; i < 16; ++i) EXPECT_EQ(p.holders[top[i]].size(), 1u);
}

TEST(SparseMaterialize, TopologyAwarePlacementReachesEveryNodeFirst) {
  auto node_of = nodes_of(8, 2);  // 4 nodes of 2 devices
  auto shards = owners_only(even_owners(8, 8));
  std::vector<double> load(8, 1.0);
  load[1] = 5;  // 8 slots (m = 1): 5 copies for expert 1, 3 for expert 0
  load[0] = 3;
  auto p = sparse_materialize(shards, load, {2, 1, true}, node_of);
  expect_well_formed(p, 8);
  std::set<int32_t> first4;
  for (size_t i = 0; i < 4; ++i) first4.insert(node_of[p.holders[1][i]]);
  EXPECT_EQ(first4.size(), 4u) << "the first copies of expert 1 go to nodes without one";
  // Expert 0 (owner on node 0) gets the 3 slots left, on devices 5, 7 (nodes 2, 3) and then 1
  // (node 0, the only free device left): nodes without a copy come first.
  ASSERT_EQ(p.holders[0].size(), 4u);
  std::set<int32_t> first3;
  for (size_t i = 0; i < 3; ++i) first3.insert(node_of[p.holders[0][i]]);
  EXPECT_EQ(first3.size(), 3u);
  EXPECT_EQ(node_of[p.holders[0][3]], 0);
  auto flat = sparse_materialize(shards, load, {2, 1, false}, node_of);
  expect_well_formed(flat, 8);
}

TEST(SparseMaterialize, NoOverlapOrNoHistoryMeansNoCopies) {
  auto node_of = nodes_of(4, 2);
  auto shards = owners_only(even_owners(8, 4));
  auto p0 = sparse_materialize(shards, zipf(8), {0, 4, true}, node_of);
  auto p1 = sparse_materialize(shards, {}, {4, 4, true}, node_of);
  for (int32_t e = 0; e < 8; ++e) {
    EXPECT_EQ(p0.holders[e].size(), 1u);
    EXPECT_EQ(p1.holders[e].size(), 1u);
  }
}

TEST(HeterogeneousShards, EveryExpertOwnedOnceAndSlotsEqual) {
  auto node_of = nodes_of(8, 4);
  std::vector<std::vector<double>> loads = {zipf(16), std::vector<double>(16, 5.0), zipf(16)};
  std::reverse(loads[2].begin(), loads[2].end());
  auto owners = heterogeneous_shards(loads, 2, node_of);
  ASSERT_EQ(owners.size(), 3u);
  std::vector<int32_t> slots(8, 0);
  for (const auto& layer : owners) {
    ASSERT_EQ(layer.size(), 16u);
    for (int32_t d : layer) {
      ASSERT_TRUE(d >= 0 && d < 8);
      ++slots[d];
    }
  }
  for (int32_t s : slots) EXPECT_EQ(s, 16 * 3 / 8);
  // The cold experts of a layer are spread: no node receives much more cold load than another.
  auto order = by_load_descending(loads[0]);
  std::vector<double> node_cold(2, 0.0);
  for (size_t i = 2; i < order.size(); ++i) node_cold[node_of[owners[0][order[i]]]] += loads[0][order[i]];
  double total = node_cold[0] + node_cold[1];
  EXPECT_LT(std::abs(node_cold[0] - node_cold[1]), 0.35 * total);
}

TEST(BalancedRelocation, LowersTheMaxDeviceLoadBelowEp) {
  auto load = zipf(16);
  auto ep = owners_only(even_owners(16, 4));
  auto moved = balanced_relocation(load, 4, 0);
  auto replicated = balanced_relocation(load, 4, 1);
  expect_well_formed(moved, 4);
  expect_well_formed(replicated, 4);
  auto max_load = [&](const ExpertPlacement& p) {
    std::vector<double> dev(4, 0.0);
    for (int32_t e = 0; e < 16; ++e)
      for (int32_t d : p.holders[e]) dev[d] += load[e] / p.holders[e].size();
    return *std::max_element(dev.begin(), dev.end());
  };
  for (int32_t d = 0; d < 4; ++d) EXPECT_EQ(moved.owned_by(d).size(), 4u);
  EXPECT_LT(max_load(moved), max_load(ep));
  EXPECT_LE(max_load(replicated), max_load(moved));
}

TEST(Moves, OwnerChangesAndNewPersistentHoldersAreMoves) {
  ExpertPlacement a = owners_only({0, 1, 2});
  ExpertPlacement b = owners_only({0, 2, 1});
  b.holders[0].push_back(3);
  EXPECT_EQ(moves_between(a, b, false).size(), 2u);  // experts 1 and 2 changed owner
  EXPECT_EQ(moves_between(a, b, true).size(), 3u);   // plus the persistent replica of 0 on 3
  EXPECT_TRUE(moves_between(a, a, true).empty());
}

}  // namespace
}  // namespace moesim::sharding
