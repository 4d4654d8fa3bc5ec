#pragma once
// Shared by the JSONL trace readers (moesim's own and vLLM's hook format): one checked path from a
// JSON line to typed values. Every failure names the file, the line and the field: malformed JSON,
// a field of the wrong type, an integer outside the range of the type it is stored in (an expert id
// beyond int32, a dropped mark of 300 in a uint8), a non-finite number. Internal to models/routing.
#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/routing/trace_io.hpp"

namespace moesim::routing::io {

// Numbers with a fraction parse straight to float (no double rounding).
using Json = nlohmann::basic_json<std::map, std::vector, std::string, bool, std::int64_t, std::uint64_t, float>;

// Drops a UTF-8 byte-order mark (editors on Windows write one) and a trailing '\r' (CRLF files).
inline void strip_line(std::string& text, int64_t line) {
  if (line == 1 && text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);
  if (!text.empty() && text.back() == '\r') text.pop_back();
}

inline Json parse_json_line(const std::string& text, const std::string& file, int64_t line) {
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail_at(file, line, "record", fmt::format("malformed JSON ({})", e.what()));
  }
}

template <class T>
T checked_integer(const Json& v, const std::string& file, int64_t line, const std::string& key) {
  if (!v.is_number_integer()) fail_at(file, line, key, fmt::format("{} is not an integer", v.dump()));
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<T>::max()))
    fail_at(file, line, key, fmt::format("{} is out of range (at most {})", v.dump(), int64_t{std::numeric_limits<T>::max()}));
  const int64_t x = v.is_number_unsigned() ? static_cast<int64_t>(v.get<uint64_t>()) : v.get<int64_t>();
  if (x < static_cast<int64_t>(std::numeric_limits<T>::min()) || x > static_cast<int64_t>(std::numeric_limits<T>::max()))
    fail_at(file, line, key, fmt::format("{} is out of range [{}, {}]", x, int64_t{std::numeric_limits<T>::min()},
                                         int64_t{std::numeric_limits<T>::max()}));
  return static_cast<T>(x);
}

template <class T = int64_t>
T int_field(const Json& j, const char* key, const std::string& file, int64_t line) {
  auto it = j.find(key);
  if (it == j.end()) fail_at(file, line, key, "required field is missing");
  return checked_integer<T>(*it, file, line, key);
}

inline std::string string_field_or(const Json& j, const char* key, const std::string& def, const std::string& file, int64_t line) {
  auto it = j.find(key);
  if (it == j.end()) return def;
  if (!it->is_string()) fail_at(file, line, key, fmt::format("{} is not a string", it->dump()));
  return it->get<std::string>();
}

inline bool bool_field_or(const Json& j, const char* key, bool def, const std::string& file, int64_t line) {
  auto it = j.find(key);
  if (it == j.end()) return def;
  if (!it->is_boolean()) fail_at(file, line, key, fmt::format("{} is not true or false", it->dump()));
  return it->get<bool>();
}

// An optional array of numbers (empty when absent); integers are range-checked against T, floats
// must be finite.
template <class T>
std::vector<T> array_field(const Json& j, const char* key, const std::string& file, int64_t line, bool required) {
  std::vector<T> out;
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) fail_at(file, line, key, "required field is missing");
    return out;
  }
  if (!it->is_array()) fail_at(file, line, key, "must be an array of numbers");
  out.reserve(it->size());
  for (const auto& v : *it) {
    if constexpr (std::is_floating_point_v<T>) {
      if (!v.is_number()) fail_at(file, line, key, fmt::format("{} is not a number", v.dump()));
      const T x = v.get<T>();
      if (!std::isfinite(x)) fail_at(file, line, key, fmt::format("{} is not a finite number", v.dump()));
      out.push_back(x);
    } else {
      out.push_back(checked_integer<T>(v, file, line, key));
    }
  }
  return out;
}

}  // namespace moesim::routing::io
