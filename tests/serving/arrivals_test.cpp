// Arrival processes, length distributions and the request-trace reader.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "models/serving/arrivals.hpp"
#include "sim/core/errors.hpp"

namespace moesim::serving {
namespace {

namespace fs = std::filesystem;

fs::path write_temp(const std::string& name, const std::string& text) {
  fs::path p = fs::temp_directory_path() / fmt::format("moesim_serving_{}_{}", ::getpid(), name);
  std::ofstream(p) << text;
  return p;
}

std::pair<double, double> gap_mean_cv(const std::vector<RequestSpec>& r) {
  double prev = 0, sum = 0, sq = 0;
  for (const auto& q : r) {
    const double g = q.arrival - prev;
    prev = q.arrival, sum += g, sq += g * g;
  }
  const double n = static_cast<double>(r.size()), mean = sum / n;
  return {mean, std::sqrt(sq / n - mean * mean) / mean};
}

TEST(Arrivals, PoissonAndGammaHaveTheirRateAndVariation) {
  auto [m1, cv1] = gap_mean_cv(renewal_arrivals(20000, 4.0, 1.0, 1));
  EXPECT_NEAR(m1, 0.25, 0.01);
  EXPECT_NEAR(cv1, 1.0, 0.03);
  auto [m2, cv2] = gap_mean_cv(renewal_arrivals(20000, 4.0, 3.0, 1));
  EXPECT_NEAR(m2, 0.25, 0.02);
  EXPECT_NEAR(cv2, 3.0, 0.3);
  EXPECT_EQ(renewal_arrivals(50, 1.0, 1.0, 7)[49].arrival, renewal_arrivals(50, 1.0, 1.0, 7)[49].arrival);
  EXPECT_NE(renewal_arrivals(50, 1.0, 1.0, 7)[49].arrival, renewal_arrivals(50, 1.0, 1.0, 8)[49].arrival);
}

TEST(Arrivals, ReadsTheShippedAzureTrace) {
  auto r = read_request_trace(std::string(MOESIM_SOURCE_DIR) + "/scenarios/serving/traces/azure_conv_2023_first100.csv");
  ASSERT_EQ(r.size(), 100u);
  EXPECT_EQ(r[0].arrival, 0.0);
  EXPECT_EQ(r[0].prompt, 374);
  EXPECT_EQ(r[0].output, 44);
  EXPECT_NEAR(r[1].arrival, 50.9951690 - 46.6805900, 1e-6);
  EXPECT_NEAR(r[99].arrival, (16 * 60 + 29.3658130) - (15 * 60 + 46.6805900), 1e-6);
}

TEST(Arrivals, ReadsJsonlAndSecondsColumns) {
  auto j = write_temp("t.jsonl", "{\"arrival_s\": 1.5, \"prompt_tokens\": 10, \"output_tokens\": 3}\n{\"arrival_s\": 2.0, \"prompt_tokens\": 20, \"output_tokens\": 4}\n");
  auto r = read_request_trace(j.string());
  ASSERT_EQ(r.size(), 2u);
  EXPECT_DOUBLE_EQ(r[1].arrival, 0.5);
  EXPECT_EQ(r[1].prompt, 20);
  auto c = write_temp("t.csv", "time\n0\n0.5\n");
  auto rc = read_request_trace(c.string());
  EXPECT_EQ(rc[1].prompt, kLengthUnset);
  fs::remove(j), fs::remove(c);
}

void expect_error_at(const std::string& name, const std::string& text, int line, const std::string& what) {
  auto p = write_temp(name, text);
  try {
    read_request_trace(p.string());
    ADD_FAILURE() << "no error for " << text;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.where().line, line) << e.what();
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(p.filename().string()), std::string::npos) << e.what();
  }
  fs::remove(p);
}

TEST(Arrivals, BadTracesNameFileAndLine) {
  expect_error_at("a.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n0,10,2\n1,x,2\n", 3, "not a token count");
  expect_error_at("b.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n0,10\n", 2, "fields");
  expect_error_at("c.csv", "when,ContextTokens\n0,10\n", 1, "no time column");
  expect_error_at("d.csv", "TIMESTAMP\nyesterday\n", 2, "not a time");
  expect_error_at("e.jsonl", "{\"arrival_s\": 0, \"prompt\": 3}\n", 1, "unknown key");
  expect_error_at("f.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n0,10,0\n", 2, "not a token count");
  EXPECT_THROW(read_request_trace("/nonexistent/trace.csv"), IoError);
}

TEST(Lengths, DistributionsStayInRangeWithTheirMean) {
  auto doc = config::Document::parse("[a]\nkind = \"lognormal\"\nmean = 500\nsigma = 0.5\nmax = 4000\n"
                                     "[b]\nkind = \"uniform\"\nmin = 10\nmax = 20\n[c]\nkind = \"fixed\"\ntokens = 7\n", "l.toml");
  auto root = config::Table::root(doc);
  auto ln = LengthRegistry::instance().create(root.table("a"));
  auto un = LengthRegistry::instance().create(root.table("b"));
  auto fx = LengthRegistry::instance().create(root.table("c"));
  Rng rng(1, "t");
  double sum = 0;
  for (int i = 0; i < 20000; ++i) {
    const auto n = ln->sample(rng);
    ASSERT_GE(n, 1);
    ASSERT_LE(n, 4000);
    sum += static_cast<double>(n);
    const auto u = un->sample(rng);
    ASSERT_GE(u, 10);
    ASSERT_LE(u, 20);
  }
  EXPECT_NEAR(sum / 20000, 500, 10);
  EXPECT_EQ(fx->sample(rng), 7);
}

}  // namespace
}  // namespace moesim::serving
