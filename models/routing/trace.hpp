#pragma once
// The canonical in-memory routing trace and its readers and writers. A trace holds, per step and
// per logged MoE layer, the routing of every token (expert ids, gate weights, dropped marks) or,
// for load-only traces (per-layer expert-load matrices as DeepSeek's EPLB consumes), only the
// number of tokens each expert received. Formats are documented in docs/routing.md.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "models/routing/routing.hpp"

namespace moesim::routing {

struct TraceMeta {
  int32_t num_experts = 0;  // ids are in [0, num_experts)
  int32_t top_k = 0;        // nominal k (a layer may hold more slots for variable k)
  std::string model;        // free text, e.g. "allenai/OLMoE-1B-7B-0924"
  std::string source;       // where it came from (file, generator kind)
  bool load_only = false;   // layers hold `load`, not per-token routing
  bool operator==(const TraceMeta&) const = default;
};

struct TraceLayer {
  int32_t layer = 0;            // MoE layer index as logged
  LayerRouting routing;         // empty when the trace is load-only
  std::vector<int64_t> load;    // load-only traces: tokens per expert (size num_experts)
};

struct TraceStep {
  int64_t step = 0;
  std::vector<TraceLayer> layers;  // in increasing `layer` order
};

struct Trace {
  TraceMeta meta;
  std::vector<TraceStep> steps;  // in increasing `step` order

  int64_t selections() const;              // non-null, non-dropped slots (or total load)
  std::vector<int32_t> layer_ids() const;  // distinct logged layers, sorted
};

bool operator==(const LayerRouting& a, const LayerRouting& b);
bool operator==(const TraceLayer& a, const TraceLayer& b);
bool operator==(const TraceStep& a, const TraceStep& b);
bool operator==(const Trace& a, const Trace& b);

// Limits every reader enforces (validate_trace): they keep sizes and sums far from integer
// overflow (tokens x k, summed loads) while staying far above any real trace.
inline constexpr int32_t kMaxTraceExperts = 1 << 20;
inline constexpr int32_t kMaxTraceK = 1 << 16;
inline constexpr size_t kMaxTraceSlots = size_t{1} << 40;  // tokens x k of one layer
inline constexpr int64_t kMaxLoad = int64_t{1} << 40;      // tokens one expert receives in one layer

// Checks the invariants every reader guarantees (ids in range, sizes, monotone steps and layers);
// throws ConfigError naming `source` on the first violation.
void validate_trace(const Trace& trace, const std::string& source);

// Formats. `infer_format` picks one from the extension and, for .jsonl/.csv, the first line.
enum class TraceFormat { jsonl, binary, vllm_jsonl, csv, npy, load_matrix };
std::vector<std::string> trace_format_names();
TraceFormat parse_trace_format(const std::string& name);  // throws ConfigError listing the names
std::string trace_format_name(TraceFormat f);
TraceFormat infer_trace_format(const std::filesystem::path& path);  // throws ConfigError

Trace read_trace(const std::filesystem::path& path, TraceFormat format);
Trace read_trace(const std::filesystem::path& path);  // inferred format
void write_trace(const Trace& trace, const std::filesystem::path& path, TraceFormat format);

// One reader/writer per format (each in its own .cpp). Readers throw ConfigError
// "file:line: error: record: what" (binary: the byte offset and block number) and IoError.
Trace read_jsonl(const std::filesystem::path& path);
void write_jsonl(const Trace& trace, const std::filesystem::path& path);
Trace read_binary(const std::filesystem::path& path);
void write_binary(const Trace& trace, const std::filesystem::path& path);
Trace read_vllm_jsonl(const std::filesystem::path& path);
Trace read_csv(const std::filesystem::path& path);
void write_csv(const Trace& trace, const std::filesystem::path& path);
// A .npy of integer expert ids: [tokens, k] (one layer) or [layers, tokens, k]; or a directory of
// such 2-D files, one per layer, ordered by the number in their names (layer_0.npy, layer_1.npy).
Trace read_npy(const std::filesystem::path& path);
void write_npy(const Trace& trace, const std::filesystem::path& path);  // ids only: [layers, tokens, k]
// Text expert-load matrix: one row per layer, one column per expert, numbers separated by commas or
// blanks; '#' starts a comment; a blank line between blocks starts the next step.
Trace read_load_matrix(const std::filesystem::path& path);
void write_load_matrix(const Trace& trace, const std::filesystem::path& path);

// Reduces a per-token trace to its load matrix (tokens per expert, dropped and null slots excluded).
Trace to_load_only(const Trace& trace);

}  // namespace moesim::routing

namespace moesim::routing {

// Runs a source for steps 0..steps-1, every MoE layer of the context, `tokens` tokens a step.
Trace record_trace(IRoutingSource& source, const RoutingContext& ctx, int64_t steps, int64_t tokens, std::string source_name);

// Replays a trace as a routing source (kind "trace"). Rules (also reported through notes()):
//  - layers: a model layer the trace logged is replayed as logged; any other layer l reuses logged
//    layer ids[l mod n] (n = number of logged layers);
//  - tokens: when step s exists in the trace with exactly the requested token count it is replayed
//    as is; otherwise tokens come from the layer's tokens of all steps concatenated in order, read
//    cyclically from offset (s * tokens) mod total;
//  - load-only traces: each step's loads are scaled to tokens * k selections (largest remainder, an
//    expert capped at every token) and laid out column-major over a tokens x k grid, so each token's
//    experts are distinct; gates 1/k;
//  - a trace with more experts than the model is an error; fewer is noted.
std::unique_ptr<IRoutingSource> make_trace_replay(Trace trace, const RoutingContext& ctx);

}  // namespace moesim::routing
