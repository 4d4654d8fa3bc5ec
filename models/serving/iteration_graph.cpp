#include "models/serving/iteration_graph.hpp"

#include "models/model_math.hpp"
#include "models/workload/step_assembler.hpp"

namespace moesim::serving {

BatchShape batch_shape(const Iteration& it, const ServingState& s, int32_t devices) {
  BatchShape b;
  b.tokens.assign(static_cast<size_t>(devices), 0);
  b.outputs.assign(static_cast<size_t>(devices), 0);
  // Causal attention: a chunk of q tokens over c cached keys attends to q (c + (q + 1) / 2) keys in
  // all and reads c + q keys' K/V once (FlashAttention IO model, model::AttentionSpan).
  double tokens = 0, attended = 0, keys = 0;
  for (const auto& c : it.chunks) {
    const auto d = static_cast<size_t>(s.sequences()[static_cast<size_t>(c.seq)].device);
    b.tokens[d] += c.tokens;
    if (c.last) ++b.outputs[d];
    const double q = static_cast<double>(c.tokens), cached = static_cast<double>(c.cached);
    tokens += q;
    attended += q * (cached + (q + 1.0) / 2.0);
    keys += cached + q;
  }
  if (tokens == 0) return b;
  // Span {Q, C} with C + (Q + 1) / 2 = attended / tokens (keys per query) and (C + Q) / Q = keys /
  // tokens (K/V read per query): Q = (M - 1/2) / (R - 1/2), C = (R - 1) Q. One request's prefill
  // gives {prompt, 0}, decodes over equal contexts {1, context}: the spans `inference` uses.
  const double M = attended / tokens, R = keys / tokens;
  b.span_queries = (M - 0.5) / (R - 0.5);
  b.span_cached = (R - 1.0) * b.span_queries;
  return b;
}

std::vector<graph::MemDelta> kv_resident(const ServingState& s, double kv_bytes_per_token) {
  std::vector<graph::MemDelta> out;
  const auto& kv = s.kv();
  for (int32_t d = 0; d < kv.devices(); ++d)
    out.push_back(graph::MemDelta{d, graph::MemCategory::kv_cache,
                                  Bytes(static_cast<double>(kv.used(d) * kv.block_tokens()) * kv_bytes_per_token)});
  return out;
}

graph::StepGraph delay_graph(double seconds, std::vector<graph::MemDelta> resident) {
  graph::StepGraph g;
  graph::Task t;
  t.name = "serving.wait";
  t.op = "wait";
  t.work = graph::DelayWork{0, Seconds(seconds)};
  g.add(std::move(t));
  g.resident = std::move(resident);
  return g;
}

workload::BuiltStep iteration_graph(const IterationGraphInput& in, const Iteration& it, const ServingState& s,
                                    const BatchShape& shape) {
  workload::BuiltStep out;
  out.graph.step = in.routing_step;
  const auto& m = *in.ctx->model;
  workload::StepAssembler a(*in.ctx, out.graph, out.info, in.capacity_factor);
  a.add_resident(a.params_per_device(in.routing_step), graph::MemCategory::weights, hw::dtype_bytes(m.weight_dtype));
  for (auto& r : kv_resident(s, in.kv_bytes_per_token)) out.graph.resident.push_back(r);
  // Swaps: K/V copied over the device's host link; a swapped-in request's K/V must be back before
  // the pass starts on its device.
  std::vector<std::vector<graph::TaskId>> swapped_in(static_cast<size_t>(a.devices()));
  for (const auto& sw : it.swaps) {
    graph::Task t;
    const double bytes = static_cast<double>(sw.tokens) * in.kv_bytes_per_token;
    if (sw.from_device >= 0) {
      // K/V of a request prefilled on another pool: one flow from its device to this one (ids local
      // to this pool until merge_graph shifts them).
      t.name = t.op = "kv_transfer";
      t.stream = graph::Stream::comm;
      graph::CollectiveWork w;
      w.kind = graph::CollectiveKind::send_recv;
      w.group = {sw.from_device - in.device_offset, sw.device};
      w.matrix = {0.0, bytes, 0.0, 0.0};
      t.work = std::move(w);
      swapped_in[static_cast<size_t>(sw.device)].push_back(out.graph.add(std::move(t)));
      continue;
    }
    t.name = sw.to_host ? "kv_swap_out" : "kv_swap_in";
    t.op = t.name;
    t.stream = graph::Stream::io;
    t.work = graph::CopyWork{sw.device, !sw.to_host, Bytes(bytes)};
    const graph::TaskId id = out.graph.add(std::move(t));
    if (!sw.to_host) swapped_in[static_cast<size_t>(sw.device)].push_back(id);
  }
  out.info.step = in.routing_step;
  out.info.phase = "swap";
  if (it.chunks.empty()) return out;
  model::AttentionSpan span{shape.span_queries, shape.span_cached, true};
  workload::MicroBatch mb = a.start(0, in.routing_step, shape.tokens, span.mean_context(), false);
  mb.attention = span;
  for (size_t d = 0; d < swapped_in.size(); ++d) mb.frontier[d] = swapped_in[d];
  for (int32_t l = 0; l < m.layers; ++l) a.forward_layer(mb, l);
  a.lm_head(mb, shape.outputs, false);
  const int64_t prefill = it.prefill_tokens(), decode = it.decode_tokens();
  out.info.phase = prefill > 0 && decode > 0 ? "mixed" : (prefill > 0 ? "prefill" : "decode");
  out.info.tokens = prefill + decode;
  int64_t outputs = 0;
  for (auto o : shape.outputs) outputs += o;
  out.info.output_tokens = outputs;
  return out;
}

}  // namespace moesim::serving
