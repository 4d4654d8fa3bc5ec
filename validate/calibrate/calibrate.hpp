#pragma once
// Calibration: fits hardware presets (hardware/spec.hpp) from microbenchmark result rows
// (docs/validation.md, "Calibration"). Pure: no SimGrid, no files written here.
//
// Deterministic split: within each series (GEMM expert_ffn rows of one dtype and thread count;
// storage O_DIRECT queue-depth-1 reads; All-to-All rows of one transport and rank count) the
// distinct sizes are sorted. When at least kMinOffGrid of them are off the power-of-two grid (the
// random sizes microbench.sh draws with a fixed seed), the grid sizes are fitted and the off-grid
// ones held out; otherwise the even-indexed ones (0, 2, 4, ...) are fitted, the odd-indexed held
// out. `moesim validate` recomputes the same split.
//
// Device (compute and memory, roofline of hardware/compute_model.hpp):
//   peak[dtype] = max flops_per_s of the square GEMMs (the device's practical peak)
//   eff(m) = eff_max · m/(m + m_half)   least squares on flops_per_s/peak of the fitted rows
//   memory_bandwidth = max(STREAM copy, triad) of the largest array, most threads;
//   memory_efficiency = triad / memory_bandwidth (so bandwidth x efficiency = triad, STREAM's rate)
// Storage (hardware/storage_model.hpp, storage_fit.cpp): t(s) = L_r + s / B_r per request-size
//   regime r; the fitted sizes cut into at most kMaxStorageRegimes contiguous ranges, each line by
//   relative least squares, the cut chosen by BIC (segments.hpp).
// Link (ipc_regimes.hpp, link_fit.cpp): one All-to-All on P ranks sharing C cores, per-pair
//   message s in regime r: T = (P−1)·o_r·f + max((P−1)·s / B_port, P(P−1)·s / B_bus) / e_r,
//   f = max(1, P/C); relative least squares over every fitted rank count, regimes by BIC.
//   Presets: NAME_ipc_<t> = one rank's port (bandwidth B_port, [[regimes]] of o_r and e_r,
//   latency 0) and NAME_ipc_<t>_bus (bandwidth B_bus), the backplane of the star `moesim
//   validate` runs the All-to-All on.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hardware/spec.hpp"
#include "validate/calibrate/rows.hpp"

namespace moesim::calibrate {

// One fitted preset: its spec and, per TOML key, the provenance comment written above the key.
template <class Spec>
struct Fitted {
  Spec spec;
  std::map<std::string, std::string> why;  // TOML key -> "from gemm.csv lines ..., residual ..."
  std::vector<const Row*> held_out;        // rows kept for `moesim validate`
  std::string split;                       // which sizes were fitted / held out
  std::vector<std::string> regime_why;     // per [[regimes]] entry (storage), in order
};

inline constexpr int kMaxStorageRegimes = 4;
inline constexpr size_t kMinOffGrid = 4;
inline constexpr int kMaxLinkRegimes = 3;


// The All-to-All where ranks outnumber the host's cores: the fit over every rank count under the
// time-sharing rule f = P/C (ipc_regimes.hpp), the host's scheduler as much as the link; in the
// link preset's comments, used by `moesim validate` only.
struct SharedCoresFit {
  hw::LinkSpec port, bus;
  std::string why;
};

struct LinkFitted : Fitted<hw::LinkSpec> {
  std::string transport;  // sm | tcp
  hw::LinkSpec bus;       // the shared memory system's aggregate rate (a switch backplane)
  std::string bus_why;
  double cores = 0;       // logical cores the ranks shared (oversubscription f = max(1, P/cores))
  // Empty: the link was fitted from every rank count under the rule f (no rank count had its own
  // cores, or none shared them); else the link is from P <= cores and this predicts P > cores.
  std::optional<SharedCoresFit> shared;
};

struct Calibration {
  std::string name;       // preset name (file stem)
  std::string host, date; // from the provenance ("vm", "2026-11-23")
  std::string gemm_dtype; // dtype of the GEMM rows fitted
  int64_t gemm_threads = 0;  // asked for (0 = the most measured), then the one fitted
  std::optional<Fitted<hw::DeviceSpec>> device;
  std::optional<Fitted<hw::StorageSpec>> storage;
  std::vector<LinkFitted> links;
  std::vector<const Row*> gemm_grouped;  // grouped_gemm (loop) rows: never fitted, all predicted
  std::vector<std::string> notes;  // what could not be fitted and why
};

// Fits the device's peak and GEMM efficiency (gemm_fit.cpp); throws InfeasibleError without rows.
void fit_gemm(const DataSet& data, Calibration& c, Fitted<hw::DeviceSpec>& f);
// Fits the storage preset (storage_fit.cpp); adds a note and no preset when the data cannot.
void fit_storage(const DataSet& data, Calibration& c);
// Fits the link and bus presets of one MPI transport (link_fit.cpp); a note when it cannot.
void fit_link(const DataSet& data, const std::string& transport, Calibration& c);
// The first value of a provenance key over the data's files ("" when absent).
std::string provenance_get(const DataSet& data, const std::string& key);

// Fits every preset the data allows. Throws InfeasibleError when nothing at all can be fitted.
// gemm_threads: the OpenBLAS thread count whose GEMM rows are fitted (0 = the most measured).
// The result's held-out and grouped rows point into `data`, which must outlive it: a temporary
// data set does not compile (found by AddressSanitizer in a test that passed one).
Calibration calibrate(const DataSet& data, const std::string& name, int64_t gemm_threads = 0);
Calibration calibrate(DataSet&& data, const std::string& name, int64_t gemm_threads = 0) = delete;

// A default preset name from the provenance: "calibrated_<host>_<yyyy_mm_dd>".
std::string default_name(const DataSet& data);

// Preset names of the link files: "<name>_ipc_<transport>".
std::string link_preset_name(const std::string& name, const std::string& transport);
std::string bus_preset_name(const std::string& name, const std::string& transport);

// TOML text of each preset (loads with hw::read_device / read_storage / read_link).
std::string device_toml(const Calibration& c, const DataSet& data);
std::string storage_toml(const Calibration& c, const DataSet& data);
std::string link_toml(const Calibration& c, const LinkFitted& l, const DataSet& data);
std::string bus_toml(const Calibration& c, const LinkFitted& l, const DataSet& data);

// The split of a series by a size key (grid vs off-grid, else even/odd): returns (fitted, held out).
struct SplitRows {
  std::vector<const Row*> fit, held_out;
  std::vector<double> fit_sizes, held_sizes;
  std::string rule;  // "power-of-two grid fitted, off-grid sizes held out" or "even/odd"
};
// A fit-grid size: a power of two or three times one (2^k, 3·2^k: two sizes an octave). Loopback
// TCP runs 2^k-byte messages up to 63% slower than their off-grid neighbours (EPYC VM 2026-12-06:
// 32 KiB 33 us, 29952 B 20 us), so a grid of powers of two alone biases every fit slow
// (docs/validation.md, "Link fit grid").
bool on_grid(double size);
template <class Key>
SplitRows split_by_size(const std::vector<const Row*>& series, Key key);

}  // namespace moesim::calibrate

#include "validate/calibrate/split.inl"
