#pragma once
// Predictions of held-out microbenchmark rows through the engine: each row becomes one step of a
// StepGraph (a GEMM = one compute task timed by the roofline, hw::op_time; a block read = one
// storage-read task; an All-to-All = one alltoallv collective on a star of P devices whose links
// are the calibrated link), all steps run by the SimGrid engine in a forked child (one engine per
// process), and the predicted time of a row is its task's end - start.
#include <string>
#include <vector>

#include "hardware/spec.hpp"
#include "validate/calibrate/calibrate.hpp"
#include "validate/calibrate/fit.hpp"
#include "validate/calibrate/rows.hpp"

namespace moesim::calibrate {

struct Prediction {
  std::string component;  // gemm | storage | link_<transport>
  const Row* row = nullptr;
  double predicted_s = 0;
  double measured_s = 0;   // the row's median_s
  double ape = 0;          // absolute percentage error
  std::string basis;       // what the model used for this point (the regime, the tile split), for reports
};

std::vector<Prediction> predict_gemm(const hw::DeviceSpec& dev, const std::vector<const Row*>& rows);
// A grouped GEMM (mb_gemm's loop of one call per expert; rows per expert recomputed with
// zipf_split from the row's tokens and skew) = the sum of its calls' op_time: no fitted constant.
std::vector<Prediction> predict_grouped(const hw::DeviceSpec& dev, const std::vector<const Row*>& rows);
std::vector<Prediction> predict_storage(const hw::DeviceSpec& dev, const hw::StorageSpec& st,
                                        const std::vector<const Row*>& rows);
// The All-to-All runs on a star of P ranks whose port is `link` and whose backplane is `bus`
// (component link_<transport>). With more ranks than `cores` (component link_<transport>_shared)
// each rank's message overhead stretches by f = P / cores (the ranks time-share the cores;
// ipc_regimes.hpp), on `shared`'s port and bus when given (the fit over every rank count).
std::vector<Prediction> predict_link(const hw::DeviceSpec& dev, const hw::LinkSpec& link, const hw::LinkSpec& bus, double cores,
                                     const std::optional<SharedCoresFit>& shared, const std::string& transport,
                                     const std::vector<const Row*>& rows);

// A prediction is "off" when its error exceeds this (percent).
inline constexpr double kOffPercent = 25.0;

}  // namespace moesim::calibrate
