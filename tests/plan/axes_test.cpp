// Sweep axes: lists, ranges, zipped groups, whole-table values and repeats expand to the right
// points in a fixed order; malformed axes fail with file:line and the key.
#include <gtest/gtest.h>

#include <toml++/toml.h>

#include "sim/plan/axes.hpp"

namespace moesim::plan {
namespace {

SweepSpec spec_of(const std::string& text) {
  auto doc = config::Document::parse(text, "s.toml");
  return read_axes(*doc.root()["sweep"].as_table(), "sweep", {"repeat"});
}

std::vector<std::string> labels(const Point& p) {
  std::vector<std::string> out;
  for (const auto& a : p.assignments) out.push_back(a.key + "=" + a.value.label);
  return out;
}

TEST(Axes, ListsExpandAsACartesianProductLastAxisFastest) {
  auto spec = spec_of("[sweep]\ncluster.nodes = [1, 2]\nworkload.batch = [8, 16, 32]\n");
  auto pts = expand(spec);
  ASSERT_EQ(pts.size(), 6u);
  EXPECT_EQ(labels(pts[0]), (std::vector<std::string>{"cluster.nodes=1", "workload.batch=8"}));
  EXPECT_EQ(labels(pts[2]), (std::vector<std::string>{"cluster.nodes=1", "workload.batch=32"}));
  EXPECT_EQ(labels(pts[3]), (std::vector<std::string>{"cluster.nodes=2", "workload.batch=8"}));
  for (size_t i = 0; i < pts.size(); ++i) EXPECT_EQ(pts[i].index, static_cast<int64_t>(i));
}

TEST(Axes, ArithmeticAndGeometricRanges) {
  auto a = expand(spec_of("[sweep]\nworkload.batch = { from = 8, to = 40, step = 16 }\n"));
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[2].assignments[0].value.toml, "40");
  auto g = expand(spec_of("[sweep]\nworkload.batch = { from = 1, to = 64, times = 4 }\n"));
  ASSERT_EQ(g.size(), 4u);
  EXPECT_EQ(g[3].assignments[0].value.toml, "64");
  auto f = expand(spec_of("[sweep]\nrouting.max_mean = { from = 1.0, to = 2.0, step = 0.5 }\n"));
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[1].assignments[0].value.toml, "1.5");
}

TEST(Axes, ZippedGroupsMoveTogetherAndWholeTablesAreValues) {
  auto spec = spec_of(
      "[sweep]\nparallel = [{ kind = \"ep\" }, { kind = \"ep_tp\", tp = 2 }]\n"
      "[[sweep.zip]]\ncluster.nodes = [1, 2]\ncluster.device = [{ preset = \"a100_80gb\" }, { preset = \"h100_sxm\" }]\n");
  auto pts = expand(spec);
  ASSERT_EQ(pts.size(), 4u);
  // The zipped pair never mixes: nodes=1 always with the A100.
  for (const auto& p : pts) {
    std::string nodes, device;
    for (const auto& a : p.assignments) {
      if (a.key == "cluster.nodes") nodes = a.value.toml;
      if (a.key == "cluster.device") device = a.value.toml;
    }
    EXPECT_EQ(nodes == "1", device.find("a100") != std::string::npos) << nodes << " " << device;
  }
  EXPECT_EQ(pts[3].assignments[0].value.label, "ep_tp/tp=2");
  EXPECT_EQ(pts[3].assignments[1].value.label, "h100_sxm");
  // A table value is TOML text that --set reads back as the same table.
  auto doc = config::Document::parse("[parallel]\nkind = \"x\"\n", "b.toml");
  doc.apply_set("parallel=" + pts[3].assignments[0].value.toml);
  EXPECT_EQ(doc.root()["parallel"]["tp"].value_or<int64_t>(0), 2);
}

TEST(Axes, RepeatMultipliesEveryPoint) {
  SweepSpec spec = spec_of("[sweep]\nworkload.batch = [8, 16]\n");
  spec.repeat = 3;
  auto pts = expand(spec);
  ASSERT_EQ(pts.size(), 6u);
  EXPECT_EQ(pts[4].repeat, 1);
  EXPECT_EQ(pts[4].assignments[0].value.toml, "16");
}

TEST(Axes, ErrorsNameFileLineAndKey) {
  try {
    spec_of("[sweep]\n[[sweep.zip]]\ncluster.nodes = [1, 2]\nworkload.batch = [8]\n");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("s.toml:4"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("same length"), std::string::npos) << e.what();
  }
  EXPECT_THROW(spec_of("[sweep]\nworkload.batch = 8\n"), ConfigError);
  EXPECT_THROW(spec_of("[sweep]\nworkload.batch = { from = 8, to = 4, step = 1 }\n"), ConfigError);
  EXPECT_THROW(spec_of("[sweep]\nworkload.batch = { from = 8, to = 16, stp = 1 }\n"), ConfigError);
  EXPECT_THROW(spec_of("[sweep]\nworkload.batch = []\n"), ConfigError);
}

}  // namespace
}  // namespace moesim::plan
