// timeline.json written by hand into one growing buffer. Numbers go through nlohmann's own
// double formatter (detail::to_chars, Grisu2 shortest round trip with its ".0" and exponent
// rules) and strings through the same escaping, so the bytes equal ordered_json::dump()'s.
#include "sim/report/timeline_json.hpp"

#include "sim/report/text_sink.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <nlohmann/json.hpp>

namespace moesim::report {
namespace {

// Microseconds rounded to the nanosecond, so traces stay small and stable.
double us(double seconds) { return std::round(seconds * 1e9) / 1e3; }

class JsonOut {
 public:
  explicit JsonOut(std::string& out) : out_(out) {}
  explicit JsonOut(TextSink& sink) : out_(sink.text()), sink_(&sink) {}
  JsonOut& raw(std::string_view s) {
    out_.append(s);
    return *this;
  }
  JsonOut& num(double v) {
    if (!std::isfinite(v)) return raw("null");
    char buf[64];
    const char* end = nlohmann::detail::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, static_cast<size_t>(end - buf));
    return *this;
  }
  JsonOut& num(int64_t v) {
    append_int(out_, v);
    return *this;
  }
  // A quoted string, escaped as nlohmann's dump (ensure_ascii off) escapes it.
  JsonOut& str(std::string_view s) {
    out_.push_back('"');
    const bool plain = std::none_of(s.begin(), s.end(), [](char ch) {
      return static_cast<unsigned char>(ch) < 0x20 || ch == '"' || ch == '\\';
    });
    if (plain) {
      out_.append(s);
      out_.push_back('"');
      return *this;
    }
    for (char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      switch (c) {
        case '"': out_.append("\\\""); break;
        case '\\': out_.append("\\\\"); break;
        case '\b': out_.append("\\b"); break;
        case '\f': out_.append("\\f"); break;
        case '\n': out_.append("\\n"); break;
        case '\r': out_.append("\\r"); break;
        case '\t': out_.append("\\t"); break;
        default:
          if (c < 0x20) fmt::format_to(std::back_inserter(out_), "\\u{:04x}", c);
          else out_.push_back(ch);
      }
    }
    out_.push_back('"');
    return *this;
  }
  // ,"key":
  JsonOut& key(std::string_view k) {
    out_.push_back(',');
    str(k);
    out_.push_back(':');
    return *this;
  }
  // Before each event: the separator, and the sink's chance to write out a full chunk.
  void begin_event() {
    if (sink_) sink_->spill();
    if (!first_) out_.push_back(',');
    first_ = false;
  }

 private:
  std::string& out_;
  TextSink* sink_ = nullptr;
  bool first_ = true;
};

void metadata(JsonOut& j, std::string_view what, int32_t pid, int tid, std::string_view name) {
  j.begin_event();
  j.raw("{\"name\":").str(what).raw(",\"ph\":\"M\",\"pid\":").num(int64_t{pid}).raw(",\"tid\":").num(int64_t{tid});
  j.raw(",\"args\":{\"name\":").str(name).raw("}}");
}

void flow_event(JsonOut& j, const char* ph, std::string_view op, int64_t id, int64_t ts_ns, int32_t pid, int tid) {
  j.begin_event();
  j.raw("{\"name\":").str(op).raw(",\"cat\":\"transfer\",\"ph\":\"").raw(ph).raw("\"");
  if (ph[0] == 'f') j.raw(",\"bp\":\"e\"");
  j.key("id").num(id).key("ts").num(static_cast<double>(ts_ns) / 1e3).key("pid").num(int64_t{pid}).key("tid").num(int64_t{tid});
  j.raw("}");
}

// Flow arrows (Chrome trace "s"/"f" events, drawn by Perfetto) from each transfer (a task on the
// comm or io stream) to every task that waits for it, on each shown device the two share: the
// consumer's start is bound to the arrow's end ("bp":"e", the enclosing slice).
void transfer_flows(JsonOut& j, const graph::StepGraph& g, const graph::StepTimeline& tl, int32_t shown, int64_t& flow_id) {
  for (size_t k = 0; k < g.tasks.size(); ++k) {
    const auto& consumer = g.tasks[k];
    const auto consumer_devices = graph::StepGraph::devices_of(consumer);
    for (graph::TaskId dep : consumer.deps) {
      const auto& producer = g.tasks[static_cast<size_t>(dep)];
      if (producer.stream == graph::Stream::compute) continue;
      const auto producer_devices = graph::StepGraph::devices_of(producer);
      for (int32_t d : consumer_devices) {
        if (d >= shown || std::find(producer_devices.begin(), producer_devices.end(), d) == producer_devices.end()) continue;
        ++flow_id;
        flow_event(j, "s", producer.op, flow_id, std::llround(tl.tasks[static_cast<size_t>(dep)].start * 1e9), d,
                   static_cast<int>(producer.stream));
        flow_event(j, "f", producer.op, flow_id, std::llround(tl.tasks[k].start * 1e9), d, static_cast<int>(consumer.stream));
      }
    }
  }
}

}  // namespace

