// Registration of the "roofline" compute model (equation and sources in compute_model.hpp).
#include "hardware/compute_model.hpp"

namespace moesim::hw {
namespace {

RooflineParams roofline_params(const config::Table& t) {
  RooflineParams p;
  p.efficiency_ramp = t.boolean_or("efficiency_ramp", p.efficiency_ramp);
  p.launch_overhead = t.boolean_or("launch_overhead", p.launch_overhead);
  t.finish();
  return p;
}

MOESIM_REGISTER(ComputeModelRegistry, "roofline",
                "max(flops / (peak * eff(m)), bytes / memory bandwidth) + kernels * launch (Williams et al. 2009)",
                [](const config::Table& t) { return make_roofline(roofline_params(t)); });

}  // namespace
}  // namespace moesim::hw
