#pragma once
// "Did you mean ...?" suggestions by edit distance.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moesim {

size_t edit_distance(std::string_view a, std::string_view b);
// The candidate closest to `word`, if it is close enough to be a plausible typo.
std::optional<std::string> nearest(std::string_view word, const std::vector<std::string>& candidates);
// "a, b, c"
std::string join(const std::vector<std::string>& items, std::string_view sep = ", ");

}  // namespace moesim