int32_t timeline_devices(const scenario::Scenario& sc) {
  return static_cast<int32_t>(std::min<int64_t>(sc.topology->device_count(), sc.output.timeline_max_devices));
}

std::string timeline_json(const scenario::Scenario& sc, const RunResult& r) {
  StringSink out;
  write_timeline_json(sc, r, out);
  return out.take();
}

void write_timeline_json(const scenario::Scenario& sc, const RunResult& r, TextSink& out) {
  const int32_t shown = timeline_devices(sc);
  JsonOut j(out);
  j.raw("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[");
  for (int32_t d = 0; d < shown; ++d) {
    metadata(j, "process_name", d, 0, fmt::format("device {} (node {})", d, sc.topology->node_of(d)));
    for (auto st : {graph::Stream::compute, graph::Stream::comm, graph::Stream::io})
      metadata(j, "thread_name", d, static_cast<int>(st), graph::stream_name(st));
  }
  std::string args;  // the task's "args" object, the same for each of its devices
  int64_t flow_id = 0;
  for (size_t i = 0; i < r.graphs.size() && i < r.timeline.steps.size(); ++i) {
    const auto& g = r.graphs[i];
    const auto& tl = r.timeline.steps[i];
    for (size_t k = 0; k < g.tasks.size(); ++k) {
      const auto& t = g.tasks[k];
      args.clear();
      JsonOut a(args);
      a.raw("{\"step\":").num(g.step).key("layer").num(int64_t{t.layer}).key("micro_batch").num(int64_t{t.micro_batch});
      a.key("op").str(t.op);
      if (auto* w = std::get_if<graph::ComputeWork>(&t.work)) a.key("flops").num(w->flops.value).key("gemm_m").num(w->gemm_m);
      a.raw("}");
      // Start and end rounded to the nanosecond each, the duration their difference: adjacent
      // slices of a track touch instead of overlapping by a rounding step.
      const int64_t start_ns = std::llround(tl.tasks[k].start * 1e9), end_ns = std::llround(tl.tasks[k].end * 1e9);
      const double ts = static_cast<double>(start_ns) / 1e3, dur = static_cast<double>(end_ns - start_ns) / 1e3;
      for (int32_t d : graph::StepGraph::devices_of(t)) {
        if (d >= shown) continue;
        j.begin_event();
        j.raw("{\"name\":").str(t.name).key("cat").str(t.op).raw(",\"ph\":\"X\",\"ts\":").num(ts).key("dur").num(dur);
        j.key("pid").num(int64_t{d}).key("tid").num(int64_t{static_cast<int>(t.stream)}).key("args").raw(args).raw("}");
      }
    }
    transfer_flows(j, g, tl, shown, flow_id);
  }
  for (const auto& d : r.memory.devices) {
    if (d.device >= shown) continue;
    for (const auto& p : d.total) {
      j.begin_event();
      j.raw("{\"name\":\"memory\",\"ph\":\"C\",\"ts\":").num(us(p.time)).key("pid").num(int64_t{d.device});
      j.raw(",\"args\":{\"bytes\":").num(p.bytes).raw("}}");
    }
  }
  j.raw("]}\n");
}

}  // namespace moesim::report
