#include <gtest/gtest.h>

#include "models/workload/dispatch.hpp"

namespace moesim::workload {
namespace {

// 4 experts on 2 devices (experts 0,1 on device 0; 2,3 on device 1), 4 tokens, k = 2.
struct Fixture {
  routing::LayerRouting r;
  ExpertPlacement place;
  DispatchInput in;
  Fixture(std::vector<int32_t> experts, double cf = 0) {
    r.tokens = 4;
    r.k = 2;
    r.experts = std::move(experts);
    place.holders = {{0}, {0}, {1}, {1}};
    in.routing = &r;
    in.token_device = {0, 0, 1, 1};
    in.placement = &place;
    in.group = {0, 1};
    in.node_of = {0, 0};
    in.bytes_per_token = 100;
    in.capacity_factor = cf;
  }
};

TEST(Dispatch, ByteMatrixAndExpertTokensFollowTheAssignment) {
  Fixture f({0, 2, 1, 3, 2, 3, 0, 1});  // t0: 0,2  t1: 1,3  t2: 2,3  t3: 0,1
  auto p = plan_dispatch(f.in);
  // device 0 tokens (t0, t1) send one copy each to device 1; device 1 tokens (t2, t3): t3 sends 2.
  EXPECT_DOUBLE_EQ(p.bytes[0 * 2 + 1], 200);
  EXPECT_DOUBLE_EQ(p.bytes[1 * 2 + 0], 200);
  EXPECT_DOUBLE_EQ(p.bytes[0 * 2 + 0], 200);  // local copies, not sent
  EXPECT_DOUBLE_EQ(p.sent(0), 200);
  EXPECT_DOUBLE_EQ(p.received(1), 200);
  EXPECT_EQ(p.tokens_on(0), 4);
  EXPECT_EQ(p.tokens_on(1), 4);
  EXPECT_EQ(p.expert_tokens[1 * 4 + 3], 2);  // expert 3 on device 1: t1 and t2
  EXPECT_EQ(p.routed_slots, 8);
  EXPECT_EQ(p.dropped_slots, 0);
  auto c = p.combine_bytes();
  EXPECT_DOUBLE_EQ(c[1 * 2 + 0], p.bytes[0 * 2 + 1]);
  EXPECT_DOUBLE_EQ(p.total_bytes(), 400);
}

TEST(Dispatch, SkewConcentratesTokensOnOneDevice) {
  Fixture f({0, 1, 0, 1, 0, 1, 0, 1});  // every token to experts 0 and 1, both on device 0
  auto p = plan_dispatch(f.in);
  EXPECT_EQ(p.tokens_on(0), 8);
  EXPECT_EQ(p.tokens_on(1), 0);
  EXPECT_EQ(p.active_experts(1), 0);
  EXPECT_DOUBLE_EQ(p.received(0), 400);
}

TEST(Dispatch, CapacityDropsSlotsFirstChoicesFirst) {
  // 8 slots over 4 experts at factor 1: capacity 2 per expert. Every first choice is expert 0.
  Fixture f({0, 2, 0, 3, 0, 1, 0, 1}, 1.0);
  auto p = plan_dispatch(f.in);
  EXPECT_EQ(p.capacity, 2);
  EXPECT_EQ(p.dropped_slots, 2);  // tokens 2 and 3 lose expert 0
  EXPECT_EQ(p.expert_tokens[0], 2);
  EXPECT_EQ(p.expert_tokens[1], 2);  // expert 1's two second choices are kept
  EXPECT_EQ(p.tokens_on(0) + p.tokens_on(1), 6);
}

TEST(Dispatch, ReplicasPreferTheTokensOwnDeviceThenShareEvenly) {
  Fixture f({0, 2, 0, 2, 0, 2, 0, 2});
  f.place.holders = {{0, 1}, {0}, {1}, {1}};  // expert 0 replicated on both devices
  auto p = plan_dispatch(f.in);
  EXPECT_EQ(p.expert_tokens[0 * 4 + 0], 2);  // device 0's tokens use the local copy
  EXPECT_EQ(p.expert_tokens[1 * 4 + 0], 2);
  EXPECT_DOUBLE_EQ(p.bytes[1 * 2 + 0], 0);
}

TEST(Dispatch, InterNodeBytesCountOnlyCrossNodePairs) {
  Fixture f({0, 2, 1, 3, 2, 3, 0, 1});
  f.in.node_of = {0, 1};
  auto p = plan_dispatch(f.in);
  EXPECT_DOUBLE_EQ(p.inter_node_bytes(f.in.group, f.in.node_of), 400);
  EXPECT_DOUBLE_EQ(p.inter_node_bytes(f.in.group, {0, 0}), 0);
}

TEST(Dispatch, CapacityFormula) {
  EXPECT_EQ(expert_capacity(1.25, 100, 8), 16);  // ceil(15.625)
  EXPECT_EQ(expert_capacity(0, 100, 8), 0);
}

}  // namespace
}  // namespace moesim::workload
