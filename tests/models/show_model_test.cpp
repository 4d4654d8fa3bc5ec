// `moesim show model`: runs the built binary (skipped when it is not built).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>
#include <sys/wait.h>

#include "tests/support/cli.hpp"

namespace {

struct CliRun {
  std::string out;
  int code = -1;
};

CliRun run(const std::string& args) {
  auto r = moesim::test_support::run_moesim(args);
  return {r.output, r.code};
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
