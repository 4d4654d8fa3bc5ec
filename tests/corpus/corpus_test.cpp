// The malformed-input corpus (tests/corpus/README.md), run through the real binary as a user would:
// every case must exit with its expected code (never a signal, never a timeout), print every
// expected substring (file, line, key, what is wrong), and leave no sanitizer report or uncaught
// exception. Cases are files under tests/corpus/{toml,traces,cli}; expectations are the
// "# args:", "# exit:", "# expect:" and "# reject:" lines at the top of the case, or of a sidecar <case>.expect
// for binary inputs.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

namespace fs = std::filesystem;
const fs::path kCorpus = fs::path(MOESIM_SOURCE_DIR) / "tests/corpus";

struct Case {
  std::string name;      // "toml/bad_unit.toml"
  fs::path file;
  std::string args;      // placeholders: {file} {corpus} {tmp} {root}
  int exit = 2;
  std::vector<std::string> expect;
  std::vector<std::string> reject;  // substrings that must not appear
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
  return s;
}

Case read_case(const fs::path& file) {
  Case c;
  c.name = fs::relative(file, kCorpus).string();
  c.file = file;
  const std::string dir = fs::path(c.name).begin()->string();
  c.args = dir == "traces" ? "trace stats {file}" : "check {file}";
  fs::path spec = file;
  spec += ".expect";
  std::ifstream in(fs::exists(spec) ? spec : file, std::ios::binary);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("# args:", 0) == 0) c.args = line.substr(line.find_first_not_of(' ', 7));
    else if (line.rfind("# exit:", 0) == 0) c.exit = std::stoi(line.substr(7));
    else if (line.rfind("# expect:", 0) == 0) c.expect.push_back(line.substr(line.find_first_not_of(' ', 9)));
    else if (line.rfind("# reject:", 0) == 0) c.reject.push_back(line.substr(line.find_first_not_of(' ', 9)));
  }
  return c;
}

std::vector<Case> all_cases() {
  std::vector<Case> out;
  for (const char* dir : {"toml", "traces", "cli"})
    for (const auto& e : fs::recursive_directory_iterator(kCorpus / dir)) {
      if (!e.is_regular_file() || e.path().extension() == ".expect") continue;
      if (e.path().parent_path().filename() == "data") continue;  // inputs that cases refer to
      out.push_back(read_case(e.path()));
    }
  std::sort(out.begin(), out.end(), [](const Case& a, const Case& b) { return a.name < b.name; });
  return out;
}

struct Result {
  int status = -1;
  std::string output;
};

Result run(const std::string& cmd) {
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  r.status = pclose(p);
  return r;
}

class Corpus : public testing::TestWithParam<Case> {};

TEST_P(Corpus, FailsCleanlyWithItsMessage) {
  const Case& c = GetParam();
  const fs::path tmp = fs::temp_directory_path() / ("moesim-corpus-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  std::string args = replace_all(c.args, "{file}", c.file.string());
  args = replace_all(args, "{corpus}", kCorpus.string());
  args = replace_all(args, "{root}", MOESIM_SOURCE_DIR);
  args = replace_all(args, "{tmp}", tmp.string());
  // `timeout` turns a hang into exit 124; a crash shows as a signal or 128+signal.
  const std::string cmd = "cd '" + tmp.string() + "' && timeout -k 5 60 " + std::string(MOESIM_BINARY) + " " + args + " 2>&1";
  Result r = run(cmd);
  fs::remove_all(tmp);
  SCOPED_TRACE("case " + c.name + "\n  command: " + cmd + "\n  output:\n" + r.output);
  ASSERT_TRUE(WIFEXITED(r.status)) << "killed by a signal";
  const int code = WEXITSTATUS(r.status);
  EXPECT_NE(code, 124) << "timed out (a hang)";
  EXPECT_LT(code, 124) << "crashed";
  EXPECT_EQ(code, c.exit);
  EXPECT_NE(code, 0);
  ASSERT_FALSE(c.expect.empty()) << "a case must state at least one expected message";
  for (const auto& e : c.expect) EXPECT_NE(r.output.find(replace_all(e, "{corpus}", kCorpus.string())), std::string::npos) << "missing: " << e;
  for (const auto& e : c.reject) EXPECT_EQ(r.output.find(e), std::string::npos) << "unexpected: " << e;
  for (const char* bad : {"AddressSanitizer", "runtime error:", "terminate called", "Segmentation fault", "Aborted", "xbt_die"})
    EXPECT_EQ(r.output.find(bad), std::string::npos) << bad;
}

std::string case_name(const testing::TestParamInfo<Case>& info) {
  std::string n;
  for (char ch : info.param.name) n += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Cases, Corpus, testing::ValuesIn(all_cases()), case_name);

TEST(CorpusSize, HoldsAtLeastSixtyCases) { EXPECT_GE(all_cases().size(), 60u); }

}  // namespace
