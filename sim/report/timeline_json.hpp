#pragma once
// timeline.json (Chrome trace format, opens in Perfetto): one process per device ("device 3 (node
// 0)"), one thread per stream (compute, comm, io); every task an "X" event named "L<layer>.<op>";
// a collective appears on every member's comm track; memory as "C" counter events.
#include <string>

#include "sim/report/pipeline.hpp"
#include "sim/scenario/scenario.hpp"

namespace moesim::report {

// Devices the timeline shows: all of them up to [output] timeline_max_devices, else the first
// timeline_max_devices (devices 0 .. max-1; summary.json says so in its notes).
int32_t timeline_devices(const scenario::Scenario& sc);

// The document, compact JSON, byte for byte what nlohmann::ordered_json::dump() gives for the same
// events, written straight into one string (no json tree, no per-event strings).
std::string timeline_json(const scenario::Scenario& sc, const RunResult& r);
class TextSink;
void write_timeline_json(const scenario::Scenario& sc, const RunResult& r, TextSink& out);  // the same, in chunks

}  // namespace moesim::report
