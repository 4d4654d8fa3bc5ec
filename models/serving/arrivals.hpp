#pragma once
// Where requests come from (docs/serving.md): an arrival process gives each request's arrival time
// (and, from a trace, its prompt and output lengths); length distributions give the lengths a
// process leaves open. Pluggable: IArrivalProcess (registry "arrival", [workload.arrival] kind =
// "poisson" | "gamma" | "trace") and ILengthDistribution (registry "length", [workload.prompt] /
// [workload.output] kind = "fixed" | "uniform" | "lognormal"); each kind is one .cpp.
#include <cstdint>
#include <memory>
#include <vector>

#include "models/serving/serving_state.hpp"
#include "sim/core/registry.hpp"
#include "sim/core/rng.hpp"

namespace moesim::serving {

inline constexpr int64_t kLengthUnset = -1;

class IArrivalProcess {
 public:
  static constexpr const char* kInterface = "arrival";
  virtual ~IArrivalProcess() = default;
  // Requests in arrival order; prompt/output are kLengthUnset where the process does not say.
  virtual std::vector<RequestSpec> requests(uint64_t seed) const = 0;
};
using ArrivalRegistry = Registry<IArrivalProcess>;

class ILengthDistribution {
 public:
  static constexpr const char* kInterface = "length";
  virtual ~ILengthDistribution() = default;
  virtual int64_t sample(Rng& rng) const = 0;  // >= 1
};
using LengthRegistry = Registry<ILengthDistribution>;

// Renewal process with i.i.d. gaps of mean 1/rate: n arrivals from t = 0 (the first at the first gap).
// cv = 1 exponential gaps (Poisson); otherwise Gamma(shape 1/cv^2, scale cv^2/rate) gaps.
std::vector<RequestSpec> renewal_arrivals(int64_t n, double rate, double cv, uint64_t seed);

// Reads a request trace: CSV with a header naming (case-insensitive) a time column
// (TIMESTAMP | arrival_time | arrival_s | time), and optionally ContextTokens | prompt_tokens and
// GeneratedTokens | output_tokens (Azure LLM inference trace form); or JSONL with the same keys.
// TIMESTAMP may be seconds or an ISO-8601 date-time ("2023-11-16 18:15:46.6805900"); times are made
// relative to the first request. Errors name the file and line.
std::vector<RequestSpec> read_request_trace(const std::string& path);

}  // namespace moesim::serving
