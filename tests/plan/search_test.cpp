// SLO search on synthetic rows: only configurations meeting every bound are feasible, the best
// equals a brute-force minimum of the objective, the Pareto front equals the brute-force
// non-dominated set, and SLO tables read units from the metric name.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "sim/plan/search.hpp"

namespace moesim::plan {
namespace {

Row row(int64_t point, const std::string& device, double devices, double tps, double tpot, bool fits, const std::string& status = "ok") {
  return Row{{"point", point}, {"key", std::to_string(point)}, {"status", status}, {"error", status == "ok" ? "" : "boom"}, {"device", device},
             {"axes", Row::object()}, {"metrics", {{"devices", devices}, {"tokens_per_s", tps}, {"tpot_s", tpot}, {"memory_fits", fits}}}};
}

PlanSpec spec(Objective o) {
  PlanSpec s;
  s.objective = o;
  s.prices = {{"a", {2.0, ""}}, {"b", {0.5, ""}}};
  s.slos = {{"tpot_s", std::nullopt, 0.05}, {"tokens_per_s", 1000.0, std::nullopt}};
  return s;
}

TEST(Search, RejectsEachViolationWithItsReason) {
  std::vector<Row> rows = {row(0, "a", 8, 3000, 0.02, true), row(1, "a", 8, 3000, 0.08, true), row(2, "b", 4, 500, 0.02, true),
                           row(3, "b", 4, 3000, 0.02, false), row(4, "a", 8, 0, 0, true, "error"), row(5, "zz", 2, 5000, 0.01, true)};
  auto all = evaluate(rows, spec(Objective::lowest_cost_per_hour));
  EXPECT_TRUE(all[0].feasible);
  EXPECT_NE(all[1].row["rejected"].get<std::string>().find("tpot_s = 0.08 > max 0.05"), std::string::npos);
  EXPECT_NE(all[2].row["rejected"].get<std::string>().find("tokens_per_s = 500 < min 1000"), std::string::npos);
  EXPECT_NE(all[3].row["rejected"].get<std::string>().find("memory"), std::string::npos);
  EXPECT_NE(all[4].row["rejected"].get<std::string>().find("boom"), std::string::npos);
  EXPECT_NE(all[5].row["rejected"].get<std::string>().find("no price"), std::string::npos);
  EXPECT_DOUBLE_EQ(all[0].cost_per_hour, 16.0);
  EXPECT_DOUBLE_EQ(all[0].row["metrics"]["cost_usd_per_million_tokens"].get<double>(), 16.0 / (3000 * 3600.0) * 1e6);
}

TEST(Search, BestAndParetoEqualBruteForceOnRandomRows) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<Row> rows;
    for (int i = 0; i < 30; ++i)
      rows.push_back(row(i, u(rng) < 0.5 ? "a" : "b", std::pow(2, static_cast<int>(u(rng) * 4)), 500 + u(rng) * 5000, u(rng) * 0.1, u(rng) < 0.9));
    for (auto o : {Objective::fewest_devices, Objective::lowest_cost_per_hour, Objective::lowest_cost_per_million_tokens,
                   Objective::highest_throughput_per_device}) {
      auto s = spec(o);
      auto all = evaluate(rows, s);
      // Brute force straight from the rows.
      double best = INFINITY;
      int best_point = -1;
      for (const auto& r : rows) {
        const auto& m = r["metrics"];
        const double tps = m["tokens_per_s"], tpot = m["tpot_s"], n = m["devices"];
        if (tpot > 0.05 || tps < 1000 || !m["memory_fits"].get<bool>()) continue;
        const double cost = n * (r["device"] == "a" ? 2.0 : 0.5);
        double v = o == Objective::fewest_devices ? n : o == Objective::lowest_cost_per_hour ? cost
                   : o == Objective::lowest_cost_per_million_tokens ? cost / (tps * 3600) * 1e6 : -tps / n;
        if (v < best || (v == best && tps > rows[best_point]["metrics"]["tokens_per_s"].get<double>())) best = v, best_point = r["point"];
      }
      auto ranked_list = ranked(all);
      if (best_point < 0) {
        EXPECT_TRUE(ranked_list.empty());
        continue;
      }
      ASSERT_FALSE(ranked_list.empty());
      EXPECT_EQ(ranked_list.front()->row["point"].get<int>(), best_point) << "objective " << static_cast<int>(o);
      for (const auto* c : ranked_list) EXPECT_TRUE(c->feasible);
    }
    // Pareto: feasible c is on the front iff no feasible d has cost <= and throughput >= with one strict.
    auto all = evaluate(rows, spec(Objective::lowest_cost_per_hour));
    auto front = pareto_front(all);
    for (const auto& c : all) {
      if (!c.feasible) continue;
      bool dominated = false;
      for (const auto& d : all)
        if (d.feasible && d.cost_per_hour <= c.cost_per_hour && d.throughput >= c.throughput &&
            (d.cost_per_hour < c.cost_per_hour || d.throughput > c.throughput))
          dominated = true;
      bool on = std::find(front.begin(), front.end(), &c) != front.end();
      EXPECT_EQ(on, !dominated) << "point " << c.row["point"];
    }
  }
}

TEST(Search, SloTablesTakeUnitsFromTheMetricName) {
  auto doc = config::Document::parse(
      "[slo]\ntpot_s = { max = \"50ms\" }\ntokens_per_s = { min = 2000 }\nstep_time_s.mean = { max = \"1s\" }\n"
      "memory_peak.bytes = { max = \"70GiB\" }\nmemory_fits = false\n",
      "p.toml");
  bool memory = true;
  auto bounds = read_bounds(config::Table::root(doc).table("slo"), memory);
  EXPECT_FALSE(memory);
  ASSERT_EQ(bounds.size(), 4u);
  for (const auto& b : bounds) {
    if (b.metric == "tpot_s") {
      EXPECT_DOUBLE_EQ(*b.max, 0.05);
    } else if (b.metric == "tokens_per_s") {
      EXPECT_DOUBLE_EQ(*b.min, 2000);
    } else if (b.metric == "step_time_s.mean") {
      EXPECT_DOUBLE_EQ(*b.max, 1.0);
    } else {
      EXPECT_EQ(b.metric, "memory_peak.bytes");
      EXPECT_DOUBLE_EQ(*b.max, 70.0 * 1024 * 1024 * 1024);
    }
  }
  auto bare = config::Document::parse("[slo]\ntpot_s = { max = 0.05 }\n", "p.toml");
  EXPECT_THROW(read_bounds(config::Table::root(bare).table("slo"), memory), ConfigError);
  auto unit = config::Document::parse("[slo]\ntokens_per_s = { min = \"2000\" }\n", "p.toml");
  EXPECT_THROW(read_bounds(config::Table::root(unit).table("slo"), memory), ConfigError);
}

TEST(Search, PricesNeedAUnit) {
  EXPECT_DOUBLE_EQ(*parse_usd_per_hour("2.49USD/h"), 2.49);
  EXPECT_DOUBLE_EQ(*parse_usd_per_hour("0.5 USD/hour"), 0.5);
  EXPECT_FALSE(parse_usd_per_hour("2.49").has_value());
  EXPECT_FALSE(parse_usd_per_hour("-1USD/h").has_value());
  auto prices = default_prices();
  ASSERT_TRUE(prices.count("h100_sxm"));
  for (const auto& [name, p] : prices) EXPECT_FALSE(p.source.empty()) << name << " has no source";
}

}  // namespace
}  // namespace moesim::plan
