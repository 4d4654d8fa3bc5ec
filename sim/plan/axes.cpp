#include "sim/plan/axes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <toml++/toml.h>

namespace moesim::plan {
namespace {

[[noreturn]] void fail(const toml::node& n, const std::string& key, const std::string& what) {
  const auto& src = n.source();
  Location where{src.path ? std::string(*src.path) : std::string("<sweep>"), static_cast<int>(src.begin.line),
                 static_cast<int>(src.begin.column)};
  throw ConfigError(where, key, what);
}

// TOML text of one value, inline (tables as { a = 1 }).
std::string toml_text(const toml::node& n) {
  toml::array wrap;
  wrap.push_back(n);
  std::ostringstream ss;
  ss << toml::toml_formatter(wrap, toml::format_flags::none);
  std::string s = ss.str();
  // "[ v ]" -> "v"
  auto a = s.find('['), b = s.rfind(']');
  s = s.substr(a + 1, b - a - 1);
  // toml++ wraps long arrays onto lines: values stay valid TOML once trimmed.
  auto first = s.find_first_not_of(" \n\t"), last = s.find_last_not_of(" \n\t");
  return first == std::string::npos ? "" : s.substr(first, last - first + 1);
}

// A short label of a table value for tables and plots: its leaves in key order, strings as
// themselves and other values as key=value, joined by '/'; "source" notes left out.
// { kind = "nvswitch", link = { preset = "nvswitch4" } } -> "nvswitch/nvswitch4".
void leaves_label(const toml::table& t, std::string& out) {
  for (auto& [k, v] : t) {
    if (k.str() == "source") continue;
    std::string part;
    if (auto sub = v.as_table()) {
      leaves_label(*sub, out);
      continue;
    }
    if (auto s = v.as_string()) part = s->get();
    else part = std::string(k.str()) + "=" + toml_text(v);
    out += (out.empty() ? "" : "/") + part;
  }
}

AxisValue value_of(const toml::node& n) {
  AxisValue v{toml_text(n), ""};
  if (auto s = n.as_string()) v.label = s->get();
  else if (auto t = n.as_table()) leaves_label(*t, v.label);
  if (v.label.empty()) v.label = v.toml;
  return v;
}

bool is_range(const toml::table& t) { return t.contains("from"); }

double num(const toml::table& t, const std::string& key, const std::string& path) {
  const toml::node* n = t.get(key);
  if (!n) fail(t, path, fmt::format("a range needs '{}' (from, to, and step or times)", key));
  if (auto i = n->as_integer()) return static_cast<double>(i->get());
  if (auto f = n->as_floating_point()) return f->get();
  fail(*n, path + "." + key, "expected a number");
}

std::vector<AxisValue> range_values(const toml::table& t, const std::string& path) {
  for (auto& [k, v] : t)
    if (k.str() != "from" && k.str() != "to" && k.str() != "step" && k.str() != "times")
      fail(v, path + "." + std::string(k.str()), "unknown key in a range (valid keys: from, to, step, times)");
  const bool integral = t.get("from")->is_integer() && (!t.contains("step") || t.get("step")->is_integer());
  const double from = num(t, "from", path), to = num(t, "to", path);
  const bool has_step = t.contains("step"), has_times = t.contains("times");
  if (has_step == has_times) fail(t, path, "a range needs exactly one of 'step' (arithmetic) or 'times' (geometric)");
  std::vector<AxisValue> out;
  auto push = [&](double x) {
    std::string s = integral ? fmt::format("{}", static_cast<int64_t>(std::llround(x))) : fmt::format("{:.12g}", x);
    if (!integral && s.find_first_of(".e") == std::string::npos) s += ".0";
    out.push_back({s, s});
  };
  if (has_step) {
    const double step = num(t, "step", path);
    if (!(step > 0) || to < from) fail(t, path, "a range needs step > 0 and to >= from");
    const double n = std::floor((to - from) / step + 1e-9);
    if (n > 1e6) fail(t, path, "range has more than a million values");
    for (int64_t i = 0; i <= static_cast<int64_t>(n); ++i) push(from + i * step);
  } else {
    const double k = num(t, "times", path);
    if (!(k > 1) || !(from > 0) || to < from) fail(t, path, "a geometric range needs times > 1, from > 0 and to >= from");
    for (double x = from; x <= to * (1 + 1e-12); x *= k) push(x);
  }
  return out;
}

std::vector<AxisValue> values_of(const toml::node& n, const std::string& path) {
  std::vector<AxisValue> out;
  if (auto a = n.as_array()) {
    if (a->empty()) fail(n, path, "an axis needs at least one value");
    for (const auto& v : *a) out.push_back(value_of(v));
  } else if (auto t = n.as_table(); t && is_range(*t)) {
    out = range_values(*t, path);
  } else {
    fail(n, path, "an axis is a list of values ([1, 2, 4]), a range ({ from = 1, to = 8, step = 1 }) or a table of sub-keys");
  }
  return out;
}

// Walks nested tables ("cluster" -> "nodes") down to the leaves: each list or range is an axis.
void collect(const toml::table& t, const std::string& prefix, std::vector<std::pair<std::string, const toml::node*>>& leaves) {
  for (auto& [k, v] : t) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (auto sub = v.as_table(); sub && !is_range(*sub)) collect(*sub, key, leaves);
    else leaves.emplace_back(key, &v);
  }
}

Axis zipped(const toml::table& group, const std::string& path) {
  std::vector<std::pair<std::string, const toml::node*>> leaves;
  collect(group, "", leaves);
  if (leaves.empty()) fail(group, path, "a zipped group needs at least one key");
  Axis axis;
  std::vector<std::vector<AxisValue>> columns;
  for (const auto& [key, node] : leaves) {
    axis.keys.push_back(key);
    columns.push_back(values_of(*node, path + "." + key));
    if (columns.back().size() != columns.front().size())
      fail(*node, path + "." + key,
           fmt::format("zipped keys need lists of the same length ('{}' has {}, '{}' has {})", key, columns.back().size(),
                       leaves.front().first, columns.front().size()));
  }
  for (size_t i = 0; i < columns.front().size(); ++i) {
    std::vector<AxisValue> row;
    for (const auto& c : columns) row.push_back(c[i]);
    axis.values.push_back(std::move(row));
  }
  return axis;
}

}  // namespace

