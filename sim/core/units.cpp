#include "sim/core/units.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <map>

namespace moesim {
namespace {

struct UnitInfo {
  Dimension dim;
  double factor;  // to SI
};

// Unit tables. Bytes: SI (kB=1e3) and IEC (KiB=1024) prefixes. Bits ("b") are accepted only for
// rates ("Gbps", "Gb/s"), where link speeds are quoted in bits; a size in bits is an error.
const std::map<std::string, UnitInfo, std::less<>>& unit_table() {
  static const std::map<std::string, UnitInfo, std::less<>> table = [] {
    std::map<std::string, UnitInfo, std::less<>> t;
    const std::pair<const char*, double> si[] = {{"", 1.0},   {"k", 1e3},  {"K", 1e3}, {"M", 1e6},
                                                 {"G", 1e9}, {"T", 1e12}, {"P", 1e15}};
    const std::pair<const char*, double> iec[] = {{"Ki", 1024.0},
                                                  {"Mi", 1048576.0},
                                                  {"Gi", 1073741824.0},
                                                  {"Ti", 1099511627776.0},
                                                  {"Pi", 1125899906842624.0}};
    auto add_bytes = [&](const std::string& p, double f) {
      t[p + "B"] = {Dimension::bytes, f};
      t[p + "Bps"] = {Dimension::bytes_per_second, f};
      t[p + "B/s"] = {Dimension::bytes_per_second, f};
      t[p + "bps"] = {Dimension::bytes_per_second, f / 8.0};
      t[p + "b/s"] = {Dimension::bytes_per_second, f / 8.0};
    };
    for (auto [p, f] : si) add_bytes(p, f);
    for (auto [p, f] : iec) add_bytes(p, f);
    for (auto [p, f] : si) {
      t[std::string(p) + "Flops"] = {Dimension::flops_per_second, f};
      t[std::string(p) + "FLOPS"] = {Dimension::flops_per_second, f};
      t[std::string(p) + "Flop/s"] = {Dimension::flops_per_second, f};
      t[std::string(p) + "Flop"] = {Dimension::flops, f};
      t[std::string(p) + "FLOP"] = {Dimension::flops, f};
    }
    t["s"] = {Dimension::seconds, 1.0};
    t["ms"] = {Dimension::seconds, 1e-3};
    t["us"] = {Dimension::seconds, 1e-6};
    t["µs"] = {Dimension::seconds, 1e-6};
    t["ns"] = {Dimension::seconds, 1e-9};
    t["min"] = {Dimension::seconds, 60.0};
    t["h"] = {Dimension::seconds, 3600.0};
    return t;
  }();
  return table;
}

bool is_bit_size_unit(std::string_view u) {
  // "Gb", "Mb", "kb", "Gib": a size in bits.
  if (u.empty() || u.back() != 'b') return false;
  std::string_view p = u.substr(0, u.size() - 1);
  return p.empty() || p == "k" || p == "K" || p == "M" || p == "G" || p == "T" || p == "P" ||
         p == "Ki" || p == "Mi" || p == "Gi" || p == "Ti";
}

}  // namespace

std::string_view dimension_name(Dimension d) {
  switch (d) {
    case Dimension::bytes: return "a size in bytes";
    case Dimension::seconds: return "a time";
    case Dimension::flops: return "a FLOP count";
    case Dimension::bytes_per_second: return "a bandwidth";
    case Dimension::flops_per_second: return "a compute rate";
  }
  return "?";
}

std::string_view dimension_examples(Dimension d) {
  switch (d) {
    case Dimension::bytes: return "\"512B\", \"64KiB\", \"80GiB\", \"1.5GB\"";
    case Dimension::seconds: return "\"10ns\", \"1.5us\", \"2ms\", \"1s\"";
    case Dimension::flops: return "\"1GFlop\", \"3.5TFlop\"";
    case Dimension::bytes_per_second: return "\"3.35TBps\", \"900GB/s\", \"400Gbps\" (bits), \"25Gb/s\" (bits)";
    case Dimension::flops_per_second: return "\"989TFlops\", \"19.5TFLOPS\"";
  }
  return "";
}

Expected<double, std::string> parse_quantity(std::string_view text, Dimension want) {
  auto expected_msg = [&] {
    return fmt::format("expected {} with a unit, e.g. {}", dimension_name(want), dimension_examples(want));
  };
  std::string_view s = text;
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  double number = 0.0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), number);
  if (ec != std::errc() || ptr == s.data()) {
    return unexpected_error(fmt::format("'{}' does not start with a number; {}", text, expected_msg()));
  }
  std::string_view unit(ptr, static_cast<size_t>(s.data() + s.size() - ptr));
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  if (!std::isfinite(number)) return unexpected_error(fmt::format("'{}' is not a finite number", text));
  if (number < 0) return unexpected_error(fmt::format("'{}' is negative; {}", text, expected_msg()));
  if (unit.empty()) {
    return unexpected_error(fmt::format("'{}' has no unit; {}", text, expected_msg()));
  }
  if (want == Dimension::bytes && is_bit_size_unit(unit)) {
    return unexpected_error(fmt::format(
        "'{}' is in bits ('{}'), but {} is expected: write bytes with a capital B, e.g. \"{}{}B\"",
        text, unit, dimension_name(want), s.substr(0, static_cast<size_t>(ptr - s.data())),
        unit.substr(0, unit.size() - 1)));
  }
  const auto& table = unit_table();
  auto it = table.find(unit);
  if (it == table.end()) {
    return unexpected_error(fmt::format("unknown unit '{}' in '{}'; {}", unit, text, expected_msg()));
  }
  if (it->second.dim != want) {
    return unexpected_error(fmt::format("'{}' is {}, but {} is expected, e.g. {}", text,
                                       dimension_name(it->second.dim), dimension_name(want),
                                       dimension_examples(want)));
  }
  return check_quantity(number * it->second.factor, want, text);
}

