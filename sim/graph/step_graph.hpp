#pragma once
// StepGraph: the seam between pure workload builders (models/) and the SimGrid engine. One graph
// per simulated step: a DAG of tasks on devices, each on one of the device's streams, each with the
// memory it allocates when it starts and frees when it ends. Builders produce graphs; the engine
// executes any graph and returns a Timeline (sim/graph/timeline.hpp).
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "hardware/spec.hpp"
#include "sim/core/units.hpp"

namespace moesim::graph {

using DeviceId = int32_t;  // global device (rank) index, 0..P-1
using TaskId = int32_t;    // index into StepGraph::tasks

// Streams of a device: tasks on one stream run one at a time, in dependency order; different
// streams of one device run concurrently (compute overlaps communication and I/O).
enum class Stream : uint8_t { compute, comm, io };
std::string_view stream_name(Stream s);

enum class MemCategory : uint8_t {
  weights, gradients, optimizer_state, activations, kv_cache, a2a_buffers, workspace, expert_cache
};
std::string_view mem_category_name(MemCategory c);
inline constexpr int kMemCategories = 8;

struct MemDelta {
  DeviceId device = 0;
  MemCategory category = MemCategory::workspace;
  Bytes bytes;  // positive: allocated; negative: freed
};

// Computation on one device. `duration` is filled by the compute model (models/, pure) before the
// engine runs: the engine only places it in time. flops/bytes/gemm_m are kept for reports.
struct ComputeWork {
  DeviceId device = 0;
  Flops flops;
  Bytes bytes;           // bytes moved to/from device memory
  hw::Dtype dtype = hw::Dtype::bf16;
  int64_t gemm_m = 0;    // rows of the GEMM (tokens), 0 when not a GEMM
  int32_t kernels = 1;   // kernel launches it takes
  Seconds duration;      // modelled time; must be set (>= 0) before execution
  int32_t operators = 0; // eager-runtime operators it dispatches (model::eager_operators; 0 = none counted)
};

enum class CollectiveKind : uint8_t { alltoallv, all_gather, reduce_scatter, all_reduce, broadcast, reduce, send_recv };
std::string_view collective_name(CollectiveKind k);

// A collective among `group` (global device ids). For alltoallv and send_recv, `matrix` holds
// bytes[src_index * n + dst_index] over group indices (diagonal ignored: local copies). For the
// others, `bytes` is each rank's contribution (all_gather: each rank's shard; reduce_scatter and
// all_reduce: the full buffer on each rank; broadcast/reduce: the buffer at `root`).
struct CollectiveWork {
  CollectiveKind kind = CollectiveKind::alltoallv;
  std::vector<DeviceId> group;
  std::vector<double> matrix;   // n*n bytes, alltoallv/send_recv only
  Bytes bytes;                  // other kinds
  DeviceId root = 0;            // broadcast/reduce
  std::string algorithm;        // "" = the engine's configured default for this kind
  // alltoallv with the node_dedup algorithm only (optional): bytes[src_index * nodes + node] that
  // member src_index sends to node `node` (global node id) once deduplicated (a token crossing to
  // a node once however many of its experts live there). Empty = no duplicates known.
  std::vector<double> node_bytes;
  // node_dedup: true when this is a combine (the reverse of a dispatch): matrix[j][i] is what
  // expert rank j returns to token owner i, node_bytes[i][m] what node m returns to i once its
  // ranks' outputs are reduced on the forwarder (DeepEP normal combine); the flows are those of
  // the matching dispatch, reversed.
  bool combine = false;
  // Fixed costs (issue 18, docs/engine.md "Collective overheads"). message_bytes > 0: each flow is
  // ceil(bytes / message_bytes) messages, each paying its first hop's LogP overhead o (DeepEP
  // low-latency kernels send one message per token copy); 0: one message per flow (NCCL's one
  // send per peer). launch: paid once per phase by every member before its flows (the kernel
  // launch / start-up of a collective kernel; 0 = none).
  double message_bytes = 0;
  Seconds launch;
  // SMs the collective's kernel runs on (DeepEP normal kernels: Buffer.set_num_sms(24)); 0 = not
  // limited. With a device's sm_copy_bandwidth > 0, what the kernel moves on that device (sent,
  // received, forwarded: docs/engine.md "SM budget") takes at least
  // bytes / (comm_sms x sm_copy_bandwidth), whatever its links allow.
  int32_t comm_sms = 0;
};

// Host <-> device copy over the device's host link (PCIe...).
struct CopyWork {
  DeviceId device = 0;
  bool host_to_device = true;
  Bytes bytes;
};

// Reads from a storage device attached to the device's host (expert loads from flash).
struct StorageReadWork {
  DeviceId device = 0;
  Bytes bytes;
  int32_t requests = 1;   // number of separate reads (each pays the storage latency)
};

// A fixed delay on a device stream (e.g. a modelled CPU-side overhead).
struct DelayWork {
  DeviceId device = 0;
  Seconds duration;
};

using Work = std::variant<ComputeWork, CollectiveWork, CopyWork, StorageReadWork, DelayWork>;

struct Task {
  std::string name;        // "L3.expert_ffn", "L3.dispatch": layer and operator
  std::string op;          // operator class for reports: attention, gate, expert_ffn, dispatch, ...
  int32_t layer = -1;      // model layer, -1 when none
  int32_t micro_batch = 0;
  Stream stream = Stream::compute;
  Work work;
  std::vector<TaskId> deps;          // tasks that must end before this one starts
  std::vector<MemDelta> on_start;    // applied when the task starts (allocations)
  std::vector<MemDelta> on_end;      // applied when the task ends (frees, or results that persist)
};

struct StepGraph {
  int64_t step = 0;
  std::vector<Task> tasks;
  // Memory that exists before the step starts (weights, optimizer state, KV cache so far), per device.
  std::vector<MemDelta> resident;

  TaskId add(Task t) {
    tasks.push_back(std::move(t));
    return static_cast<TaskId>(tasks.size() - 1);
  }
  // Devices a task occupies (the compute device, or every member of a collective).
  static std::vector<DeviceId> devices_of(const Task& t);
  // Throws std::invalid_argument on a dependency cycle, a forward reference to a missing task, a
  // compute task without a duration, or a collective matrix of the wrong size.
  void validate() const;
};

}  // namespace moesim::graph
