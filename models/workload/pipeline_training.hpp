#pragma once
// Training under a parallel Layout (layout.hpp) with pipeline stages, ZeRO and recomputation
// (docs/parallelism.md). The schedule orders each stage's micro-batch chunks; this
// builder turns that order into StepGraph tasks:
//  - each stage is a copy of the sharding strategy's arrangement over its devices: one
//    StepAssembler per stage builds its layers' tasks with stage-local device ids, relabelled to
//    global ids at the end of the step;
//  - a stage's slots run in order (each waits for the previous slot's last tasks on that device);
//    activations (forward) and their gradients (backward) travel between stages as send_recv
//    transfers, one per device pair (device i of stage s -> device i of the next), on the devices'
//    third stream (pipeline and data-parallel traffic on their own communicator, so they neither
//    wait for nor hold back the All-to-Alls of the comm stream);
//  - overlapped slots (DualPipe) interleave the two chunks' tasks, switching chunk at every
//    All-to-All, so each chunk's All-to-All runs under the other's computation (DeepSeek-V3 Fig. 4);
//  - zero-bubble B/W: the backward tasks keep half their time (input gradient) and one W task per
//    device holds the other half and frees the activations (Qi et al. 2024: T_B ~ T_W);
//  - recomputation: forward tasks keep only part of their activations; a recompute task before the
//    backward rebuilds them, at the cost of the chunk's forward (full) or of re-reading the dropped
//    bytes (selective);
//  - ZeRO: resident weights/gradients/optimizer per zero.hpp; the last backward of a chunk reduces
//    each layer's gradients as soon as it ends (all-reduce, reduce-scatter from stage 2), the
//    optimizer updates each rank's share, and stages 1-2 all-gather the updated weights; stage 3
//    all-gathers each chunk's weights one slot ahead of every forward and backward.
#include <memory>

#include "models/workload/layout.hpp"
#include "models/workload/training.hpp"

namespace moesim::workload {

std::unique_ptr<IWorkload> make_pipeline_training(const TrainingParams& p, const WorkloadContext& ctx);

// Memory per device (by category) from the model and the layout alone: what `moesim check` reports
// without building step graphs. Resident state per zero.hpp; activations of the micro-batches the
// schedule keeps in flight on each stage; the largest transient of one layer (All-to-All buffers,
// workspace, logits) on top.
std::vector<MemoryPeak> estimate_training_memory(const TrainingParams& p, const WorkloadContext& ctx);

}  // namespace moesim::workload
