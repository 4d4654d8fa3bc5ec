// Reading typed values out of a config Table: strings, numbers, integers, booleans, quantities
// with units (sim/core/units.hpp), ranges, choices and arrays, each failing with file:line:col
// and the key's dotted path. Walking the tree (tables, presets, unknown keys) is in config.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <toml++/toml.h>

#include "sim/core/config.hpp"
#include "sim/core/config_detail.hpp"
#include "sim/core/suggest.hpp"

namespace moesim::config {

using detail::type_name;

std::string Table::string(std::string_view key) const {
  const auto& n = require(key);
  if (!n.is_string()) fail(key, fmt::format("expected a string, got {}", type_name(n)));
  return std::string(*n.value<std::string_view>());
}

double Table::number(std::string_view key) const {
  const auto& n = require(key);
  if (!n.is_number()) {
    std::string hint = n.is_string() ? " (remove the quotes, or this key takes no unit)" : "";
    fail(key, fmt::format("expected a number, got {}{}", type_name(n), hint));
  }
  double v = *n.value<double>();
  if (auto ok = check_finite(v, fmt::format("{}", v)); !ok) fail(key, ok.error());
  return v;
}

int64_t Table::integer(std::string_view key) const {
  const auto& n = require(key);
  if (!n.is_integer()) fail(key, fmt::format("expected an integer, got {}", type_name(n)));
  return *n.value<int64_t>();
}

bool Table::boolean(std::string_view key) const {
  const auto& n = require(key);
  if (!n.is_boolean()) fail(key, fmt::format("expected true or false, got {}", type_name(n)));
  return *n.value<bool>();
}

double Table::quantity_of(std::string_view key, const toml::node& n, Dimension dim) const {
  if (n.is_number()) {
    fail(key, fmt::format("a bare number needs a unit: expected {} as a string with a unit, e.g. {}",
                          dimension_name(dim), dimension_examples(dim)));
  }
  if (!n.is_string()) fail(key, fmt::format("expected {} as a string, got {}", dimension_name(dim), type_name(n)));
  auto r = parse_quantity(*n.value<std::string_view>(), dim);
  if (!r) fail(key, r.error());
  return *r;
}

double Table::quantity(std::string_view key, Dimension dim) const { return quantity_of(key, require(key), dim); }
Bytes Table::bytes(std::string_view key) const { return Bytes(quantity(key, Dimension::bytes)); }
Seconds Table::seconds(std::string_view key) const { return Seconds(quantity(key, Dimension::seconds)); }
BytesPerSecond Table::bandwidth(std::string_view key) const {
  return BytesPerSecond(quantity(key, Dimension::bytes_per_second));
}
FlopsPerSecond Table::flops_rate(std::string_view key) const {
  return FlopsPerSecond(quantity(key, Dimension::flops_per_second));
}
Flops Table::flops(std::string_view key) const { return Flops(quantity(key, Dimension::flops)); }

std::optional<double> Table::quantity_opt(std::string_view key, Dimension dim) const {
  const toml::node* n = node(key);
  if (!n) return std::nullopt;
  return quantity_of(key, *n, dim);
}
std::string Table::string_or(std::string_view key, std::string_view def) const {
  return node(key) ? string(key) : std::string(def);
}
double Table::number_or(std::string_view key, double def) const { return node(key) ? number(key) : def; }
int64_t Table::integer_or(std::string_view key, int64_t def) const { return node(key) ? integer(key) : def; }
bool Table::boolean_or(std::string_view key, bool def) const { return node(key) ? boolean(key) : def; }
Bytes Table::bytes_or(std::string_view key, Bytes def) const { return node(key) ? bytes(key) : def; }
Seconds Table::seconds_or(std::string_view key, Seconds def) const { return node(key) ? seconds(key) : def; }
BytesPerSecond Table::bandwidth_or(std::string_view key, BytesPerSecond def) const {
  return node(key) ? bandwidth(key) : def;
}
FlopsPerSecond Table::flops_rate_or(std::string_view key, FlopsPerSecond def) const {
  return node(key) ? flops_rate(key) : def;
}
std::optional<std::string> Table::string_opt(std::string_view key) const {
  if (!node(key)) return std::nullopt;
  return string(key);
}
std::optional<double> Table::number_opt(std::string_view key) const {
  if (!node(key)) return std::nullopt;
  return number(key);
}
std::optional<int64_t> Table::integer_opt(std::string_view key) const {
  if (!node(key)) return std::nullopt;
  return integer(key);
}

int64_t Table::integer_in(std::string_view key, int64_t lo, int64_t hi) const {
  int64_t v = integer(key);
  if (v < lo || v > hi) fail(key, fmt::format("{} is out of range: expected an integer in [{}, {}]", v, lo, hi));
  return v;
}
int64_t Table::integer_in_or(std::string_view key, int64_t lo, int64_t hi, int64_t def) const {
  return node(key) ? integer_in(key, lo, hi) : def;
}
double Table::number_in(std::string_view key, double lo, double hi) const {
  double v = number(key);
  if (!(v >= lo && v <= hi)) fail(key, fmt::format("{} is out of range: expected a number in [{}, {}]", v, lo, hi));
  return v;
}
double Table::number_in_or(std::string_view key, double lo, double hi, double def) const {
  return node(key) ? number_in(key, lo, hi) : def;
}

std::string Table::choice(std::string_view key, const std::vector<std::string>& valid) const {
  std::string v = string(key);
  if (std::find(valid.begin(), valid.end(), v) != valid.end()) return v;
  std::string msg = fmt::format("unknown value '{}' (valid values: {})", v, join(valid));
  if (auto n = nearest(v, valid)) msg += fmt::format("; did you mean '{}'?", *n);
  fail(key, msg);
}
std::string Table::choice_or(std::string_view key, const std::vector<std::string>& valid,
                             std::string_view def) const {
  return node(key) ? choice(key, valid) : std::string(def);
}

namespace {
template <class T>
std::vector<T> read_array(const Table& t, std::string_view key, const toml::node& n, const char* what) {
  const auto* arr = n.as_array();
  if (!arr) t.fail(key, fmt::format("expected an array of {}", what));
  std::vector<T> out;
  out.reserve(arr->size());
  for (const auto& e : *arr) {
    auto v = e.value<T>();
    if constexpr (std::is_same_v<T, int64_t>) {
      if (!e.is_integer()) v.reset();
    }
    if constexpr (std::is_same_v<T, double>) {
      if (!e.is_number()) v.reset();
    }
    if (!v) t.fail(key, fmt::format("expected an array of {}; element {} is not", what, out.size()));
    if constexpr (std::is_same_v<T, double>) {
      if (auto ok = check_finite(*v, fmt::format("element {} ({})", out.size(), *v)); !ok) t.fail(key, ok.error());
    }
    out.push_back(*v);
  }
  return out;
}
}  // namespace

std::vector<double> Table::numbers(std::string_view key) const {
  return read_array<double>(*this, key, require(key), "numbers");
}
std::vector<int64_t> Table::integers(std::string_view key) const {
  return read_array<int64_t>(*this, key, require(key), "integers");
}
std::vector<std::string> Table::strings(std::string_view key) const {
  return read_array<std::string>(*this, key, require(key), "strings");
}
std::vector<double> Table::numbers_or(std::string_view key, std::vector<double> def) const {
  return node(key) ? numbers(key) : def;
}
std::vector<int64_t> Table::integers_or(std::string_view key, std::vector<int64_t> def) const {
  return node(key) ? integers(key) : def;
}
std::vector<std::string> Table::strings_or(std::string_view key, std::vector<std::string> def) const {
  return node(key) ? strings(key) : def;
}

}  // namespace moesim::config
