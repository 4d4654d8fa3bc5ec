#pragma once
// Up to N forked children at once, each running one function and sending back its string result
// through a pipe (one SimGrid engine per process, so every simulated point needs its own process).
// A child that throws reports the exception text; one that dies (signal, out of memory) is
// reported as such. Children die with the parent (PR_SET_PDEATHSIG), so an interrupted sweep
// leaves no orphans behind.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace moesim::plan {

struct ChildResult {
  uint64_t tag = 0;
  bool ok = false;        // false: `text` is the exception message or how the child died
  bool crashed = false;   // the child died without a result (signal, exit without writing)
  std::string text;
};

class ChildPool {
 public:
  explicit ChildPool(int max_children);
  ~ChildPool();
  ChildPool(const ChildPool&) = delete;
  ChildPool& operator=(const ChildPool&) = delete;

  bool full() const { return static_cast<int>(running_.size()) >= max_; }
  size_t running() const { return running_.size(); }
  // Forks a child running fn. Throws std::runtime_error when fork/pipe fail.
  void start(uint64_t tag, const std::function<std::string()>& fn);
  // Blocks until one child has finished and returns its result (requires running() > 0).
  ChildResult wait_one();

 private:
  struct Child {
    uint64_t tag;
    int pid;
    int fd;
    std::string got;
  };
  ChildResult finish(size_t i);
  int max_;
  std::vector<Child> running_;
};

}  // namespace moesim::plan
