// The atomic output writer (sim/report/atomic_output.hpp): all or nothing, concurrent writers,
// stale temporary siblings, checked writes.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/core/errors.hpp"
#include "sim/report/atomic_output.hpp"

namespace {

namespace fs = std::filesystem;
using namespace moesim;

fs::path fresh_dir(const std::string& tag) {
  fs::path d = fs::temp_directory_path() / fmt::format("moesim-atomic-{}-{}", tag, ::getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<std::string> entries(const fs::path& d) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(d)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(AtomicDir, CommitReplacesThePreviousOutputWhole) {
  auto d = fresh_dir("replace");
  report::write_directory_atomic(d / "run", {{"a.txt", "old a"}, {"b.txt", "old b"}});
  report::write_directory_atomic(d / "run", {{"a.txt", "new a"}});
  EXPECT_EQ(slurp(d / "run/a.txt"), "new a");
  EXPECT_FALSE(fs::exists(d / "run/b.txt"));  // a whole new folder, not a merge
  EXPECT_EQ(entries(d), std::vector<std::string>{"run"});
  fs::remove_all(d);
}

TEST(AtomicDir, AnUncommittedOutputLeavesThePreviousOneAndNoTemporary) {
  auto d = fresh_dir("abort");
  report::write_directory_atomic(d / "run", {{"a.txt", "old"}});
  try {
    report::AtomicDir out(d / "run");
    out.write("a.txt", "half");
    EXPECT_TRUE(fs::exists(out.temp_dir()));
    throw std::runtime_error("the run failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(slurp(d / "run/a.txt"), "old");
  EXPECT_EQ(entries(d), std::vector<std::string>{"run"});
  fs::remove_all(d);
}

TEST(AtomicDir, RemovePendingOutputsDeletesUncommittedTemporaries) {
  auto d = fresh_dir("pending");
  report::AtomicDir out(d / "run");
  out.write("a.txt", "x");
  report::remove_pending_outputs();
  EXPECT_FALSE(fs::exists(out.temp_dir()));
  EXPECT_TRUE(entries(d).empty());
  fs::remove_all(d);
}

TEST(AtomicDir, StaleTemporariesOfDeadProcessesAreCleanedAndAMovedAsideOutputRestored) {
  auto d = fresh_dir("stale");
  // A pid that is not running: a child that has exited and been reaped.
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  fs::create_directories(d / fmt::format(".run.moesim-tmp-{}-0", dead));
  fs::create_directories(d / fmt::format(".run.tmp-{}", dead));  // the previous writer's naming
  fs::create_directories(d / fmt::format(".run.moesim-old-{}-3", dead));
  std::ofstream(d / fmt::format(".run.moesim-old-{}-3/a.txt", dead)) << "previous";
  std::ofstream(d / "trace.jsonl.partial") << "half";
  clean_stale_siblings(d / "run");
  clean_stale_siblings(d / "trace.jsonl");
  EXPECT_EQ(entries(d), std::vector<std::string>{"run"});
  EXPECT_EQ(slurp(d / "run/a.txt"), "previous");  // the kill between the two renames lost nothing
  fs::remove_all(d);
}

TEST(AtomicDir, ConcurrentWritersAllSucceedAndNeverInterleave) {
  auto d = fresh_dir("race");
  std::vector<pid_t> kids;
  for (int i = 0; i < 8; ++i) {
    pid_t p = fork();
    if (p == 0) {
      int rc = 0;
      for (int round = 0; round < 20; ++round) {
        try {
          const std::string tag = std::to_string(i);
          report::write_directory_atomic(d / "run", {{"a.txt", tag}, {"b.txt", tag}});
        } catch (...) {
          rc = 1;
        }
      }
      _exit(rc);
    }
    kids.push_back(p);
  }
  for (pid_t p : kids) {
    int status = 0;
    waitpid(p, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(slurp(d / "run/a.txt"), slurp(d / "run/b.txt"));  // both files from the same writer
  EXPECT_EQ(entries(d), std::vector<std::string>{"run"});
  fs::remove_all(d);
}

TEST(WriteFileAtomic, AFullDeviceIsAnErrorNotASilentSuccess) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  EXPECT_THROW(report::write_file_atomic("/dev/full", std::string(1 << 16, 'x')), IoError);
}

TEST(WriteFileAtomic, ReplacesAFileAndLeavesNoTemporary) {
  auto d = fresh_dir("file");
  report::write_file_atomic(d / "sub/x.csv", "1\n");
  report::write_file_atomic(d / "sub/x.csv", "2\n");
  EXPECT_EQ(slurp(d / "sub/x.csv"), "2\n");
  EXPECT_EQ(entries(d / "sub"), std::vector<std::string>{"x.csv"});
  EXPECT_THROW(report::write_atomically(d / "sub/y.csv", [](const fs::path&) { throw IoError("disk full"); }), IoError);
  EXPECT_EQ(entries(d / "sub"), std::vector<std::string>{"x.csv"});
  fs::remove_all(d);
}

}  // namespace
