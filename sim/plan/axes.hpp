#pragma once
// Sweep axes and their expansion into points: pure functions over a scenario document.
//
// A [sweep] (or [plan.space]) table names scenario keys by their dotted path:
//   cluster.nodes = [1, 2, 4, 8]                        list: one value per point
//   workload.batch = { from = 8, to = 64, step = 8 }    arithmetic range (inclusive)
//   workload.batch = { from = 8, to = 64, times = 2 }   geometric range (inclusive)
//   parallel = [{ kind = "ep" }, { kind = "ep_tp", tp = 2 }]   whole-table values (a layout list)
//   [[sweep.zip]]  cluster.nodes = [1, 2]  parallel.ep = [8, 16]   zipped: one axis, values taken together
//   repeat = 3                                           seeds seed, seed+1, seed+2 per point
// Points are the cartesian product of the axes (sorted by key path, zipped groups in file order
// after them), each repeated `repeat` times; the point index runs over that product in order.
#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/config.hpp"

namespace moesim::plan {

// One value of an axis: the TOML text given to --set, and a short label for tables and plots.
struct AxisValue {
  std::string toml;   // "4", "\"h100_sxm\"", "{ kind = \"ep\", ep = 8 }"
  std::string label;  // "4", "h100_sxm", "ep_tp/tp=2" (a table: its leaves, sim/plan/axes.cpp)
};

// An axis sets one or more keys together (several for a zipped group), one column per key.
struct Axis {
  std::vector<std::string> keys;
  std::vector<std::vector<AxisValue>> values;  // values[i][k]: the i-th value of key k
  size_t size() const { return values.size(); }
};

struct SweepSpec {
  std::vector<Axis> axes;
  int64_t repeat = 1;
};

struct Assignment {
  std::string key;
  AxisValue value;
};

struct Point {
  int64_t index = 0;   // position in the expansion
  int64_t repeat = 0;  // 0 .. repeat-1
  std::vector<Assignment> assignments;
};

// Reads the axes of `table` (e.g. the [sweep] table, whose dotted path is `path`): every key but
// `reserved` ones (e.g. "repeat", read by the caller) is an axis. Errors name file, line and key.
SweepSpec read_axes(const toml::table& table, const std::string& path, const std::vector<std::string>& reserved);
// Every point, in index order. Throws InfeasibleError beyond `max_points`.
std::vector<Point> expand(const SweepSpec& spec, int64_t max_points = 1'000'000);
// The point's keys in column order (axis order, then key order inside a zipped group).
std::vector<std::string> axis_columns(const SweepSpec& spec);

}  // namespace moesim::plan
