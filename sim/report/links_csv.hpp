#pragma once
// links.csv of a run: what each network link carried in each step, and how busy that kept it.
#include <string>

#include "sim/report/pipeline.hpp"
#include "sim/scenario/scenario.hpp"

namespace moesim::report {

// Columns: step, link (topology edge name), bytes (B carried in the step), capacity_Bps (the
// link's effective bandwidth: bandwidth x lanes x efficiency, B/s), step_s (the step's duration,
// s), utilization (bytes / (capacity_Bps x step_s), 0..1: the share of the step the link would be
// busy at full rate). One row per (step, link that carried bytes), steps in order, links by edge
// index.
std::string links_csv(const scenario::Scenario& sc, const RunResult& r);
class TextSink;
void write_links_csv(const scenario::Scenario& sc, const RunResult& r, TextSink& out);  // the same, in chunks

}  // namespace moesim::report
