// `moesim show model`: runs the built binary (skipped when it is not built).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>
#include <sys/wait.h>

namespace {

struct CliRun {
  std::string out;
  int code = -1;
};

CliRun run(const std::string& args) {
  CliRun r;
  std::string cmd = std::string(MOESIM_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), p)) r.out += buf.data();
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace

TEST(ShowModel, PrintsCountsOpsAndKvCache) {
  if (!std::filesystem::exists(MOESIM_BINARY)) GTEST_SKIP() << "moesim binary not built";
  CliRun r = run("show model mixtral_8x7b");
  ASSERT_EQ(r.code, 0) << r.out;
  // 2 (K, V) x 8 kv heads x 128 x 2 B x 32 layers = 128 KiB.
  EXPECT_NE(r.out.find("kv cache per token: 128 KiB"), std::string::npos) << r.out;
  for (const char* op : {"attention_proj", "attention_core", "gate", "expert_ffn", "norm"}) {
    EXPECT_NE(r.out.find(op), std::string::npos) << op;
  }
  EXPECT_NE(r.out.find("published: 46.700B"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("context 4096"), std::string::npos) << r.out;
}

TEST(ShowModel, UnknownNameSuggests) {
  if (!std::filesystem::exists(MOESIM_BINARY)) GTEST_SKIP() << "moesim binary not built";
  CliRun r = run("show model mixtral_8x7c");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("did you mean 'mixtral_8x7b'"), std::string::npos) << r.out;
}
