#pragma once
// The tasks a sharding strategy's copies cost in a training step, emitted into the
// StepGraph by the StepAssembler's hooks (models/workload/step_assembler.cpp):
//  - SparseAllGather (Hecate Sec. 3.3): every copy c of expert e on device d != owner(e) is one
//    flow of the expert's weight bytes owner -> d; all flows of a layer run concurrently as one
//    grouped task (NCCL group call of ncclBroadcast) or, per_chunk, one broadcast per expert.
//    Starts with the attention forward (overlap_attention) or after the gate (FasterMoE);
//    the dispatch waits for it. FSDP: one all_gather of every device's shard.
//  - SparseReduceScatter: the mirror (gradient bytes copy -> owner; reduce per expert; FSDP:
//    reduce_scatter), after the layer's expert backward, hidden under the attention backward.
//  - Re-materialization (Hecate-RM, ZeRO-3): copies freed after the forward combine and gathered
//    again for the backward, that gather overlapping the attention backward of the layer above.
//  - Persistent replicas: gradient all-reduce over the holders of each replicated expert (Eq. 2).
//  - Migration when owners (or persistent replicas) change between iterations: weights and
//    optimizer state of each moved expert, old owner -> new holder, before the first dispatch.
// Memory: gathered weights (weights), replica gradient buffers (gradients) on the copy holders.
#include <cstdint>
#include <map>
#include <vector>

#include "models/workload/placement.hpp"
#include "sim/graph/step_graph.hpp"

namespace moesim::workload {
class StepAssembler;
struct MicroBatch;
}  // namespace moesim::workload

namespace moesim::sharding {

using graph::TaskId;

// What the hooks remember within one step.
struct MaterializationState {
  double optimizer_bytes_per_param = 12;  // fp32 master + Adam m, v (ZeRO Sec. 3.1)
  double grad_bytes_per_param = 2;        // replica gradient buffers (fp16/bf16)
  std::map<int32_t, std::vector<TaskId>> forward_gather;   // layer -> gather of the first micro-batch (-1: migration)
  std::map<int32_t, std::vector<TaskId>> backward_gather;  // layer * 65536 + micro-batch -> RM re-gather
  std::vector<TaskId> reductions;                          // spRS / replica all-reduces (the optimizer waits)
  bool migration_done = false;
};

// Byte matrix [src_rank * n + dst_rank] of the sparse all-gather of `place` over `group`: per
// expert one ncclBroadcast from its owner to its other holders (Hecate §1.3), which NCCL runs as a
// pipelined chain: owner -> holders on its node -> the other nodes, each hop one chunk of
// `chunk_bytes` (every holder receives the chunk once; node boundaries are crossed once per node,
// not once per remote holder). The sparse reduce-scatter (ncclReduce per expert) is its transpose
// (with gradient bytes). `node_of`: node of each device id.
std::vector<double> sparse_gather_matrix(const workload::ExpertPlacement& place, const std::vector<int32_t>& group,
                                         double chunk_bytes, const std::vector<int32_t>& node_of);
// Copies (holders other than the owner) on each rank of `group`.
std::vector<int32_t> copies_per_rank(const workload::ExpertPlacement& place, const std::vector<int32_t>& group);
// (expert, from, to) moves between two placements: new owners (ephemeral copies) or every new holder
// (persistent copies), each from the expert's previous owner.
struct ExpertMove {
  int32_t expert = 0, from = 0, to = 0;
};
std::vector<ExpertMove> moves_between(const workload::ExpertPlacement& before, const workload::ExpertPlacement& after,
                                      bool persistent_copies);

// Hooks (called by StepAssembler for one EP group of one MoE layer).
std::vector<TaskId> before_dispatch(workload::StepAssembler& a, const workload::MicroBatch& mb, int32_t layer,
                                    int32_t group, const workload::ExpertPlacement& place,
                                    const std::vector<TaskId>& gate);
void after_combine(workload::StepAssembler& a, const workload::MicroBatch& mb, int32_t layer, int32_t group,
                   const workload::ExpertPlacement& place, TaskId combine);
std::vector<TaskId> before_backward(workload::StepAssembler& a, const workload::MicroBatch& mb, int32_t layer,
                                    int32_t group, const workload::ExpertPlacement& place);
void after_backward(workload::StepAssembler& a, const workload::MicroBatch& mb, int32_t layer, int32_t group,
                    const workload::ExpertPlacement& place, const std::vector<TaskId>& experts, TaskId dispatch_bwd);

}  // namespace moesim::sharding
