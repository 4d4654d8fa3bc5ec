#pragma once
// Named, seeded random streams. Every random draw in moesim comes from a stream derived from the
// scenario seed and a stream name, so adding a draw in one place never shifts another's numbers.
// The generator and the distributions are implemented here (not std::*_distribution, whose output
// differs between standard libraries) so outputs are byte-identical everywhere.
#include <cstdint>
#include <string_view>

namespace moesim {

class Rng {
 public:
  Rng(uint64_t seed, std::string_view stream);
  uint64_t next_u64();                 // xoshiro256**
  double uniform();                    // [0, 1)
  double uniform(double lo, double hi);
  uint64_t below(uint64_t n);          // [0, n), unbiased
  double normal();                     // standard normal (Box-Muller)
  double exponential(double rate);
  double gamma(double shape);          // Marsaglia-Tsang, shape > 0

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

uint64_t hash_name(std::string_view s);  // FNV-1a 64

}  // namespace moesim
