#include "sim/report/links_csv.hpp"

#include "sim/report/text_sink.hpp"

namespace moesim::report {

void write_links_csv(const scenario::Scenario& sc, const RunResult& r, TextSink& sink) {
  std::string& out = sink.text();
  out += "step,link,bytes,capacity_Bps,step_s,utilization\n";
  const auto& topo = *sc.topology;
  for (const auto& st : r.timeline.steps) {
    const double step_s = st.end - st.start;
    for (const auto& [edge, bytes] : st.link_bytes) {
      const auto& e = topo.edge(static_cast<hw::EdgeId>(edge));
      const double cap = e.capacity();
      const double util = cap > 0 && step_s > 0 ? bytes / (cap * step_s) : 0.0;
      append_int(out, st.step);
      out.push_back(',');
      out.append(e.name);
      for (double v : {bytes, cap, step_s, util}) {
        out.push_back(',');
        append_g9(out, v);
      }
      out.push_back('\n');
    }
    sink.spill();
  }
}

std::string links_csv(const scenario::Scenario& sc, const RunResult& r) {
  StringSink s;
  write_links_csv(sc, r, s);
  return s.take();
}

}  // namespace moesim::report
