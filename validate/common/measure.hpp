#pragma once
// The repeat loop every host benchmark uses: warm-up calls, then timed samples, each sample batching
// `inner` calls (chosen from the first warm-up so a sample lasts >= min_sample_s), until max_reps
// samples or the time budget is spent (never fewer than min_reps).
#include <cstdint>
#include <functional>
#include <vector>

#include <string>

namespace moesim::bench {

struct MeasureOptions {
  int warmup = 2;              // untimed calls before sampling (the first also sizes `inner`)
  int min_reps = 5;            // samples always taken
  int max_reps = 30;           // samples at most
  double min_sample_s = 2e-3;  // a sample lasts at least this long
  int64_t max_inner = 1 << 20;
  double budget_s = 1.0;       // stop adding samples (beyond min_reps) after this much sampling
};

struct Measurement {
  std::vector<double> per_call_s;  // one entry per sample: sample time / inner
  int64_t inner = 1;
  int warmup = 0;
  double wall_s = 0;  // of the timed samples
  double cpu_s = 0;   // process CPU time (user + system, all threads) over the same span
  // cpu_s / wall_s: ~threads when the kernel had its cores, less when others took them.
  double cpu_per_wall() const { return wall_s > 0 ? cpu_s / wall_s : 0; }
};

// User + system CPU seconds of this process so far (getrusage).
double process_cpu_s();

// Seconds from a monotonic clock (std::chrono::steady_clock).
double monotonic_now_s();

// `now` is injectable for tests; production code uses monotonic_now_s.
Measurement measure(const std::function<void()>& op, const MeasureOptions& opt,
                    const std::function<double()>& now = monotonic_now_s);

// Interleaved passes (docs/validation.md, "Drift"): a kernel measures every configuration in
// `passes` sweeps, each with per_pass(opt, passes): 1/passes of the budget and of the sample
// counts (at least one sample), appending each sweep's samples with append_samples (inner and
// warmup of the latest sweep; wall and CPU seconds summed). pass_order gives sweep `pass`'s order
// of n configurations: as listed (shuffle_seed = 0) or a Fisher-Yates shuffle driven by
// std::mt19937_64, whose output the standard fixes: the same order on every rank and machine.
MeasureOptions per_pass(const MeasureOptions& opt, int passes);
std::vector<size_t> pass_order(size_t n, uint64_t shuffle_seed, int pass);
void append_samples(Measurement& acc, const Measurement& m);

// sync, then drop the kernel's clean page cache (root only): "ok" or why not. Cold reads are
// measured after it. On a VM it also changes what the host's cache holds: on the 2026-12-06 AMD
// EPYC VM, O_DIRECT reads of a just-written file ran at 4.8 GB/s before it and 1.9-2.5 GB/s after
// (validate/data/vm-2026-12-06-epyc-storage-probe), so every kernel that reads a file it wrote
// calls it, and the storage calibration and the offload check see the same state.
std::string try_drop_caches();

// A destination buffer for O_DIRECT reads of `bytes`: 2 MiB-aligned, rounded up to whole 2 MiB
// pages, and advised to transparent huge pages (madvise MADV_HUGEPAGE) before it is touched.
// Free with std::free; nullptr when the allocation fails. On the AMD EPYC VM (virtio disk) the
// page size of the destination changed 24 MiB O_DIRECT reads from 0.7-2.0 GB/s (4 KiB pages) to
// 3.7-3.9 GB/s (2 MiB pages) (docs/validation.md, "Read buffers"), so the storage calibration and
// the offload check read into the same kind of buffer.
void* alloc_read_buffer(size_t bytes);
// What alloc_read_buffer gives here, for the provenance (with the THP mode of /sys/kernel/mm).
std::string read_buffer_policy();

}  // namespace moesim::bench
