// The docs and source comments as a reader follows them: every repository path they name exists,
// every relative Markdown link resolves, and the docs read as documentation, not as a development
// log ("issue 7", "this session").
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
const fs::path kRoot = MOESIM_SOURCE_DIR;

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

bool has_extension(const fs::path& p, std::initializer_list<const char*> exts) {
  for (const char* e : exts)
    if (p.extension() == e) return true;
  return false;
}

// Docs, README and the sources, scenarios and scripts whose comments point at files; not the
// malformed-input corpus (it names missing files on purpose) nor measured data.
std::vector<fs::path> readable_files() {
  std::vector<fs::path> out = {kRoot / "README.md"};
  for (const char* dir : {"docs", "sim", "models", "hardware", "validate", "scripts", "scenarios", "tests", "cmake", "fuzz"}) {
    if (!fs::exists(kRoot / dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(kRoot / dir)) {
      const auto rel = fs::relative(e.path(), kRoot).string();
      if (rel.starts_with("tests/corpus") || rel.starts_with("validate/data")) continue;
      if (e.is_regular_file() && has_extension(e.path(), {".md", ".cpp", ".hpp", ".toml", ".sh", ".txt", ".cmake"}))
        out.push_back(e.path());
    }
  }
  return out;
}

int line_of(const std::string& text, size_t pos) { return 1 + static_cast<int>(std::count(text.begin(), text.begin() + pos, '\n')); }

// `models/routing/counts` stands for counts.cpp/.hpp: a stem with some extension counts as existing.
bool exists_as_path_or_stem(const fs::path& p) {
  if (fs::exists(p)) return true;
  if (!fs::is_directory(p.parent_path())) return false;
  for (const auto& e : fs::directory_iterator(p.parent_path()))
    if (e.path().stem() == p.filename()) return true;
  return false;
}

TEST(Docs, EveryReferencedFileExists) {
  // A repository path: a top-level folder, then path characters; not followed by a placeholder.
  const std::regex path_re(R"((^|[^A-Za-z0-9_./-])((sim|models|hardware|scenarios|docs|tests|validate|scripts|cmake|fuzz)/[A-Za-z0-9_./+-]*[A-Za-z0-9_]))");
  const std::regex link_re(R"(\]\(([^)#\s]+)(#[^)]*)?\))");
  std::vector<std::string> missing;
  for (const auto& file : readable_files()) {
    const std::string text = slurp(file);
    const auto rel = fs::relative(file, kRoot).string();
    for (auto it = std::sregex_iterator(text.begin(), text.end(), path_re); it != std::sregex_iterator(); ++it) {
      const auto& m = *it;
      const size_t end = static_cast<size_t>(m.position(2) + m.length(2));
      if (end < text.size() && std::string_view("<*{$").find(text[end]) != std::string_view::npos) continue;
      const std::string path = m.str(2);
      if (exists_as_path_or_stem(kRoot / path) || exists_as_path_or_stem(file.parent_path() / path)) continue;
      missing.push_back(rel + ":" + std::to_string(line_of(text, static_cast<size_t>(m.position(2)))) + ": " + path);
    }
    if (file.extension() != ".md") continue;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), link_re); it != std::sregex_iterator(); ++it) {
      const std::string target = (*it).str(1);
      if (target.starts_with("http:") || target.starts_with("https:") || target.starts_with("mailto:")) continue;
      if (fs::exists(file.parent_path() / target)) continue;
      missing.push_back(rel + ":" + std::to_string(line_of(text, static_cast<size_t>((*it).position(1)))) + ": link " + target);
    }
  }
  std::string list;
  for (const auto& m : missing) list += "\n  " + m;
  EXPECT_TRUE(missing.empty()) << missing.size() << " references to files that do not exist:" << list;
}

TEST(Docs, ReadAsDocumentationNotADevelopmentLog) {
  const std::regex log_re(R"(\b(issue \d+|this session|this round|previous session)\b)", std::regex::icase);
  std::vector<std::string> hits;
  std::vector<fs::path> docs = {kRoot / "README.md"};
  for (const auto& e : fs::recursive_directory_iterator(kRoot / "docs"))
    if (e.is_regular_file() && e.path().extension() == ".md") docs.push_back(e.path());
  for (const auto& file : docs) {
    const std::string text = slurp(file);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), log_re); it != std::sregex_iterator(); ++it)
      hits.push_back(fs::relative(file, kRoot).string() + ":" + std::to_string(line_of(text, static_cast<size_t>((*it).position(0)))) +
                     ": " + (*it).str(0));
  }
  std::string list;
  for (const auto& h : hits) list += "\n  " + h;
  EXPECT_TRUE(hits.empty()) << "development-log wording in the docs:" << list;
}

}  // namespace
