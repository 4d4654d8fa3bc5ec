#pragma once
// Parametric hardware descriptions (pure data, SI units). Read from hardware/presets/<catalog>/*.toml
// by the from_config functions in hardware/*.cpp; models and the engine see only these structs.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/units.hpp"

namespace moesim::hw {

// Numeric formats a device can compute in. Names are the TOML keys of [peak] tables.
enum class Dtype { fp32, tf32, bf16, fp16, fp8, int8, int4, int2 };
const std::vector<std::string>& dtype_names();
std::optional<Dtype> dtype_from_name(std::string_view name);
std::string_view dtype_name(Dtype d);
double dtype_bytes(Dtype d);  // storage bytes per element (int4 = 0.5)

// Kernel efficiency as a function of the GEMM's smallest dimension (rows per expert at small
// token counts): eff(m) = eff_max * m / (m + m_half)   [saturating model, cf. Williams et al.
// roofline + the "tile quantization" ramp seen in cuBLAS microbenchmarks]. Fitted by validate/.
//
// Shape table (`shapes` not empty): measured efficiencies eff(m, n·k) on a full grid of rows m and
// weight sizes n·k, interpolated bilinearly in (log2 m, log2 n·k) and held at the edges outside it
// (hardware/compute_model.hpp). It captures what the ramp cannot: the small-m floor (a GEMV-like
// GEMM is bound by streaming the weights), tile quantisation and thread splitting at small m, and
// the dependence on the weight matrix's size (cache-resident or not). Fitted by `moesim calibrate`.
struct GemmShapePoint {
  int64_t m = 0;     // rows
  double nk = 0;     // n·k: elements of the weight matrix
  double eff = 0;    // achieved flops / peak, call overhead included
  double align = 0;  // bytes: row-pitch alignment of the weights B (n·elem) this point was measured at;
                     // 0 = one table for every alignment
};
// Cost of the rows left over when m is not a multiple of the kernel's register tile (m mod
// tile_rows of them): per element of the weight matrix (n·k) per kernel, since the edge kernel
// that runs them streams the packed weights once more (hardware/compute_model.hpp).
struct GemmRemainder {
  int64_t rows = 0;     // leftover rows r, 1 <= r < tile_rows
  Seconds per_weight;   // extra time per weight element for those r rows
};
struct GemmEfficiency {
  double eff_max = 0.8;  // fraction of peak reached by large GEMMs
  double m_half = 64;    // rows at which half of eff_max is reached
  std::vector<GemmShapePoint> shapes;  // per align level a full (m, nk) grid; sorted by align, nk, m; empty = the ramp
  int64_t tile_rows = 0;               // rows of one register tile (the period of t(m)); 0 = no tile model
  std::vector<GemmRemainder> remainder;  // sorted by rows; used only with tile_rows > 0 and a shape table
};

// A compute device (GPU, NPU, CPU socket, phone SoC).
struct DeviceSpec {
  std::string name;      // preset name, e.g. "h100_sxm"
  std::string kind;      // "gpu" | "npu" | "cpu" | "soc"
  std::map<Dtype, FlopsPerSecond> peak;  // dense peak per dtype (no sparsity)
  Bytes memory_capacity;
  BytesPerSecond memory_bandwidth;
  double memory_efficiency = 0.8;   // achievable fraction of memory_bandwidth (STREAM-like)
  GemmEfficiency gemm;
  Seconds kernel_launch{5e-6};      // per-kernel fixed overhead
  // Per-operator dispatch cost of an eager runtime (PyTorch eager: Python + dispatcher per op),
  // paid once per framework operator a task runs (ComputeWork::operators; compute_model.hpp).
  // 0 = not modelled (fused / compiled runtimes; every preset without a measured value).
  Seconds operator_overhead{0};
  // Streaming multiprocessors (or compute units) of the device; 0 = not stated.
  int32_t sm_count = 0;
  // Bytes per second one SM of a communication kernel moves (copy in or out of a buffer, or a
  // store over NVLink): a collective running on CollectiveWork::comm_sms SMs moves at most
  // comm_sms x sm_copy_bandwidth on this device (sim/engine/decompose.cpp). 0 = not modelled.
  BytesPerSecond sm_copy_bandwidth{0};
  Bytes reserved_memory;            // runtime/context memory not available to the model
  std::string source;               // datasheet / paper / validate run for the numbers
};

// One message-size regime of a link: a message of s bytes, from <= s < the next regime's `from`,
// costs its sender `message_overhead` and moves at `efficiency` x the link's rate (LogGP-style
// per-regime parameters, Alexandrov et al., "LogGP", SPAA 1995: e.g. MPI's eager protocol below
// its limit and the rendezvous handshake above it; copies from cache vs from DRAM). Fitted for CPU
// IPC by `moesim calibrate` (validate/calibrate/link_fit.cpp).
struct LinkRegime {
  Bytes from;                // smallest message of the regime (the first regime starts at 0 B)
  Seconds message_overhead;  // LogP o of a message in this regime
  double efficiency = 1.0;   // fraction of the link's (and every hop's) rate a message reaches
};

// A link kind (NVLink4, PCIe 5 x16, IB NDR...). Bandwidth per direction.
struct LinkSpec {
  std::string name;
  BytesPerSecond bandwidth;   // per direction, per link/port
  Seconds latency;            // one-way, per hop
  double efficiency = 1.0;    // achievable fraction for large messages
  int32_t links_per_device = 1;  // links of this kind a device typically has (NVLink4 on H100: 18)
  std::string source;
  // Per-message overhead paid by the sender (LogP's o: Culler et al., "LogP: towards a realistic
  // model of parallel computation", PPoPP 1993): a rank's flows of one collective phase start
  // after it has posted all n of them, n x o late (sim/engine/decompose.cpp). 0 for
  // hardware-offloaded fabrics; fitted for CPU IPC by `moesim calibrate`.
  Seconds message_overhead{0};
  // Message-size regimes (sorted by from, first from = 0): when present they replace
  // message_overhead, and a message's bytes are carried as bytes / efficiency (decompose.cpp).
  std::vector<LinkRegime> regimes;
};

// One request-size regime of a storage device: a request of s bytes, from <= s < the next
// regime's `from`, takes latency + s / bandwidth (page-cache vs device, small vs large requests:
// each its own line, fitted by `moesim calibrate` from O_DIRECT reads; hardware/storage_model.hpp).
struct StorageRegime {
  Bytes from;                // smallest request of the regime (the first regime starts at 0 B)
  Seconds latency;           // fixed cost per request
  BytesPerSecond bandwidth;  // transfer rate of the regime
};

// A storage device (NVMe, SATA SSD, HDD, UFS, SD card): read path used for expert loads.
// Read time of a request of size s at queue depth 1: latency + s / read_bandwidth(s)
// where the sequential bandwidth applies from `sequential_threshold` up and random below;
// when `regimes` is not empty, the regime holding s gives both the latency and the bandwidth.
struct StorageSpec {
  std::string name;
  BytesPerSecond seq_read_bandwidth;
  BytesPerSecond rand_read_bandwidth;  // for small random reads (e.g. 4 KiB QD1 converted to B/s)
  BytesPerSecond write_bandwidth;
  Seconds read_latency;
  Bytes sequential_threshold;          // requests at least this large read at sequential speed
  Bytes capacity;                      // 0 = not stated
  std::vector<StorageRegime> regimes;  // sorted by `from`, first from = 0; empty = two-rate model
  std::string source;
};

// A memory tier (host DDR4/DDR5 channels, LPDDR5).
struct MemorySpec {
  std::string name;
  Bytes capacity;
  BytesPerSecond bandwidth;
  double efficiency = 0.8;
  std::string source;
};

}  // namespace moesim::hw
