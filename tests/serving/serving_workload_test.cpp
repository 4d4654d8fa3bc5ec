// The "serving" workload end to end on the engine (each run in a forked child: one SimGrid engine
// per process): one request reproduces the inference workload's step times, outputs are
// byte-identical for one seed, and the step cache is exact for identical batch shapes.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "models/serving/serving_workload.hpp"
#include "sim/report/writers.hpp"

namespace moesim::serving {
namespace {

namespace fs = std::filesystem;

const char* kBase = R"(name = "serving_test"
seed = 3
[model]
preset = "mixtral_8x7b"
layers = 2
[cluster]
nodes = 1
devices_per_node = 8
device = { preset = "h100_sxm" }
[cluster.host]
link = { preset = "pcie5_x16" }
[cluster.intra_node]
kind = "nvswitch"
link = { preset = "nvswitch4" }
[parallel]
kind = "ep"
ep = 8
[routing]
kind = "popularity"
law = "zipf"
max_mean = 1.5
[output]
timeline = false
)";

fs::path temp(const std::string& name) { return fs::temp_directory_path() / fmt::format("moesim_serving_{}_{}", ::getpid(), name); }

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `workload` (a [workload] table) in a child; returns summary.json.
std::string run_summary(const std::string& workload, const fs::path& out = {}) {
  return engine::run_in_child([&] {
    auto s = scenario::read_scenario(config::Document::parse(std::string(kBase) + workload, "serving_test.toml"));
    auto r = report::run_scenario(*s, report::read_engine(*s));
    auto sum = report::summarize(*s, r);
    if (!out.empty()) report::write_outputs(*s, r, sum, out);
    return report::summary_json(sum);
  });
}

TEST(ServingWorkload, OneRequestHasTheInferenceStepTimes) {
  auto trace = temp("one.csv");
  std::ofstream(trace) << "time,prompt_tokens,output_tokens\n0,512,6\n";
  auto serving = nlohmann::json::parse(run_summary(fmt::format(R"([workload]
kind = "serving"
arrival = {{ kind = "trace", path = "{}" }}
)", trace.string())));
  auto inference = nlohmann::json::parse(run_summary(R"([workload]
kind = "inference"
batch = 1
prompt_tokens = 512
generate_tokens = 6
)"));
  const double ttft = inference["ttft_s"], tpot = inference["tpot_s"];
  EXPECT_NEAR(serving["ttft_p50_s"].get<double>(), ttft, 1e-9 * ttft);
  EXPECT_NEAR(serving["ttft_p99_s"].get<double>(), ttft, 1e-9 * ttft);
  EXPECT_NEAR(serving["tpot_p50_s"].get<double>(), tpot, 1e-9 * tpot);
  EXPECT_NEAR(serving["e2e_p99_s"].get<double>(), ttft + 5 * tpot, 1e-9 * ttft);
  EXPECT_EQ(serving["requests_out"].get<double>(), 1);
  EXPECT_EQ(serving["queue_mean_s"].get<double>(), 0);
  fs::remove(trace);
}

const char* kPoisson = R"([workload]
kind = "serving"
arrival = { kind = "poisson", rate = 40.0, requests = 60 }
prompt = { kind = "uniform", min = 64, max = 512 }
output = { kind = "uniform", min = 4, max = 24 }
scheduler = { kind = "sarathi", max_tokens = 512, max_running = 32 }
slo = { ttft = "200ms", tpot = "20ms" }
)";

TEST(ServingWorkload, SameSeedGivesByteIdenticalOutputs) {
  auto a = temp("a"), b = temp("b");
  run_summary(kPoisson, a);
  run_summary(kPoisson, b);
  for (auto f : {"summary.json", "requests.csv", "kv.csv", "steps.csv", "memory.csv"})
    EXPECT_EQ(read(a / "serving_test" / f), read(b / "serving_test" / f)) << f;
  auto j = nlohmann::json::parse(read(a / "serving_test" / "summary.json"));
  EXPECT_EQ(j["requests_in"].get<double>(), 60);
  EXPECT_EQ(j["requests_out"].get<double>(), 60);
  for (auto k : {"ttft_p50_s", "ttft_p90_s", "ttft_p99_s", "tpot_p50_s", "tpot_p90_s", "tpot_p99_s", "e2e_p99_s",
                 "throughput_tokens_per_s", "goodput_requests_per_s", "queue_mean_s", "kv_utilization_peak"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_LE(j["ttft_p50_s"].get<double>(), j["ttft_p99_s"].get<double>());
  // requests.csv: a header and one row per request.
  auto csv = read(a / "serving_test" / "requests.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 61);
  // memory.csv carries the paged K/V over time.
  EXPECT_NE(read(a / "serving_test" / "memory.csv").find(",kv_cache,"), std::string::npos);
  fs::remove_all(a), fs::remove_all(b);
}

// Routes token i to experts (i + j) mod E whatever the step: identical batch shapes give identical
// graphs, so the cache must reproduce the full simulation.
class StepFreeRouting final : public routing::IRoutingSource {
 public:
  routing::LayerRouting route(const routing::RouteRequest& q) override {
    routing::LayerRouting r;
    r.tokens = q.tokens;
    r.k = 2;
    for (int64_t t = 0; t < q.tokens; ++t)
      for (int32_t j = 0; j < 2; ++j) r.experts.push_back(static_cast<int32_t>((t * 3 + j) % 8));
    return r;
  }
};

std::string requests_with_cache(bool cache) {
  return engine::run_in_child([&] {
    const std::string w = std::string(R"([workload]
kind = "serving"
arrival = { kind = "poisson", rate = 2.0, requests = 40 }
prompt = { kind = "fixed", tokens = 128 }
output = { kind = "fixed", tokens = 12 }
scheduler = { kind = "vllm", max_tokens = 4096, max_running = 16 }
)") + (cache ? "step_cache = { enabled = true }\n" : "");
    auto s = scenario::read_scenario(config::Document::parse(std::string(kBase) + w, "serving_test.toml"));
    StepFreeRouting routing;
    auto ctx = s->context;
    ctx.routing = &routing;
    auto doc = config::Document::parse(w, "w.toml");
    auto table = config::Table::root(doc).table("workload");
    table.allow({"kind"});
    s->workload = make_serving(read_serving_params(table, s->seed), ctx);
    auto r = report::run_scenario(*s, report::read_engine(*s));
    auto m = s->workload->run_metrics(r.steps, r.graphs, r.timeline);
    return fmt::format("{}\n{}", cache ? m.at("step_cache_hits") : 0.0, s->workload->extra_outputs().at("requests.csv"));
  });
}

TEST(ServingWorkload, StepCacheIsExactForIdenticalShapesUnderStepFreeRouting) {
  std::istringstream full(requests_with_cache(false)), cached(requests_with_cache(true));
  std::string a, b;
  std::getline(full, a), std::getline(cached, b);
  EXPECT_GT(std::stod(b), 100);  // requests mostly run alone on device 0: their shapes repeat
  std::getline(full, a), std::getline(cached, b);  // headers
  int rows = 0;
  while (std::getline(full, a) && std::getline(cached, b)) {
    ++rows;
    std::stringstream sa(a), sb(b);
    std::string ca, cb;
    while (std::getline(sa, ca, ',') && std::getline(sb, cb, ','))
      if (!ca.empty() && !cb.empty()) EXPECT_NEAR(std::stod(ca), std::stod(cb), 1e-9 * std::max(1.0, std::abs(std::stod(ca)))) << a << " | " << b;
  }
  EXPECT_EQ(rows, 40);
}

}  // namespace
}  // namespace moesim::serving
