#include "sim/plan/rows.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "sim/core/errors.hpp"

namespace moesim::plan {
namespace fs = std::filesystem;

ReadRows read_rows(const fs::path& path) {
  ReadRows out;
  std::ifstream f(path, std::ios::binary);
  if (!f) return out;
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) {  // no newline: a write cut short
      ++out.dropped_lines;
      break;
    }
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) {
      out.valid_bytes = pos;
      continue;
    }
    try {
      Row r = Row::parse(line);
      if (!r.is_object() || !r.contains("point") || !r.contains("key")) throw std::runtime_error("not a row");
      out.rows.push_back(std::move(r));
      out.valid_bytes = pos;
    } catch (const std::exception&) {
      ++out.dropped_lines;
    }
  }
  return out;
}

RowAppender::RowAppender(const fs::path& path, uintmax_t truncate_to, bool fresh) : path_(path) {
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path());
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | (fresh ? O_TRUNC : 0), 0644);
  if (fd_ < 0) throw IoError(fmt::format("cannot write {}", path.string()));
  if (!fresh && ::ftruncate(fd_, static_cast<off_t>(truncate_to)) != 0)
    throw IoError(fmt::format("cannot truncate {}", path.string()));
  ::lseek(fd_, 0, SEEK_END);
}

RowAppender::~RowAppender() {
  if (fd_ >= 0) ::close(fd_);
}

void RowAppender::append(const Row& row) {
  const std::string line = row.dump() + "\n";
  size_t off = 0;
  while (off < line.size()) {
    const ssize_t w = ::write(fd_, line.data() + off, line.size() - off);
    if (w <= 0) throw IoError(fmt::format("cannot write {}", path_.string()));
    off += static_cast<size_t>(w);
  }
}

std::vector<Row> sorted_unique(std::vector<Row> rows) {
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a["point"].get<int64_t>() < b["point"].get<int64_t>(); });
  std::vector<Row> out;
  std::map<int64_t, std::string> key_of_point;
  for (auto& r : rows) {
    const std::string key = r["key"].get<std::string>();
    const int64_t point = r["point"].get<int64_t>();
    auto [it, fresh] = key_of_point.emplace(point, key);
    if (!fresh && it->second != key)
      throw std::runtime_error(fmt::format("point {} appears with two different scenarios (keys {} and {}): rows of different sweeps mixed",
                                           point, it->second, key));
    if (fresh) out.push_back(std::move(r));
  }
  return out;
}

std::string jsonl_text(const std::vector<Row>& rows) {
  std::string out;
  for (const auto& r : rows) out += r.dump() + "\n";
  return out;
}

namespace {

std::string cell(const Row& v) {
  std::string s;
  if (v.is_null()) return "";
  if (v.is_string()) s = v.get<std::string>();
  else if (v.is_boolean()) s = v.get<bool>() ? "true" : "false";
  else s = v.dump();
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace

std::string csv_text(const std::vector<Row>& rows) {
  const std::vector<std::string> fixed = {"point", "repeat", "key", "status", "error", "device"};
  std::vector<std::string> axes;
  std::set<std::string> metrics;
  for (const auto& r : rows) {
    if (r.contains("axes"))
      for (const auto& [k, v] : r["axes"].items())
        if (std::find(axes.begin(), axes.end(), k) == axes.end()) axes.push_back(k);
    if (r.contains("metrics"))
      for (const auto& [k, v] : r["metrics"].items()) metrics.insert(k);
  }
  std::string out;
  std::vector<std::string> header = fixed;
  // Plan rows also say whether they met the SLOs and why not.
  std::vector<std::string> verdict;
  for (const char* k : {"feasible", "rejected"})
    if (!rows.empty() && rows.front().contains(k)) verdict.push_back(k);
  header.insert(header.end(), verdict.begin(), verdict.end());
  header.insert(header.end(), axes.begin(), axes.end());
  header.insert(header.end(), metrics.begin(), metrics.end());
  for (size_t i = 0; i < header.size(); ++i) out += (i ? "," : "") + cell(Row(header[i]));
  out += "\n";
  for (const auto& r : rows) {
    std::vector<std::string> cells;
    for (const auto& k : fixed) cells.push_back(r.contains(k) ? cell(r[k]) : "");
    for (const auto& k : verdict) cells.push_back(r.contains(k) ? cell(r[k]) : "");
    for (const auto& k : axes) cells.push_back(r.contains("axes") && r["axes"].contains(k) ? cell(r["axes"][k]) : "");
    for (const auto& k : metrics) cells.push_back(r.contains("metrics") && r["metrics"].contains(k) ? cell(r["metrics"][k]) : "");
    for (size_t i = 0; i < cells.size(); ++i) out += (i ? "," : "") + cells[i];
    out += "\n";
  }
  return out;
}

void write_atomically(const fs::path& path, const std::string& text) {
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path());
  fs::path tmp = path;
  tmp += fmt::format(".tmp{}", ::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw IoError(fmt::format("cannot write {}", tmp.string()));
    f << text;
    if (!f.flush()) throw IoError(fmt::format("cannot write {}", tmp.string()));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw IoError(fmt::format("cannot write {}", path.string()));
  }
}

}  // namespace moesim::plan
