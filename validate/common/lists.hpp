#pragma once
// Parameter lists of the benchmark command lines ("1,2,4", "64KiB,1MiB", "1..4096") and the token
// splits that model MoE routing skew.
#include <cstdint>
#include <string>
#include <vector>

namespace moesim::bench {

// "1,2,4" or a doubling range "1..4096" (1,2,4,...,4096), or a mix "1..8,100". Throws ConfigError
// (key = `what`) on a malformed list.
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what);

// Sizes with units, "64KiB,1MiB,256MiB" or a range "1KiB..64MiB" stepping by `range_factor`.
std::vector<int64_t> parse_size_list(const std::string& text, const std::string& what,
                                     int64_t range_factor = 2);

// Splits `total` items over `parts` so that part i gets a share proportional to 1/(i+1)^s
// (Zipf; s = 0 is uniform), largest remainders rounding, summing exactly to total. The shape of
// expert load under skewed routing (cf. the hot experts of Switch/Mixtral traces).
std::vector<int64_t> zipf_split(int64_t total, int64_t parts, double s);

// "1KiB", "64MiB", "1.5GiB"-style label for a byte count (exact binary units where they divide).
std::string size_label(int64_t bytes);

}  // namespace moesim::bench
