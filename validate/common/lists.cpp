#include "validate/common/lists.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <sstream>

#include "sim/core/errors.hpp"
#include "sim/core/units.hpp"

namespace moesim::bench {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, sep))
    if (!item.empty()) out.push_back(item);
  return out;
}

[[noreturn]] void bad(const std::string& what, const std::string& detail) {
  throw ConfigError(Location{"command line"}, what, detail);
}

int64_t to_int(const std::string& s, const std::string& what) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0)
    bad(what, "'" + s + "' is not a positive integer");
  return v;
}

int64_t to_size(const std::string& s, const std::string& what) {
  auto v = parse_quantity(s, Dimension::bytes);
  if (!v) bad(what, "'" + s + "': " + v.error());
  if (*v < 1) bad(what, "'" + s + "' must be at least 1B");
  return static_cast<int64_t>(std::llround(*v));
}

template <class Parse>
std::vector<int64_t> parse_list(const std::string& text, const std::string& what, int64_t factor,
                                Parse parse) {
  std::vector<int64_t> out;
  for (const auto& item : split(text, ',')) {
    const auto dots = item.find("..");
    if (dots == std::string::npos) {
      out.push_back(parse(item));
      continue;
    }
    const int64_t lo = parse(item.substr(0, dots));
    const int64_t hi = parse(item.substr(dots + 2));
    if (hi < lo) bad(what, "range '" + item + "' goes down");
    for (int64_t v = lo; v <= hi; v *= factor) out.push_back(v);
  }
  if (out.empty()) bad(what, "empty list");
  return out;
}

}  // namespace

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what) {
  return parse_list(text, what, 2, [&](const std::string& s) { return to_int(s, what); });
}

std::vector<int64_t> parse_size_list(const std::string& text, const std::string& what,
                                     int64_t range_factor) {
  if (range_factor < 2) bad(what, "range factor must be at least 2");
  return parse_list(text, what, range_factor, [&](const std::string& s) { return to_size(s, what); });
}

std::vector<int64_t> zipf_split(int64_t total, int64_t parts, double s) {
  if (parts <= 0) return {};
  std::vector<double> w(static_cast<std::size_t>(parts));
  for (int64_t i = 0; i < parts; ++i) w[static_cast<std::size_t>(i)] = 1.0 / std::pow(double(i + 1), s);
  const double sum = std::accumulate(w.begin(), w.end(), 0.0);
  std::vector<int64_t> counts(w.size());
  std::vector<std::pair<double, std::size_t>> remainders;
  int64_t assigned = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double exact = static_cast<double>(total) * w[i] / sum;
    counts[i] = static_cast<int64_t>(std::floor(exact));
    assigned += counts[i];
    remainders.emplace_back(exact - std::floor(exact), i);
  }
  // Largest remainders first; ties to the lower index (the hotter part): deterministic.
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t j = 0; assigned < total; ++j, ++assigned) ++counts[remainders[j % remainders.size()].second];
  return counts;
}

std::string size_label(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  int64_t v = bytes;
  while (u < 4 && v >= 1024 && v % 1024 == 0) {
    v /= 1024;
    ++u;
  }
  return std::to_string(v) + units[u];
}

}  // namespace moesim::bench