SweepSpec read_axes(const toml::table& table, const std::string& path, const std::vector<std::string>& reserved) {
  SweepSpec spec;
  std::vector<std::pair<std::string, const toml::node*>> leaves;
  collect(table, "", leaves);
  for (const auto& [key, node] : leaves) {
    const std::string top = key.substr(0, key.find('.'));
    if (top == "zip" || std::find(reserved.begin(), reserved.end(), top) != reserved.end()) continue;
    Axis a;
    a.keys = {key};
    for (auto& v : values_of(*node, path + "." + key)) a.values.push_back({v});
    spec.axes.push_back(std::move(a));
  }
  if (const toml::node* z = table.get("zip")) {
    const toml::array* groups = z->as_array();
    if (!groups) fail(*z, path + ".zip", "expected [[" + path + ".zip]] tables");
    for (size_t i = 0; i < groups->size(); ++i) {
      const toml::table* g = (*groups)[i].as_table();
      if (!g) fail((*groups)[i], path + ".zip", "expected a table of keys with lists of equal length");
      spec.axes.push_back(zipped(*g, fmt::format("{}.zip[{}]", path, i)));
    }
  }
  for (size_t i = 0; i < spec.axes.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      for (const auto& k : spec.axes[i].keys)
        if (std::find(spec.axes[j].keys.begin(), spec.axes[j].keys.end(), k) != spec.axes[j].keys.end())
          fail(table, path + "." + k, "the same key is swept twice");
  return spec;
}

std::vector<Point> expand(const SweepSpec& spec, int64_t max_points) {
  int64_t combos = 1;
  for (const auto& a : spec.axes) {
    combos *= static_cast<int64_t>(a.size());
    if (combos * spec.repeat > max_points)
      throw InfeasibleError(fmt::format("the sweep has more than {} points", max_points));
  }
  std::vector<Point> out;
  out.reserve(static_cast<size_t>(combos * spec.repeat));
  std::vector<size_t> at(spec.axes.size(), 0);
  for (int64_t c = 0; c < combos; ++c) {
    // Mixed-radix digits of c, the last axis fastest.
    int64_t rest = c;
    for (size_t i = spec.axes.size(); i-- > 0;) {
      at[i] = static_cast<size_t>(rest % static_cast<int64_t>(spec.axes[i].size()));
      rest /= static_cast<int64_t>(spec.axes[i].size());
    }
    for (int64_t r = 0; r < spec.repeat; ++r) {
      Point p;
      p.index = c * spec.repeat + r;
      p.repeat = r;
      for (size_t i = 0; i < spec.axes.size(); ++i)
        for (size_t k = 0; k < spec.axes[i].keys.size(); ++k) p.assignments.push_back({spec.axes[i].keys[k], spec.axes[i].values[at[i]][k]});
      out.push_back(std::move(p));
    }
  }
  return out;
}

std::vector<std::string> axis_columns(const SweepSpec& spec) {
  std::vector<std::string> out;
  for (const auto& a : spec.axes)
    for (const auto& k : a.keys) out.push_back(k);
  return out;
}

}  // namespace moesim::plan
