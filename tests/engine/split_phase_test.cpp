// [engine] ptask_max_vertices: a fast-mode phase spanning more topology vertices runs as several
// SimGrid parallel tasks. Alone on the network the split changes nothing; beside concurrent
// traffic it changes the sharing a little (docs/engine.md, "Split phases").
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "sim/core/errors.hpp"
#include "sim/core/rng.hpp"
#include "sim/engine/engine.hpp"
#include "tests/engine/fixtures.hpp"

namespace moesim {
namespace {

using namespace moesim::testing;

// 4 nodes x 4 devices, 2 nodes per leaf: a 16-member collective touches ~40 vertices.
hw::Topology cluster() { return star_cluster(4, 4, 100, 25, 2); }

std::vector<double> skewed(int p, double mean_bytes, uint64_t seed) {
  Rng rng(seed, "split");
  std::vector<double> m(static_cast<size_t>(p * p), 0.0);
  for (int i = 0; i < p; ++i)
    for (int j = 0; j < p; ++j)
      if (i != j) m[static_cast<size_t>(i * p + j)] = mean_bytes * rng.uniform(0.2, 3.0);
  return m;
}

graph::CollectiveWork all_reduce(int n, double bytes) {
  graph::CollectiveWork w;
  w.kind = graph::CollectiveKind::all_reduce;
  w.group = iota_group(n);
  w.bytes = Bytes(bytes);
  return w;
}

// Step time of `g` with the given vertex limit, in its own process (one engine per process).
double step_time(const graph::StepGraph& g, int64_t max_vertices) {
  return std::stod(engine::run_in_child([&] {
    engine::EngineOptions o;
    o.ptask_max_vertices = max_vertices;
    const auto tl = engine::run_graphs(cluster(), {g}, o);
    return fmt::format("{:.17g}", tl.steps[0].end - tl.steps[0].start);
  }));
}

TEST(SplitPhase, AloneItGivesTheUnsplitTime) {
  for (int which = 0; which < 2; ++which) {
    graph::StepGraph g;
    if (which == 0) g.add(collective(all_reduce(16, 64e6)));
    else g.add(collective(alltoallv(iota_group(16), skewed(16, 4e6, 3))));
    const double whole = step_time(g, 1 << 20), split = step_time(g, 4);
    EXPECT_GT(whole, 0);
    EXPECT_NEAR(split, whole, 1e-9 * whole) << "collective " << which;
  }
}

TEST(SplitPhase, BesideConcurrentTrafficItStaysClose) {
  // A skewed All-to-All on the io streams runs beside the ring all-reduce on the comm streams: both
  // load the NICs and the spine, so the split all-reduce shares them differently.
  graph::StepGraph g;
  g.add(collective(all_reduce(16, 64e6)));
  auto a2a = collective(alltoallv(iota_group(16), skewed(16, 4e6, 5)));
  a2a.stream = graph::Stream::io;
  g.add(a2a);
  const double whole = step_time(g, 1 << 20), split = step_time(g, 4);
  const double rel = std::abs(split - whole) / whole;
  RecordProperty("unsplit_s", fmt::format("{:.9g}", whole));
  RecordProperty("split_s", fmt::format("{:.9g}", split));
  std::printf("unsplit %.9g s, split into <= 4-vertex tasks %.9g s, relative difference %.3g\n", whole, split, rel);
  EXPECT_LT(rel, 0.01);
}

TEST(SplitPhase, OptionIsReadAndChecked) {
  EXPECT_EQ(engine::EngineOptions{}.ptask_max_vertices, 1024);
  auto doc = config::Document::parse("[engine]\nptask_max_vertices = 64\n", "s.toml");
  EXPECT_EQ(engine::read_engine_options(config::Table::root(doc).table("engine")).ptask_max_vertices, 64);
  auto bad = config::Document::parse("[engine]\nptask_max_vertices = 1\n", "s.toml");
  EXPECT_THROW(engine::read_engine_options(config::Table::root(bad).table("engine")), ConfigError);
}

}  // namespace
}  // namespace moesim
