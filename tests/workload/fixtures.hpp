#pragma once
// The workload tests' view of the shared fixtures (tests/support): the tiny model, the rule-based
// routing source and the flat compute timer, with plain EP sharding over a small cluster.
#include <fmt/format.h>

#include "tests/support/moe_fixtures.hpp"

namespace moesim::workload::testing {

using test_support::flat_timer;
using test_support::round_robin;
using test_support::RuleRouting;
using test_support::Setup;
using test_support::sum_bytes;
using test_support::tiny_moe;

// `devices` on nodes of `per_node`, kind "ep" with degree `ep`, 1 PFLOP/s flat compute.
inline std::unique_ptr<Setup> make_setup(model::ModelSpec m, int32_t devices, int32_t per_node, int32_t ep,
                                         RuleRouting::Rule rule) {
  auto s = std::make_unique<Setup>();
  test_support::fill_setup(*s, std::move(m), devices, per_node, fmt::format("kind = \"ep\"\nep = {}\n", ep),
                           std::move(rule), flat_timer());
  return s;
}

}  // namespace moesim::workload::testing
