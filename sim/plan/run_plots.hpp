#pragma once
// Plots of one run's output folder (out/<name>/, written by `moesim run`): data + gnuplot script
// beside the files they read (sim/plan/gnuplot.hpp). Throw IoError for a missing/unreadable file.
#include <filesystem>

#include "sim/plan/gnuplot.hpp"

namespace moesim::plan {

// memory.csv: one device's memory over time, one step line per category and the total
// (device < 0: the device with the highest peak). -> memory_device<d>.{dat,gp,svg}
PlotFiles plot_memory(const std::filesystem::path& run_dir, int device);
// timeline.json: time of the routed-expert tasks (op expert_ffn*, forward and backward) per
// device per MoE layer, summed over steps: with expert parallelism, each device's expert load.
// -> expert_load.{dat,gp,svg}
PlotFiles plot_expert_load(const std::filesystem::path& run_dir);
// timeline.json: every task of one step on its device/stream lane (step < 0: the last); the chain
// of latest-finishing predecessors from the step's last task highlighted: the critical path as far
// as the trace shows it (it stores no dependency edges, so a predecessor is the task that ended
// last before a task began, preferring the same device). -> timeline_step<s>.{dat,gp,svg}
PlotFiles plot_timeline(const std::filesystem::path& run_dir, int step);
// links.csv: utilization per step of the `top` links that carried the most bytes over the run
// (top <= 0: every link that carried bytes), busiest first. -> link_utilization.{dat,gp,svg}
PlotFiles plot_link_utilization(const std::filesystem::path& run_dir, int top);

}  // namespace moesim::plan
