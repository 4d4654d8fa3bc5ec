#include "models/serving/server.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "sim/core/errors.hpp"

namespace moesim::serving {

Server::Server(std::vector<RequestSpec> requests, KvCache kv, Preemption preemption, std::unique_ptr<IScheduler> scheduler)
    : state_(std::move(requests), std::move(kv), preemption), scheduler_(std::move(scheduler)) {
  std::vector<RequestSpec> specs;
  for (const auto& s : state_.sequences()) specs.push_back(s.spec);
  scheduler_->check(specs, state_.kv());
}

Iteration Server::next(double now, bool others_feed_me) {
  state_.admit_arrivals(now);
  Iteration it = scheduler_->schedule(state_);
  ++iterations_;
  if (!it.empty()) return it;
  const double next = state_.next_arrival();
  if (next < 0 && others_feed_me && state_.waiting().empty()) return it;
  if (next < 0)
    throw InfeasibleError(fmt::format("serving: at {} s, {} request(s) wait and none can be scheduled (K/V blocks free per device: {})",
                                      now, state_.waiting().size() + state_.swapped().size(), state_.kv().free_blocks(0)));
  it.idle_until = std::max(next, now);
  return it;
}

void Server::complete(const Iteration& it, double end) { state_.complete(it, end); }

double simulate(Server& server, const std::function<double(const Iteration&, const ServingState&)>& step_time) {
  double now = 0;
  while (!server.done()) {
    Iteration it = server.next(now);
    now = it.idle_until >= 0 ? it.idle_until : now + step_time(it, server.state());
    server.complete(it, now);
  }
  return now;
}

double nearest_rank(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size(), std::max<size_t>(rank, 1)) - 1];
}

namespace {

double tpot(const Sequence& s) {
  return s.spec.output > 1 ? (s.finish - s.first_token) / static_cast<double>(s.spec.output - 1) : -1.0;
}

std::string num(double v) { return fmt::format("{:.9g}", v); }

}  // namespace

std::string requests_csv(const std::vector<Sequence>& seqs) {
  std::string out = "request,arrival_s,first_scheduled_s,first_token_s,finish_s,ttft_s,tpot_s,e2e_s,queue_s,prompt_tokens,output_tokens,preemptions,recomputes,swaps\n";
  for (const auto& s : seqs) {
    const double t = tpot(s);
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", s.id, num(s.spec.arrival), num(s.first_scheduled),
                       num(s.first_token), num(s.finish), num(s.first_token - s.spec.arrival), t < 0 ? "" : num(t),
                       num(s.finish - s.spec.arrival), num(s.first_scheduled - s.spec.arrival), s.spec.prompt, s.spec.output,
                       s.preemptions, s.recomputes, s.swaps);
  }
  return out;
}

std::map<std::string, double> serving_metrics(const std::vector<Sequence>& seqs, const Slo& slo) {
  std::vector<double> ttft, tpots, e2e, queue;
  double end = 0, tokens = 0, good = 0, preemptions = 0, recomputes = 0, swaps = 0, out = 0;
  for (const auto& s : seqs) {
    preemptions += s.preemptions, recomputes += s.recomputes, swaps += s.swaps;
    if (s.finish < 0) continue;
    ++out;
    ttft.push_back(s.first_token - s.spec.arrival);
    e2e.push_back(s.finish - s.spec.arrival);
    queue.push_back(s.first_scheduled - s.spec.arrival);
    const double t = tpot(s);
    if (t >= 0) tpots.push_back(t);
    end = std::max(end, s.finish);
    tokens += static_cast<double>(s.spec.output);
    if (ttft.back() <= slo.ttft && t <= slo.tpot) ++good;
  }
  std::map<std::string, double> m;
  m["requests_in"] = static_cast<double>(seqs.size());
  m["requests_out"] = out;
  m["preemptions"] = preemptions;
  m["recomputes"] = recomputes;
  m["swaps"] = swaps;
  if (ttft.empty()) return m;
  for (auto [q, name] : {std::pair{0.5, "p50"}, {0.9, "p90"}, {0.99, "p99"}}) {
    m[fmt::format("ttft_{}_s", name)] = nearest_rank(ttft, q);
    if (!tpots.empty()) m[fmt::format("tpot_{}_s", name)] = nearest_rank(tpots, q);
    m[fmt::format("e2e_{}_s", name)] = nearest_rank(e2e, q);
  }
  double qsum = 0;
  for (double q : queue) qsum += q;
  m["queue_mean_s"] = qsum / static_cast<double>(queue.size());
  m["queue_p99_s"] = nearest_rank(queue, 0.99);
  m["throughput_tokens_per_s"] = end > 0 ? tokens / end : 0;
  m["goodput_requests_per_s"] = end > 0 ? good / end : 0;
  m["slo_attainment"] = good / out;
  return m;
}

}  // namespace moesim::serving
