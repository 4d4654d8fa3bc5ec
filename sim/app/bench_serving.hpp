#pragma once
// `moesim bench serving` (cmd_bench_serving.cpp): wall time and peak RSS of simulating 10,000
// Mixtral-8x7B requests on 8 x H100 (scenarios/serving/mixtral_8xh100_ep8_poisson.toml).
#include <cstdint>

namespace moesim::app {

void bench_serving(uint64_t seed);

}  // namespace moesim::app
