#include "sim/report/links_csv.hpp"

#include <fmt/format.h>

namespace moesim::report {

std::string links_csv(const scenario::Scenario& sc, const RunResult& r) {
  std::string out = "step,link,bytes,capacity_Bps,step_s,utilization\n";
  const auto& topo = *sc.topology;
  for (const auto& st : r.timeline.steps) {
    const double step_s = st.end - st.start;
    for (const auto& [edge, bytes] : st.link_bytes) {
      const auto& e = topo.edge(static_cast<hw::EdgeId>(edge));
      const double cap = e.capacity();
      const double util = cap > 0 && step_s > 0 ? bytes / (cap * step_s) : 0.0;
      out += fmt::format("{},{},{:.9g},{:.9g},{:.9g},{:.9g}\n", st.step, e.name, bytes, cap, step_s, util);
    }
  }
  return out;
}

}  // namespace moesim::report
