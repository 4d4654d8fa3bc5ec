// kind "trace": requests replayed from a file (read_request_trace), e.g. the Azure LLM inference
// traces (Patel et al., ISCA'24 "Splitwise"; github.com/Azure/AzurePublicDataset, columns
// TIMESTAMP,ContextTokens,GeneratedTokens). `speedup` divides every arrival time (2 = twice the
// rate); `requests` keeps the first n.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "models/serving/arrivals.hpp"
#include "sim/core/errors.hpp"

namespace moesim::serving {
namespace {

[[noreturn]] void bad(const std::string& path, int line, const std::string& what) {
  throw ConfigError(Location{path, line, 0}, "", what);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Days since 1970-01-01 of a civil date (H. Hinnant, "chrono-compatible low-level date algorithms").
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

// Seconds: a plain number, or "YYYY-MM-DD[ T]HH:MM:SS[.frac]".
std::optional<double> parse_time(const std::string& s) {
  size_t used = 0;
  try {
    double v = std::stod(s, &used);
    if (used == s.size() && std::isfinite(v)) return v;
  } catch (...) {
  }
  int y, mo, d, h, mi;
  double sec;
  char sep;
  if (std::sscanf(s.c_str(), "%d-%d-%d%c%d:%d:%lf", &y, &mo, &d, &sep, &h, &mi, &sec) != 7 || (sep != ' ' && sep != 'T'))
    return std::nullopt;
  return static_cast<double>(days_from_civil(y, mo, d)) * 86400.0 + h * 3600.0 + mi * 60.0 + sec;
}

int64_t parse_count(const std::string& path, int line, const std::string& column, const std::string& v) {
  size_t used = 0;
  int64_t n = 0;
  try {
    n = std::stoll(v, &used);
  } catch (...) {
    used = 0;
  }
  if (used != v.size() || n < 1) bad(path, line, fmt::format("{}: '{}' is not a token count >= 1", column, v));
  return n;
}

const std::vector<std::string> kTime = {"timestamp", "arrival_time", "arrival_s", "time"};
const std::vector<std::string> kPrompt = {"contexttokens", "prompt_tokens", "context_tokens"};
const std::vector<std::string> kOutput = {"generatedtokens", "output_tokens", "generated_tokens"};

int find_column(const std::vector<std::string>& header, const std::vector<std::string>& names) {
  for (size_t i = 0; i < header.size(); ++i)
    if (std::find(names.begin(), names.end(), lower(header[i])) != names.end()) return static_cast<int>(i);
  return -1;
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) {
    while (!cell.empty() && std::isspace(static_cast<unsigned char>(cell.back()))) cell.pop_back();
    size_t b = 0;
    while (b < cell.size() && std::isspace(static_cast<unsigned char>(cell[b]))) ++b;
    out.push_back(cell.substr(b));
  }
  return out;
}

RequestSpec jsonl_row(const std::string& path, int line, const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    bad(path, line, fmt::format("not a JSON object: {}", e.what()));
  }
  if (!j.is_object()) bad(path, line, "not a JSON object");
  RequestSpec r{0, kLengthUnset, kLengthUnset};
  bool has_time = false;
  for (auto& [k, v] : j.items()) {
    std::string key = lower(k);
    auto is = [&](const std::vector<std::string>& names) { return std::find(names.begin(), names.end(), key) != names.end(); };
    std::string s = v.is_string() ? v.get<std::string>() : v.dump();
    if (is(kTime)) {
      auto t = parse_time(s);
      if (!t) bad(path, line, fmt::format("{}: '{}' is not a time", k, s));
      r.arrival = *t, has_time = true;
    } else if (is(kPrompt)) {
      r.prompt = parse_count(path, line, k, s);
    } else if (is(kOutput)) {
      r.output = parse_count(path, line, k, s);
    } else {
      bad(path, line, fmt::format("unknown key '{}' (valid: TIMESTAMP|arrival_time|arrival_s|time, ContextTokens|prompt_tokens, GeneratedTokens|output_tokens)", k));
    }
  }
  if (!has_time) bad(path, line, "no arrival time (TIMESTAMP, arrival_time, arrival_s or time)");
  return r;
}

}  // namespace

