// kinds "poisson" and "gamma": renewal arrival processes. Poisson: exponential gaps of rate lambda
// (M/./. queues). Gamma: gaps ~ Gamma(k = 1/cv^2, theta = cv^2 / lambda), mean 1/lambda, coefficient
// of variation cv (cv > 1 bursty, < 1 regular); the burstiness model of serving benchmarks
// (e.g. vLLM's benchmark_serving --burstiness = 1/cv^2).
#include "models/serving/arrivals.hpp"

namespace moesim::serving {

std::vector<RequestSpec> renewal_arrivals(int64_t n, double rate, double cv, uint64_t seed) {
  Rng rng(seed, "serving.arrivals");
  std::vector<RequestSpec> out;
  double t = 0;
  const double shape = 1.0 / (cv * cv);
  for (int64_t i = 0; i < n; ++i) {
    t += cv == 1.0 ? rng.exponential(rate) : rng.gamma(shape) / (shape * rate);
    out.push_back(RequestSpec{t, kLengthUnset, kLengthUnset});
  }
  return out;
}

namespace {

class Renewal final : public IArrivalProcess {
 public:
  Renewal(int64_t n, double rate, double cv) : n_(n), rate_(rate), cv_(cv) {}
  std::vector<RequestSpec> requests(uint64_t seed) const override { return renewal_arrivals(n_, rate_, cv_, seed); }

 private:
  int64_t n_;
  double rate_, cv_;
};

// rate: requests per second; requests: how many arrive.
std::unique_ptr<IArrivalProcess> read(const config::Table& t, bool gamma) {
  const int64_t n = t.integer_in("requests", 1, int64_t{1} << 26);
  const double rate = t.number_in("rate", 1e-9, 1e9);
  const double cv = gamma ? t.number_in("cv", 0.01, 100.0) : 1.0;
  t.finish();
  return std::make_unique<Renewal>(n, rate, cv);
}

}  // namespace

MOESIM_REGISTER(ArrivalRegistry, "poisson", "Poisson arrivals: exponential gaps, `rate` requests/s, `requests` of them",
                [](const config::Table& t) { return read(t, false); });
MOESIM_REGISTER(ArrivalRegistry, "gamma", "Gamma-renewal arrivals: `rate` requests/s with gap coefficient of variation `cv` (bursty > 1)",
                [](const config::Table& t) { return read(t, true); });

}  // namespace moesim::serving
