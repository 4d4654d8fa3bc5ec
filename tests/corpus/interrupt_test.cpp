// Interrupting a run (docs/robustness.md): SIGINT or SIGTERM midway ends it with a message and exit
// 128 + signal, the previous output stays byte for byte, and no temporary directory is left; a
// SIGKILL (no chance to clean up) also leaves the previous output, and the next run removes what
// the killed one left. Concurrent runs on one --out all succeed.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace {

namespace fs = std::filesystem;
const fs::path kQuickstart = fs::path(MOESIM_SOURCE_DIR) / "scenarios/examples/quickstart.toml";
// Long enough that a signal after 1.5 s lands in the middle (thousands of decode steps).
const char* kLong = "workload.generate_tokens=3000";

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Starts `moesim run quickstart --out out [--set extra]` with stdout/stderr to `log`.
pid_t start_run(const fs::path& out, const fs::path& log, const char* extra) {
  pid_t p = fork();
  if (p == 0) {
    FILE* f = std::freopen(log.c_str(), "w", stdout);
    dup2(fileno(f), 2);
    if (extra)
      execl(MOESIM_BINARY, "moesim", "run", kQuickstart.c_str(), "--out", out.c_str(), "--set", extra, (char*)nullptr);
    else
      execl(MOESIM_BINARY, "moesim", "run", kQuickstart.c_str(), "--out", out.c_str(), (char*)nullptr);
    _exit(127);
  }
  return p;
}

int wait_for(pid_t p) {
  int status = 0;
  waitpid(p, &status, 0);
  return status;
}

std::vector<std::string> leftovers(const fs::path& out) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(out))
    if (e.path().filename() != "quickstart") v.push_back(e.path().filename().string());
  return v;
}

class Interrupt : public testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("moesim-interrupt-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    ASSERT_EQ(wait_for(start_run(dir / "out", dir / "first.log", nullptr)), 0) << slurp(dir / "first.log");
    before = slurp(dir / "out/quickstart/summary.json");
    ASSERT_FALSE(before.empty());
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
  std::string before;
};

TEST_F(Interrupt, SigintMidwayKeepsThePreviousOutputAndLeavesNoTemporary) {
  for (int sig : {SIGINT, SIGTERM}) {
    pid_t p = start_run(dir / "out", dir / "second.log", kLong);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    kill(p, sig);
    int status = wait_for(p);
    const std::string log = slurp(dir / "second.log");
    ASSERT_TRUE(WIFEXITED(status)) << log;
    EXPECT_EQ(WEXITSTATUS(status), 128 + sig) << log;
    EXPECT_NE(log.find("interrupted by"), std::string::npos) << log;
    EXPECT_EQ(slurp(dir / "out/quickstart/summary.json"), before);
    EXPECT_TRUE(leftovers(dir / "out").empty());
  }
}

TEST_F(Interrupt, SigkillMidwayKeepsThePreviousOutputAndTheNextRunCleansUp) {
  pid_t p = start_run(dir / "out", dir / "second.log", kLong);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  kill(p, SIGKILL);
  wait_for(p);
  EXPECT_EQ(slurp(dir / "out/quickstart/summary.json"), before);
  ASSERT_EQ(wait_for(start_run(dir / "out", dir / "third.log", nullptr)), 0) << slurp(dir / "third.log");
  EXPECT_EQ(slurp(dir / "out/quickstart/summary.json"), before);  // deterministic: same bytes again
  EXPECT_TRUE(leftovers(dir / "out").empty());
}

TEST_F(Interrupt, ConcurrentRunsOnOneOutAllSucceed) {
  std::vector<pid_t> runs;
  for (int i = 0; i < 6; ++i) runs.push_back(start_run(dir / "out", dir / fmt::format("c{}.log", i), nullptr));
  for (size_t i = 0; i < runs.size(); ++i) {
    int status = wait_for(runs[i]);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slurp(dir / fmt::format("c{}.log", i));
  }
  EXPECT_EQ(slurp(dir / "out/quickstart/summary.json"), before);
  EXPECT_TRUE(leftovers(dir / "out").empty());
}

}  // namespace
