#pragma once
// Running a sweep: the points of this shard, each prepared (resolved, keyed) in the parent and
// simulated in a forked child, up to `jobs` at once; rows appended to the JSON Lines file as they
// finish; with `resume`, points whose key already has a row are not run again. At the end both
// files are rewritten sorted by point index, whatever the order the children finished in.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "sim/plan/axes.hpp"
#include "sim/plan/point.hpp"
#include "sim/plan/rows.hpp"

namespace moesim::plan {

struct SweepSetup {
  BaseScenario base;
  std::vector<std::string> sets;  // global --set overrides (before each point's)
  SweepSpec spec;
};
// Reads the scenario and the axes at `table_path` ("sweep" or "plan.space"; reserved key: repeat).
SweepSetup read_sweep_setup(const std::string& scenario, const std::vector<std::string>& sets, const std::string& table_path);

struct Shard {
  int64_t index = 0;  // 0 .. count-1
  int64_t count = 1;
  bool owns(int64_t point) const { return point % count == index; }
};
// Parses "i/N" (0 <= i < N). Throws ConfigError naming --shard.
Shard parse_shard(const std::string& text);

struct SweepOptions {
  int jobs = 1;
  Shard shard;
  bool resume = false;
  std::filesystem::path jsonl, csv;
  PointOptions point;
};

struct SweepProgress {
  int64_t done = 0, total = 0;  // points of this shard
  int64_t reused = 0;           // of done, taken from the existing output (--resume)
  double elapsed_s = 0;
};

struct SweepOutcome {
  std::vector<Row> rows;        // this shard's rows, by point index
  int64_t points = 0;           // in the whole sweep
  int64_t shard_points = 0;
  int64_t ran = 0, reused = 0, errors = 0, dropped_lines = 0;
};

SweepOutcome run_sweep(const SweepSetup& setup, const SweepOptions& options,
                       const std::function<void(const SweepProgress&)>& progress);

// Joins shard outputs (JSON Lines files): one row per point, sorted; `missing` lists the point
// indices no file had (from the rows' "points" total).
struct Merged {
  std::vector<Row> rows;
  std::vector<int64_t> missing;
};
Merged merge_rows(const std::vector<std::filesystem::path>& files);

}  // namespace moesim::plan

namespace moesim::plan {
// <[output] dir or "out">/<name><suffix>: where a sweep or plan of this scenario writes.
std::filesystem::path default_out_dir(const BaseScenario& base, const std::string& suffix);
}  // namespace moesim::plan
