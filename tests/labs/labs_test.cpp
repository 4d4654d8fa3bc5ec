// The lab course (docs/labs/): every page has its sections and its scenario; every numeric answer
// written on a page is recomputed by the command block shown beside it and must agree within the
// tolerance the page states; every lab scenario simulates in under 5 s of CPU.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <regex>
#include <set>

#include "tests/labs/lab_pages.hpp"

namespace moesim::labs {
namespace {

std::vector<AnswerBlock> all_blocks() {
  std::vector<AnswerBlock> out;
  for (const auto& p : lab_page_paths())
    for (auto& b : read_lab_page(p).blocks) out.push_back(b);
  return out;
}

const AnswerValue* value_of(const std::string& id) {
  static const auto pages = [] {
    std::vector<LabPage> v;
    for (const auto& p : lab_page_paths()) v.push_back(read_lab_page(p));
    return v;
  }();
  for (const auto& p : pages)
    for (const auto& v : p.values)
      if (v.id == id) return &v;
  return nullptr;
}

TEST(LabPages, SixPagesWithTheirSectionsAndScenario) {
  const auto pages = lab_page_paths();
  ASSERT_EQ(pages.size(), 6u);
  const std::string index = read_lab_page(source_dir() / "docs/labs/README.md").text;
  const std::regex scenario_ref(R"(scenarios/labs/[a-z0-9_]+\.toml)");
  for (const auto& path : pages) {
    SCOPED_TRACE(path.filename().string());
    const auto page = read_lab_page(path);
    for (const char* heading : {"\n## Goals", "\n## Background", "\n## Scenario", "\n## Commands", "\n## Questions", "\n## Worked answers"})
      EXPECT_NE(page.text.find(heading), std::string::npos) << heading;
    EXPECT_NE(index.find("(" + path.filename().string() + ")"), std::string::npos) << "not linked from docs/labs/README.md";
    int scenarios = 0;
    for (std::sregex_iterator it(page.text.begin(), page.text.end(), scenario_ref), end; it != end; ++it, ++scenarios)
      EXPECT_TRUE(fs::exists(source_dir() / it->str())) << it->str();
    EXPECT_GT(scenarios, 0) << "names no scenarios/labs/ file";
    EXPECT_GE(page.blocks.size(), 2u) << "fewer than two checked answers";
  }
}

TEST(LabPages, EveryAnswerHasOneValueLineAndOneBlock) {
  std::set<std::string> block_ids, value_ids;
  for (const auto& path : lab_page_paths()) {
    const auto page = read_lab_page(path);
    for (const auto& b : page.blocks) EXPECT_TRUE(block_ids.insert(b.id).second) << "two blocks for " << b.id;
    for (const auto& v : page.values) {
      EXPECT_TRUE(value_ids.insert(v.id).second) << "two value lines for " << v.id << " (" << path.filename() << ":" << v.line << ")";
      EXPECT_GT(v.tolerance, 0.0) << v.id;
      EXPECT_LE(v.tolerance, 0.10) << v.id << ": a tolerance over 10% checks too little";
    }
  }
  EXPECT_EQ(block_ids, value_ids);
  EXPECT_GE(block_ids.size(), 12u);
}

TEST(LabPages, FiguresTheyShowAreCommitted) {
  const std::regex fig(R"(\(figures/([A-Za-z0-9_.-]+\.svg)\))");
  int n = 0;
  for (const auto& path : lab_page_paths()) {
    const auto text = read_lab_page(path).text;
    for (std::sregex_iterator it(text.begin(), text.end(), fig), end; it != end; ++it, ++n)
      EXPECT_TRUE(fs::exists(source_dir() / "docs/labs/figures" / (*it)[1].str())) << path.filename() << ": " << (*it)[1];
  }
  EXPECT_GT(n, 0);
}

// Each scenarios/labs/*.toml, run plainly, must take under 5 s of CPU (the children's user + system
// time, which other work on the machine does not inflate the way it inflates wall time).
TEST(LabScenarios, EachRunsInUnderFiveCpuSeconds) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(source_dir() / "scenarios/labs")) {
    if (e.path().extension() != ".toml") continue;
    ++n;
    rusage before{}, after{};
    getrusage(RUSAGE_CHILDREN, &before);
    const auto r = run_block("moesim run " + e.path().string() + " --out out/labs >/dev/null\n", "cpu");
    getrusage(RUSAGE_CHILDREN, &after);
    const auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
    const double cpu = secs(after.ru_utime) - secs(before.ru_utime) + secs(after.ru_stime) - secs(before.ru_stime);
    EXPECT_EQ(r.code, 0) << e.path() << "\n" << r.output;
    EXPECT_LT(cpu, 5.0) << e.path();
  }
  EXPECT_GE(n, 6);
}

class LabAnswer : public ::testing::TestWithParam<AnswerBlock> {};

TEST_P(LabAnswer, PageValueMatchesTheCommand) {
  const auto& b = GetParam();
  if (!b.needs.empty() && !fs::exists(source_dir() / b.needs))
    GTEST_SKIP() << b.id << " needs " << b.needs << ", absent here";
  const AnswerValue* v = value_of(b.id);
  ASSERT_NE(v, nullptr) << b.page << ":" << b.line << ": no value line `**" << b.id << "** ... = **N** (±T%)`";
  const auto r = run_block(b.script, b.id);
  ASSERT_EQ(r.code, 0) << b.page << ":" << b.line << "\n" << b.script << r.output;
  ASSERT_TRUE(r.value.has_value()) << "the block's last output line is not a number:\n" << r.output;
  EXPECT_TRUE(within_tolerance(*v, *r.value))
      << b.page << ":" << v->line << ": " << b.id << " is written as " << v->text << " (±" << 100 * v->tolerance
      << "%) but the command gives " << *r.value << " — update the page (scripts/labs_answers.sh --update) if the model change is intended";
}

std::string answer_name(const ::testing::TestParamInfo<AnswerBlock>& i) {
  std::string n = i.param.id;
  for (auto& c : n)
    if (c == '.') c = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Labs, LabAnswer, ::testing::ValuesIn(all_blocks()), answer_name);

}  // namespace
}  // namespace moesim::labs
