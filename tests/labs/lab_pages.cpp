#include "tests/labs/lab_pages.hpp"

#include <unistd.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

namespace moesim::labs {
namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// `key=value` from a fence's info string ("sh answer=A1.2 needs=../shared/x").
std::string info_value(const std::string& info, const std::string& key) {
  std::smatch m;
  std::regex re("(?:^|\\s)" + key + "=(\\S+)");
  return std::regex_search(info, m, re) ? m[1].str() : "";
}

// Half a unit of the last digit written: "0.123" -> 0.0005, "42" -> 0.5.
double half_last_digit(const std::string& number) {
  auto mant = number.substr(0, number.find_first_of("eE"));
  auto dot = mant.find('.');
  int decimals = dot == std::string::npos ? 0 : static_cast<int>(mant.size() - dot - 1);
  double exp10 = 1;
  if (auto e = number.find_first_of("eE"); e != std::string::npos) exp10 = std::pow(10.0, std::stod(number.substr(e + 1)));
  return 0.5 * std::pow(10.0, -decimals) * exp10;
}

}  // namespace

fs::path source_dir() { return fs::path(MOESIM_SOURCE_DIR); }

std::vector<fs::path> lab_page_paths() {
  std::vector<fs::path> out;
  const std::regex name("[0-9][0-9]_.*\\.md");
  for (const auto& e : fs::directory_iterator(source_dir() / "docs/labs"))
    if (std::regex_match(e.path().filename().string(), name)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

LabPage read_lab_page(const fs::path& path) {
  LabPage page{path, slurp(path), {}, {}};
  const auto lines = lines_of(page.text);
  const std::regex value_re(R"(\*\*(A[0-9]+\.[0-9]+)\*\*.*?= \*\*(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)\*\*[^(]*\(±([0-9.]+) ?%\))");
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& l = lines[i];
    if (l.rfind("```", 0) == 0 && l.size() > 3) {
      const std::string info = l.substr(3);
      const std::string id = info_value(info, "answer");
      size_t j = i + 1;
      std::string body;
      for (; j < lines.size() && lines[j].rfind("```", 0) != 0; ++j) body += lines[j] + "\n";
      if (!id.empty())
        page.blocks.push_back({id, path.filename().string(), body, info_value(info, "needs"), static_cast<int>(i + 1)});
      i = j;
      continue;
    }
    std::smatch m;
    if (std::regex_search(l, m, value_re))
      page.values.push_back({m[1].str(), m[2].str(), std::stod(m[2].str()), std::stod(m[3].str()) / 100.0, static_cast<int>(i + 1)});
  }
  return page;
}

BlockRun run_block(const std::string& script, const std::string& tag) {
  // base/repo stands for the repository root (links to its folders); base/shared links to the
  // shared folder beside the repository, when there is one, so `../shared/...` resolves as there.
  const fs::path base = fs::temp_directory_path() / ("moesim_labs_" + tag + "_" + std::to_string(::getpid()));
  const fs::path dir = base / "repo";
  fs::remove_all(base);
  fs::create_directories(dir / "bin");
  for (const char* d : {"scenarios", "validate", "docs", "hardware", "models"}) fs::create_directory_symlink(source_dir() / d, dir / d);
  if (fs::exists(source_dir() / "../shared")) fs::create_directory_symlink(fs::canonical(source_dir() / "../shared"), base / "shared");
  fs::create_symlink(fs::path(MOESIM_BINARY), dir / "bin/moesim");
  {
    std::ofstream f(dir / "block.sh");
    f << script;
  }
  const std::string cmd = "cd '" + dir.string() + "' && PATH='" + (dir / "bin").string() +
                          "':\"$PATH\" bash -eo pipefail block.sh 2>stderr.txt; echo \"#exit $?\"";
  BlockRun r;
  FILE* p = popen(cmd.c_str(), "r");
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  pclose(p);
  auto lines = lines_of(r.output);
  if (!lines.empty() && lines.back().rfind("#exit ", 0) == 0) {
    r.code = std::stoi(lines.back().substr(6));
    lines.pop_back();
  }
  while (!lines.empty() && lines.back().find_first_not_of(" \t\r") == std::string::npos) lines.pop_back();
  if (!lines.empty()) {
    try {
      size_t used = 0;
      double v = std::stod(lines.back(), &used);
      if (lines.back().find_first_not_of(" \t\r", used) == std::string::npos) r.value = v;
    } catch (const std::exception&) {
    }
  }
  r.output += "\n--- stderr ---\n" + slurp(dir / "stderr.txt");
  fs::remove_all(base);
  return r;
}

bool within_tolerance(const AnswerValue& v, double simulated) {
  return std::abs(simulated - v.value) <= v.tolerance * std::abs(v.value) + half_last_digit(v.text) + 1e-12;
}

}  // namespace moesim::labs
