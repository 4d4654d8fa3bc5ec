#pragma once
// Strong unit types, stored in SI base units (bytes, seconds, FLOPs). Parsing of unit strings as
// they appear in scenarios: "80GiB", "3.35TBps", "400Gbps", "1.5us", "989TFlops".
#include <compare>
#include "sim/core/expected.hpp"
#include <string>
#include <string_view>

namespace moesim {

template <class Tag>
struct Quantity {
  double value = 0.0;  // SI
  constexpr Quantity() = default;
  constexpr explicit Quantity(double v) : value(v) {}
  constexpr auto operator<=>(const Quantity&) const = default;
  constexpr Quantity operator+(Quantity o) const { return Quantity(value + o.value); }
  constexpr Quantity operator-(Quantity o) const { return Quantity(value - o.value); }
  constexpr Quantity operator*(double k) const { return Quantity(value * k); }
  constexpr Quantity operator/(double k) const { return Quantity(value / k); }
  constexpr double operator/(Quantity o) const { return value / o.value; }
  constexpr Quantity& operator+=(Quantity o) { value += o.value; return *this; }
  constexpr Quantity& operator-=(Quantity o) { value -= o.value; return *this; }
};
template <class Tag>
constexpr Quantity<Tag> operator*(double k, Quantity<Tag> q) { return Quantity<Tag>(k * q.value); }

struct BytesTag {};
struct SecondsTag {};
struct FlopsTag {};
struct BytesPerSecondTag {};
struct FlopsPerSecondTag {};

using Bytes = Quantity<BytesTag>;
using Seconds = Quantity<SecondsTag>;
using Flops = Quantity<FlopsTag>;
using BytesPerSecond = Quantity<BytesPerSecondTag>;
using FlopsPerSecond = Quantity<FlopsPerSecondTag>;

// Dimensional algebra that the models need.
constexpr Seconds operator/(Bytes b, BytesPerSecond r) { return Seconds(b.value / r.value); }
constexpr Seconds operator/(Flops f, FlopsPerSecond r) { return Seconds(f.value / r.value); }
constexpr Bytes operator*(BytesPerSecond r, Seconds t) { return Bytes(r.value * t.value); }
constexpr Flops operator*(FlopsPerSecond r, Seconds t) { return Flops(r.value * t.value); }
constexpr BytesPerSecond operator/(Bytes b, Seconds t) { return BytesPerSecond(b.value / t.value); }
constexpr FlopsPerSecond operator/(Flops f, Seconds t) { return FlopsPerSecond(f.value / t.value); }

namespace literals {
constexpr Bytes operator""_B(long double v) { return Bytes(static_cast<double>(v)); }
constexpr Bytes operator""_B(unsigned long long v) { return Bytes(static_cast<double>(v)); }
constexpr Bytes operator""_KiB(unsigned long long v) { return Bytes(static_cast<double>(v) * 1024.0); }
constexpr Bytes operator""_MiB(unsigned long long v) { return Bytes(static_cast<double>(v) * 1048576.0); }
constexpr Bytes operator""_GiB(unsigned long long v) { return Bytes(static_cast<double>(v) * 1073741824.0); }
constexpr Seconds operator""_s(long double v) { return Seconds(static_cast<double>(v)); }
constexpr Seconds operator""_us(long double v) { return Seconds(static_cast<double>(v) * 1e-6); }
constexpr Seconds operator""_us(unsigned long long v) { return Seconds(static_cast<double>(v) * 1e-6); }
constexpr Seconds operator""_ms(unsigned long long v) { return Seconds(static_cast<double>(v) * 1e-3); }
}  // namespace literals

// Which physical dimension a configuration value must have.
enum class Dimension { bytes, seconds, flops, bytes_per_second, flops_per_second };
std::string_view dimension_name(Dimension d);
// Example units for error messages, e.g. "B, KiB, MiB, GiB, kB, MB, GB, TB".
std::string_view dimension_examples(Dimension d);

// Parses "<number><unit>" into the SI value of `want`. On failure returns a message that says what
// was expected (and, for bits-vs-bytes confusion, which one was given).
Expected<double, std::string> parse_quantity(std::string_view text, Dimension want);

// The checked-number path every reader goes through (config::Table uses it for every quantity):
// after unit scaling, a value must be finite and inside the plausible range of its dimension
// (quantity_limits), so "1e308TBps" (+inf once scaled) or "1e-300Bps" (a bandwidth SimGrid cannot
// simulate) fail at the key instead of deep in the engine. Zero is always allowed (readers that
// need a positive value say so).
struct QuantityLimits {
  double min_nonzero;  // smallest positive value accepted (SI)
  double max;          // largest value accepted (SI)
};
QuantityLimits quantity_limits(Dimension d);
Expected<double, std::string> check_quantity(double si, Dimension d, std::string_view text);
// A plain number (no unit) must be finite: NaN and +-inf are rejected.
Expected<double, std::string> check_finite(double v, std::string_view what);

Bytes parse_bytes_or_throw(std::string_view text);  // convenience for tests and code literals

// Human-readable formatting with a unit (e.g. "1.50 GiB", "12.3 us", "400 Gbps" is not produced:
// rates are printed in bytes, "50.0 GB/s").
std::string format_bytes(Bytes b);
std::string format_seconds(Seconds s);
std::string format_rate(BytesPerSecond r);
std::string format_flops_rate(FlopsPerSecond r);
std::string format_flops(Flops f);

}  // namespace moesim
