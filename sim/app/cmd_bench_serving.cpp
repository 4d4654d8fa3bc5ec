// `moesim bench serving`: the serving benchmark. Runs
// scenarios/serving/mixtral_8xh100_ep8_poisson.toml with 10,000 requests at 8 requests/s, once with
// the step cache as the scenario sets it (attention span rounded to 32 tokens) and reports wall
// time, peak RSS, iterations, cache hits and the headline serving metrics. Each run in a forked
// child (one SimGrid engine per process).
#include <fmt/format.h>
#include <sys/resource.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "sim/app/bench_serving.hpp"
#include "sim/report/writers.hpp"

namespace moesim::app {

void bench_serving(uint64_t seed) {
  const auto file = config::data_dir() / "scenarios/serving/mixtral_8xh100_ep8_poisson.toml";
  const std::vector<std::string> sets = {"workload.arrival.requests=10000", "workload.arrival.rate=8.0",
                                         fmt::format("seed={}", seed)};
  fmt::print("serving: {} with {}\n", file.string(), fmt::join(sets, ", "));
  std::fflush(stdout);
  const std::string out = engine::run_in_child([&] {
    const auto t0 = std::chrono::steady_clock::now();
    auto s = scenario::load_scenario(file, sets);
    auto r = report::run_scenario(*s, report::read_engine(*s));
    auto sum = report::summarize(*s, r);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    nlohmann::json j = sum.workload_metrics;
    j["wall_s"] = wall;
    j["peak_rss_mib"] = static_cast<double>(u.ru_maxrss) / 1024.0;
    j["simulated_s"] = sum.total_time;
    return j.dump();
  });
  auto j = nlohmann::json::parse(out);
  fmt::print("{:>8} {:>10} {:>12} {:>10} {:>12} {:>12} {:>12} {:>12} {:>10}\n", "wall_s", "rss_MiB", "iterations", "cache_hits",
             "simulated_s", "ttft_p99_s", "tpot_p99_s", "tokens/s", "requests");
  fmt::print("{:>8.2f} {:>10.1f} {:>12.0f} {:>10.0f} {:>12.2f} {:>12.4f} {:>12.5f} {:>12.1f} {:>10.0f}\n", j["wall_s"].get<double>(),
             j["peak_rss_mib"].get<double>(), j["iterations"].get<double>(), j.value("step_cache_hits", 0.0),
             j["simulated_s"].get<double>(), j["ttft_p99_s"].get<double>(), j["tpot_p99_s"].get<double>(),
             j["throughput_tokens_per_s"].get<double>(), j["requests_out"].get<double>());
}

}  // namespace moesim::app
