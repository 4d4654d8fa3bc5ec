#pragma once
// A team of threads that run one job together: the caller is member 0, the others wait on a
// barrier between jobs (no thread creation inside a timed region). Members may be pinned one per
// core when there are enough online cores.
#include <atomic>
#include <barrier>
#include <functional>
#include <thread>
#include <vector>

namespace moesim::bench {

class Team {
 public:
  using Job = std::function<void(int member)>;

  // pin: try to pin member t to core t (only when size <= online cores); pinned() says if it held.
  Team(int size, bool pin);
  ~Team();
  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;

  int size() const { return size_; }
  bool pinned() const { return pinned_; }
  // Runs job(t) on every member t and returns when all have finished.
  void run(const Job& job);

 private:
  void member_loop(int t);

  int size_;
  std::barrier<> sync_;
  std::vector<std::thread> members_;
  std::atomic<bool> stop_{false};
  std::atomic<int> pin_failures_{0};
  bool pinned_ = false;
  const Job* job_ = nullptr;
};

// [begin, end) of member t's share when n items are split in equal contiguous slices.
std::pair<std::size_t, std::size_t> slice_of(std::size_t n, int members, int t);

}  // namespace moesim::bench