// Limits: sizes up to 1 ZiB, times up to 10^7 s (116 days), FLOP counts up to 10^30, bandwidths
// from 1 kB/s (below any storage or link in the presets by 10^4) to 1 EB/s, compute rates from
// 1 MFlop/s to 10^21 Flop/s. Outside these the engine's arithmetic loses meaning (SimGrid aborts
// on non-finite durations or deadlocks on rates its precision cannot resolve).
QuantityLimits quantity_limits(Dimension d) {
  switch (d) {
    case Dimension::bytes: return {0, 1180591620717411303424.0};  // 2^70 B
    case Dimension::seconds: return {0, 1e7};
    case Dimension::flops: return {0, 1e30};
    case Dimension::bytes_per_second: return {1e3, 1e18};
    case Dimension::flops_per_second: return {1e6, 1e21};
  }
  return {0, 0};
}

Expected<double, std::string> check_quantity(double si, Dimension d, std::string_view text) {
  const auto lim = quantity_limits(d);
  auto range = [&] {
    const char* si_unit = d == Dimension::bytes ? "B" : d == Dimension::seconds ? "s" : d == Dimension::flops ? "Flop"
                          : d == Dimension::bytes_per_second ? "B/s" : "Flop/s";
    if (lim.min_nonzero == 0) return fmt::format("expected {} between 0 and {:g} {}", dimension_name(d), lim.max, si_unit);
    return fmt::format("expected {} of 0 or between {:g} and {:g} {}", dimension_name(d), lim.min_nonzero, lim.max, si_unit);
  };
  if (!std::isfinite(si)) return unexpected_error(fmt::format("'{}' is not finite after unit scaling; {}", text, range()));
  if (si < 0) return unexpected_error(fmt::format("'{}' is negative; {}", text, range()));
  if (si != 0 && (si < lim.min_nonzero || si > lim.max))
    return unexpected_error(fmt::format("'{}' is {:g} after unit scaling: out of range; {}", text, si, range()));
  return si;
}

Expected<double, std::string> check_finite(double v, std::string_view what) {
  if (!std::isfinite(v)) return unexpected_error(fmt::format("{} is not a finite number (NaN and infinity are not accepted)", what));
  return v;
}

Bytes parse_bytes_or_throw(std::string_view text) {
  auto r = parse_quantity(text, Dimension::bytes);
  if (!r) throw std::invalid_argument(r.error());
  return Bytes(*r);
}

namespace {
std::string scaled(double v, const char* const* units, int n, double step) {
  int i = 0;
  double a = std::fabs(v);
  while (i + 1 < n && a >= step) {
    a /= step;
    v /= step;
    ++i;
  }
  return fmt::format("{:.3g} {}", v, units[i]);
}
}  // namespace

std::string format_bytes(Bytes b) {
  static const char* const u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  return scaled(b.value, u, 6, 1024.0);
}
std::string format_rate(BytesPerSecond r) {
  static const char* const u[] = {"B/s", "kB/s", "MB/s", "GB/s", "TB/s", "PB/s"};
  return scaled(r.value, u, 6, 1000.0);
}
std::string format_flops_rate(FlopsPerSecond r) {
  static const char* const u[] = {"Flop/s", "kFlop/s", "MFlop/s", "GFlop/s", "TFlop/s", "PFlop/s"};
  return scaled(r.value, u, 6, 1000.0);
}
std::string format_flops(Flops f) {
  static const char* const u[] = {"Flop", "kFlop", "MFlop", "GFlop", "TFlop", "PFlop"};
  return scaled(f.value, u, 6, 1000.0);
}
std::string format_seconds(Seconds s) {
  double v = s.value;
  if (v == 0) return "0 s";
  if (std::fabs(v) < 1e-6) return fmt::format("{:.3g} ns", v * 1e9);
  if (std::fabs(v) < 1e-3) return fmt::format("{:.3g} us", v * 1e6);
  if (std::fabs(v) < 1.0) return fmt::format("{:.3g} ms", v * 1e3);
  return fmt::format("{:.3g} s", v);
}

}  // namespace moesim
