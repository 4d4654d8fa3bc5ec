// ChildPool: results come back tagged whatever order children finish in; an exception in a child
// is an error result, a child killed by a signal is reported as crashed, never a hang.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <map>
#include <stdexcept>

#include "sim/plan/child_pool.hpp"

namespace moesim::plan {
namespace {

TEST(ChildPool, ResultsErrorsAndCrashesComeBackTagged) {
  ChildPool pool(2);
  pool.start(1, [] {
    ::usleep(50000);
    return std::string("slow");
  });
  pool.start(2, [] { return std::string(200000, 'x'); });  // more than a pipe buffer
  EXPECT_TRUE(pool.full());
  std::map<uint64_t, ChildResult> got;
  while (pool.running() > 0) {
    auto r = pool.wait_one();
    got[r.tag] = r;
  }
  EXPECT_EQ(got[1].text, "slow");
  EXPECT_EQ(got[2].text.size(), 200000u);
  pool.start(3, []() -> std::string { throw std::runtime_error("bad point"); });
  auto e = pool.wait_one();
  EXPECT_FALSE(e.ok);
  EXPECT_FALSE(e.crashed);
  EXPECT_EQ(e.text, "bad point");
  pool.start(4, []() -> std::string {
    ::raise(SIGKILL);
    return "unreachable";
  });
  auto c = pool.wait_one();
  EXPECT_TRUE(c.crashed);
  EXPECT_NE(c.text.find("signal 9"), std::string::npos) << c.text;
}

}  // namespace
}  // namespace moesim::plan
