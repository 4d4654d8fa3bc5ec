#pragma once
// The parallel layout of a training run: pp pipeline stages, each a copy of the same
// (tp x ep x dp) arrangement that the sharding strategy ([parallel] kind = ep | ep_tp | fssdp ...)
// builds over one stage's devices; the pipeline schedule; ZeRO stages for the non-expert and the
// expert parameters; activation recomputation. Every builder and `moesim check` read this one
// struct, so pp composes with any sharding kind instead of a kind per combination.
//
// TOML, in [parallel] beside the sharding keys (docs/parallelism.md):
//   pp = 16                          pipeline stages (devices % pp == 0)
//   stage_layers = [4, 4, ...]       layers per model chunk (pp x virtual stages entries); default even
//   stage_placement = "consecutive"  stage s on devices [s D, (s+1) D) | "round_robin" (node blocks dealt in turn)
//   zero_stage = 1                   ZeRO stage 0..3 of the non-expert parameters
//   expert_zero_stage = 1            ZeRO stage 0..3 of the expert parameters (default zero_stage)
//   recompute = "none"               activation recomputation: none | selective | full
//   [parallel.schedule] kind = "1f1b" | "gpipe" | "interleaved_1f1b" (virtual_stages) | "zero_bubble" | "dualpipe" (overlap)
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/model_spec.hpp"
#include "models/workload/pipeline_schedule.hpp"
#include "sim/core/config.hpp"

namespace moesim::workload {

enum class Recompute : uint8_t { none, selective, full };
std::string_view recompute_name(Recompute r);

struct Layout {
  int32_t pp = 1;
  int32_t devices = 1;     // whole cluster
  std::vector<std::vector<int32_t>> stage_devices;  // global device ids of each stage (local index order)
  std::vector<int32_t> chunk_first_layer;           // chunks + 1 entries: chunk c = layers [first[c], first[c+1])
  int32_t zero_dense = 0;
  int32_t zero_expert = 0;
  Recompute recompute = Recompute::none;
  std::shared_ptr<const IPipelineSchedule> schedule;
  bool explicit_keys = false;  // any layout key was written (pp = 1 with no key keeps the plain builder)

  int32_t stage_size() const { return devices / pp; }
  int32_t chunks() const { return static_cast<int32_t>(chunk_first_layer.size()) - 1; }
  // Whether the plain (non-pipelined, replicated) training builder applies.
  bool plain() const { return pp == 1 && zero_dense == 0 && zero_expert == 0 && recompute == Recompute::none; }
};

// The default layout of `devices` devices: one stage, no ZeRO, no recomputation, 1F1B.
Layout default_layout(int64_t layers, int32_t devices);
// Reads the layout keys of [parallel] (marking them known; the sharding strategy reads the rest).
// `node_of`: node of each device. Errors name the key.
Layout read_layout(const config::Table& parallel, int64_t layers, const std::vector<int32_t>& node_of);
// Layers per chunk: explicit, or even with the remainder given to the middle chunks (the first
// holds the embedding and the last the LM head).
std::vector<int32_t> split_layers(int64_t layers, int32_t chunks, const std::vector<int64_t>& explicit_split);

}  // namespace moesim::workload
