#pragma once
// SLO search over simulated rows: which configurations meet every SLO, their cost, the best by the
// objective, and the Pareto front of cost per hour against throughput. Pure functions of rows.
//
//   cost_usd_per_hour            = devices x price(device)         (devices only: no hosts, network, power)
//   cost_usd_per_million_tokens  = cost_usd_per_hour / (throughput x 3600 s/h) x 1e6
//   throughput_per_device        = throughput / devices
#include <string>
#include <vector>

#include "sim/plan/plan_spec.hpp"
#include "sim/plan/rows.hpp"

namespace moesim::plan {

struct Candidate {
  Row row;                           // with "feasible", "rejected" and the cost metrics added
  bool feasible = false;
  std::vector<std::string> reasons;  // why it was rejected
  double devices = 0, throughput = 0;
  double cost_per_hour = -1;         // -1: no price for the device
  double objective = 0;              // smaller is better (maximising objectives are negated)
};

// A metric of a row by name (nlohmann's value with a default returns a dangling reference in
// 3.11.2 for json defaults: this returns a plain optional).
std::optional<double> metric(const Row& row, const std::string& name);

std::vector<Candidate> evaluate(const std::vector<Row>& rows, const PlanSpec& spec);
// The SLO and throughput metrics that no simulated ("ok") row reports (a misspelt name: every
// configuration would be rejected for it), and the sorted names the rows do report. Empty when
// no row was simulated.
std::vector<std::string> unreported_metrics(const std::vector<Row>& rows, const PlanSpec& spec, std::vector<std::string>& reported);
// Feasible candidates, best first (objective, then higher throughput, then point index).
std::vector<const Candidate*> ranked(const std::vector<Candidate>& all);
// Feasible and priced candidates not dominated in (lower cost per hour, higher throughput),
// by increasing cost.
std::vector<const Candidate*> pareto_front(const std::vector<Candidate>& all);

}  // namespace moesim::plan
