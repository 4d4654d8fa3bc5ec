#include "validate/common/measure.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <random>
#include <utility>

#include <sys/resource.h>
#include <sys/mman.h>
#include <unistd.h>

#include "validate/common/stats.hpp"

namespace moesim::bench {

double monotonic_now_s() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

double process_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) * 1e-6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

Measurement measure(const std::function<void()>& op, const MeasureOptions& opt,
                    const std::function<double()>& now) {
  Measurement m;
  double first_call_s = 0;
  const int warmup = std::max(1, opt.warmup);  // at least one call sizes the batch
  for (int i = 0; i < warmup; ++i) {
    const double t0 = now();
    op();
    const double dt = now() - t0;
    first_call_s = (i == 0) ? dt : std::min(first_call_s, dt);
  }
  m.warmup = warmup;
  m.inner = choose_inner_iterations(first_call_s, opt.min_sample_s, opt.max_inner);
  double spent = 0;
  const double wall0 = now(), cpu0 = process_cpu_s();
  const int max_reps = std::max(opt.min_reps, opt.max_reps);
  for (int rep = 0; rep < max_reps; ++rep) {
    if (rep >= opt.min_reps && spent >= opt.budget_s) break;
    const double t0 = now();
    for (int64_t i = 0; i < m.inner; ++i) op();
    const double dt = now() - t0;
    spent += dt;
    m.per_call_s.push_back(dt / static_cast<double>(m.inner));
  }
  m.wall_s = now() - wall0;
  m.cpu_s = process_cpu_s() - cpu0;
  return m;
}

MeasureOptions per_pass(const MeasureOptions& opt, int passes) {
  MeasureOptions o = opt;
  o.budget_s /= passes;
  o.min_reps = std::max(1, (opt.min_reps + passes - 1) / passes);
  o.max_reps = std::max(o.min_reps, (opt.max_reps + passes - 1) / passes);
  return o;
}

std::vector<size_t> pass_order(size_t n, uint64_t shuffle_seed, int pass) {
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), size_t{0});
  if (shuffle_seed == 0) return idx;
  std::mt19937_64 g(shuffle_seed * 1000003u + uint64_t(pass));
  for (size_t i = n; i > 1; --i) std::swap(idx[i - 1], idx[size_t(g() % i)]);
  return idx;
}

void append_samples(Measurement& acc, const Measurement& m) {
  acc.per_call_s.insert(acc.per_call_s.end(), m.per_call_s.begin(), m.per_call_s.end());
  acc.inner = m.inner;
  acc.warmup = m.warmup;
  acc.wall_s += m.wall_s;
  acc.cpu_s += m.cpu_s;
}

void* alloc_read_buffer(size_t bytes) {
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t rounded = std::max(kHuge, (bytes + kHuge - 1) / kHuge * kHuge);
  void* p = nullptr;
  if (posix_memalign(&p, kHuge, rounded) != 0) return nullptr;
#if defined(MADV_HUGEPAGE)
  ::madvise(p, rounded, MADV_HUGEPAGE);  // advice only: ignored where THP is off
#endif
  return p;
}

std::string read_buffer_policy() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line, mode = "unknown";
  if (std::getline(f, line)) {
    const auto a = line.find('['), b = line.find(']');
    if (a != std::string::npos && b != std::string::npos && b > a) mode = line.substr(a + 1, b - a - 1);
  }
  return "2 MiB-aligned, whole 2 MiB pages, MADV_HUGEPAGE (THP mode " + mode + ")";
}

std::string try_drop_caches() {
  ::sync();
  std::ofstream f("/proc/sys/vm/drop_caches");
  if (!f) return std::string("not possible: ") + std::strerror(errno);
  f << "1\n";
  f.flush();
  return f ? "ok" : "not possible: write failed";
}

}  // namespace moesim::bench
