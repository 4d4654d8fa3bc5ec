#include "sim/plan/child_pool.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace moesim::plan {

ChildPool::ChildPool(int max_children) : max_(max_children < 1 ? 1 : max_children) {}

ChildPool::~ChildPool() {
  for (auto& c : running_) {
    kill(c.pid, SIGKILL);
    close(c.fd);
    waitpid(c.pid, nullptr, 0);
  }
}

void ChildPool::start(uint64_t tag, const std::function<std::string()>& fn) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("cannot create a pipe for a child process");
  std::fflush(nullptr);  // buffered output would otherwise be written twice
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    throw std::runtime_error("cannot fork a child process");
  }
  if (pid == 0) {
    close(fds[0]);
    for (const auto& c : running_) close(c.fd);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);  // the parent died before prctl took effect
    std::string out;
    try {
      out = "0" + fn();
    } catch (const std::exception& e) {
      out = std::string("1") + e.what();
    }
    size_t off = 0;
    while (off < out.size()) {
      const ssize_t w = write(fds[1], out.data() + off, out.size() - off);
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  running_.push_back({tag, pid, fds[0], {}});
}

ChildResult ChildPool::finish(size_t i) {
  Child c = std::move(running_[i]);
  running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(i));
  close(c.fd);
  int status = 0;
  waitpid(c.pid, &status, 0);
  ChildResult r;
  r.tag = c.tag;
  if (c.got.empty()) {
    r.crashed = true;
    r.text = WIFSIGNALED(status) ? fmt::format("the simulation process was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)))
                                 : fmt::format("the simulation process exited with status {} without a result", WEXITSTATUS(status));
    return r;
  }
  r.ok = c.got[0] == '0';
  r.text = c.got.substr(1);
  return r;
}

ChildResult ChildPool::wait_one() {
  if (running_.empty()) throw std::logic_error("ChildPool::wait_one with no child running");
  while (true) {
    std::vector<pollfd> fds;
    for (const auto& c : running_) fds.push_back({c.fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("poll failed while waiting for child processes");
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      const ssize_t n = read(running_[i].fd, buf, sizeof buf);
      if (n > 0) {
        running_[i].got.append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        return finish(i);
      }
    }
  }
}

}  // namespace moesim::plan
