#include "sim/core/registry.hpp"

#include <algorithm>

namespace moesim {

std::map<std::string, std::vector<KindInfo>>& RegistryIndex::storage() {
  static std::map<std::string, std::vector<KindInfo>> s;
  return s;
}

void RegistryIndex::add(const std::string& interface, const std::string& kind, const std::string& summary) {
  auto& v = storage()[interface];
  auto it = std::find_if(v.begin(), v.end(), [&](const KindInfo& k) { return k.kind == kind; });
  if (it != v.end()) {
    it->summary = summary;
    return;
  }
  v.push_back({kind, summary});
  std::sort(v.begin(), v.end(), [](const KindInfo& a, const KindInfo& b) { return a.kind < b.kind; });
}

const std::map<std::string, std::vector<KindInfo>>& RegistryIndex::all() { return storage(); }

}  // namespace moesim
