#include "validate/common/team.hpp"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>

namespace moesim::bench {
namespace {

bool pin_to_core(int core) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(core, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

}  // namespace

Team::Team(int size, bool pin) : size_(std::max(1, size)), sync_(std::max(1, size)) {
  pin = pin && size_ <= sysconf(_SC_NPROCESSORS_ONLN);
  if (pin && !pin_to_core(0)) ++pin_failures_;
  for (int t = 1; t < size_; ++t)
    members_.emplace_back([this, t, pin] {
      if (pin && !pin_to_core(t)) ++pin_failures_;
      member_loop(t);
    });
  run([](int) {});  // every member has started (and pinned) before the first real job
  pinned_ = pin && pin_failures_ == 0;
}

Team::~Team() {
  stop_ = true;
  sync_.arrive_and_wait();
  for (auto& m : members_) m.join();
}

void Team::run(const Job& job) {
  job_ = &job;
  sync_.arrive_and_wait();  // start
  job(0);
  sync_.arrive_and_wait();  // end
}

void Team::member_loop(int t) {
  for (;;) {
    sync_.arrive_and_wait();
    if (stop_) return;
    (*job_)(t);
    sync_.arrive_and_wait();
  }
}

std::pair<std::size_t, std::size_t> slice_of(std::size_t n, int members, int t) {
  const std::size_t m = static_cast<std::size_t>(std::max(1, members));
  const std::size_t per = (n + m - 1) / m;
  const std::size_t b = std::min(n, per * static_cast<std::size_t>(t));
  return {b, std::min(n, b + per)};
}

}  // namespace moesim::bench
