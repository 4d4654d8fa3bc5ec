// `moesim plot memory|experts|timeline|links` on a real run's output folder, and links.csv itself.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "tests/plan/cli_util.hpp"

namespace moesim::plan::testing {
namespace {

struct LinkRow {
  int64_t step;
  std::string link;
  double bytes, capacity, step_s, utilization;
};

std::vector<LinkRow> read_links(const fs::path& f) {
  std::stringstream in(slurp(f));
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "step,link,bytes,capacity_Bps,step_s,utilization");
  std::vector<LinkRow> rows;
  while (std::getline(in, line)) {
    std::stringstream ls(line);
    std::string c[6];
    for (auto& x : c) std::getline(ls, x, ',');
    rows.push_back({std::stoll(c[0]), c[1], std::stod(c[2]), std::stod(c[3]), std::stod(c[4]), std::stod(c[5])});
  }
  return rows;
}

fs::path tiny_run(const std::string& tag) {
  auto dir = scratch(tag);
  auto f = write_scenario(dir, "");
  auto r = moesim("run " + q(f) + " --out " + q(dir / "out"));
  EXPECT_EQ(r.code, 0) << r.output;
  return dir / "out" / "tiny";
}

TEST(LinksCsv, PerStepBytesAddUpToTheBusiestLinkAndUtilizationIsPhysical) {
  const auto run = tiny_run("links");
  const auto rows = read_links(run / "links.csv");
  ASSERT_FALSE(rows.empty());
  std::map<std::string, double> per_link;
  for (const auto& r : rows) {
    per_link[r.link] += r.bytes;
    EXPECT_GT(r.bytes, 0) << r.link;
    EXPECT_GT(r.capacity, 0) << r.link;
    EXPECT_GE(r.utilization, 0);
    EXPECT_LE(r.utilization, 1.0 + 1e-9) << r.link << " step " << r.step << ": a link cannot carry more than capacity x time";
    EXPECT_NEAR(r.utilization, r.bytes / (r.capacity * r.step_s), 1e-6 * r.utilization);
  }
  const auto summary = nlohmann::json::parse(slurp(run / "summary.json"));
  const std::string busiest = summary["busiest_link"]["link"];
  ASSERT_TRUE(per_link.count(busiest)) << busiest;
  EXPECT_NEAR(per_link[busiest], summary["busiest_link"]["bytes"].get<double>(), 1e-6 * per_link[busiest]);
  for (const auto& [link, bytes] : per_link) EXPECT_LE(bytes, per_link[busiest] * (1 + 1e-9)) << link;
}

TEST(LinksCsv, EveryStepOfTheRunHasRowsWhenItMovesTokens) {
  const auto run = tiny_run("links_steps");
  std::stringstream steps(slurp(run / "steps.csv"));
  std::string line;
  std::getline(steps, line);
  std::map<int64_t, double> a2a;  // step -> all-to-all bytes
  while (std::getline(steps, line)) {
    std::stringstream ls(line);
    std::string c[9];
    for (auto& x : c) std::getline(ls, x, ',');
    a2a[std::stoll(c[0])] = std::stod(c[8]);
  }
  std::map<int64_t, double> carried;
  for (const auto& r : read_links(run / "links.csv")) carried[r.step] += r.bytes;
  for (const auto& [step, bytes] : a2a)
    if (bytes > 0) EXPECT_GE(carried[step], bytes * (1 - 1e-9)) << "step " << step << ": every All-to-All byte crosses at least one link";
}

TEST(PlotCli, EveryRunPlotWritesItsDataAndScript) {
  const auto run = tiny_run("plots");
  for (const auto& [cmd, stem] : std::vector<std::pair<std::string, std::string>>{
           {"memory", "memory_device"}, {"experts", "expert_load"}, {"timeline", "timeline_step"}, {"links --top 4", "link_utilization"}}) {
    auto r = moesim("plot " + cmd + " " + q(run));
    ASSERT_EQ(r.code, 0) << cmd << ": " << r.output;
    bool gp = false, dat = false;
    for (const auto& e : fs::directory_iterator(run)) {
      const auto name = e.path().filename().string();
      if (name.rfind(stem, 0) != 0) continue;
      gp |= e.path().extension() == ".gp";
      dat |= e.path().extension() == ".dat";
    }
    EXPECT_TRUE(gp && dat) << cmd << " wrote no " << stem << ".gp/.dat in " << run;
  }
  const std::string heat = slurp(run / "link_utilization.dat");
  EXPECT_FALSE(heat.empty());
}

TEST(PlotCli, LinksOnAFolderWithoutLinksCsvFailsNamingTheFile) {
  auto dir = scratch("links_missing");
  auto r = moesim("plot links " + q(dir));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("links.csv"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace moesim::plan::testing