std::vector<RequestSpec> read_request_trace(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(fmt::format("cannot read request trace {}", path));
  const bool jsonl = std::filesystem::path(path).extension() == ".jsonl";
  std::vector<RequestSpec> out;
  std::string text;
  int line = 0, t_col = -1, p_col = -1, o_col = -1;
  size_t columns = 0;
  while (std::getline(in, text)) {
    ++line;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty() || text[0] == '#') continue;
    if (jsonl) {
      out.push_back(jsonl_row(path, line, text));
      continue;
    }
    auto cells = split_csv(text);
    if (t_col < 0) {
      t_col = find_column(cells, kTime), p_col = find_column(cells, kPrompt), o_col = find_column(cells, kOutput);
      if (t_col < 0) bad(path, line, "header has no time column (TIMESTAMP, arrival_time, arrival_s or time)");
      columns = cells.size();
      continue;
    }
    if (cells.size() != columns) bad(path, line, fmt::format("{} fields, the header has {}", cells.size(), columns));
    auto t = parse_time(cells[static_cast<size_t>(t_col)]);
    if (!t) bad(path, line, fmt::format("'{}' is not a time", cells[static_cast<size_t>(t_col)]));
    RequestSpec r{*t, kLengthUnset, kLengthUnset};
    if (p_col >= 0) r.prompt = parse_count(path, line, "ContextTokens", cells[static_cast<size_t>(p_col)]);
    if (o_col >= 0) r.output = parse_count(path, line, "GeneratedTokens", cells[static_cast<size_t>(o_col)]);
    out.push_back(r);
  }
  if (out.empty()) throw ConfigError(Location{path, line, 0}, "", "request trace has no requests");
  for (size_t i = 1; i < out.size(); ++i)
    if (out[i].arrival < out[i - 1].arrival)
      throw ConfigError(Location{path, 0, 0}, "", fmt::format("request trace: request {} arrives before request {} (times must not decrease)", i, i - 1));
  const double t0 = out.front().arrival;
  for (auto& r : out) r.arrival -= t0;
  return out;
}

namespace {

class TraceArrivals final : public IArrivalProcess {
 public:
  TraceArrivals(std::vector<RequestSpec> r) : r_(std::move(r)) {}
  std::vector<RequestSpec> requests(uint64_t) const override { return r_; }

 private:
  std::vector<RequestSpec> r_;
};

}  // namespace

MOESIM_REGISTER(ArrivalRegistry, "trace", "replay a request trace (CSV TIMESTAMP,ContextTokens,GeneratedTokens as Azure's, or JSONL)",
                [](const config::Table& t) -> std::unique_ptr<IArrivalProcess> {
                  std::filesystem::path path = t.string("path");
                  if (path.is_relative()) {
                    std::filesystem::path from = t.where("path").file;
                    path = (from.empty() ? std::filesystem::path{} : from.parent_path()) / path;
                  }
                  const double speedup = t.number_in_or("speedup", 1e-6, 1e6, 1.0);
                  const int64_t keep = t.integer_in_or("requests", 1, int64_t{1} << 26, int64_t{1} << 26);
                  t.finish();
                  if (!std::filesystem::exists(path)) t.fail("path", fmt::format("no such request trace: {}", path.string()));
                  auto r = read_request_trace(path.string());
                  if (static_cast<int64_t>(r.size()) > keep) r.resize(static_cast<size_t>(keep));
                  for (auto& q : r) q.arrival /= speedup;
                  return std::make_unique<TraceArrivals>(std::move(r));
                });

}  // namespace moesim::serving
