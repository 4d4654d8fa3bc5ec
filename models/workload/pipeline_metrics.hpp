#pragma once
// Pipeline metrics of one executed step (pure: graph + its timeline + the builder's labels).
//  - bubble fraction: for the first device of each stage, the share of the step during which none
//    of the stage's slots is running (a slot runs from its first compute/All-to-All task's start to
//    its last one's end); mean over stages. Pipeline sends and data-parallel collectives (third
//    stream) are not slot work.
//  - All-to-All exposed / hidden: on the same devices, the time some All-to-All (dispatch,
//    combine and their backward mirrors) that includes the device is running while its compute
//    stream is idle (exposed) or busy (hidden); mean over stages, seconds per step.
//  - span: step start to the last slot's end (the rest of the step is the gradient reductions'
//    tail and the optimizer); compute: busy time of the same devices' compute streams in their
//    slots (the optimizer excluded), mean over stages.
#include "models/workload/layout.hpp"
#include "models/workload/pipeline_build.hpp"
#include "sim/graph/timeline.hpp"

namespace moesim::workload {

struct PipelineStepMetrics {
  double bubble_fraction = 0;
  double a2a_exposed_s = 0;
  double a2a_hidden_s = 0;
  double span_s = 0;
  double compute_s = 0;
};

PipelineStepMetrics pipeline_step_metrics(const graph::StepGraph& g, const graph::StepTimeline& t,
                                          const PipelineTags& tags, const Layout& layout);

}  // namespace moesim::workload
