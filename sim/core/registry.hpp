#pragma once
// Registries of pluggable implementations selected by `kind`. Each implementation registers itself
// from its own .cpp with MOESIM_REGISTER; no switch over kind names exists anywhere else.
//
//   struct IRoutingSource { static constexpr const char* kInterface = "routing"; virtual ~...; };
//   MOESIM_REGISTER(IRoutingSource, "uniform", "every expert equally likely",
//                   [](const config::Table& t, const ModelSpec& m) { ...; t.finish(); return ...; });
//
// Targets holding registrations are OBJECT libraries so the registrations survive linking.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/config.hpp"

namespace moesim {

struct KindInfo {
  std::string kind;
  std::string summary;
};

// Every registry's kinds, by interface name, for `moesim list`.
class RegistryIndex {
 public:
  static void add(const std::string& interface, const std::string& kind, const std::string& summary);
  static const std::map<std::string, std::vector<KindInfo>>& all();

 private:
  static std::map<std::string, std::vector<KindInfo>>& storage();
};

template <class Interface, class... Context>
class Registry {
 public:
  using Factory = std::function<std::unique_ptr<Interface>(const config::Table&, Context...)>;

  static Registry& instance() {
    static Registry r;
    return r;
  }

  bool add(std::string kind, std::string summary, Factory factory) {
    RegistryIndex::add(Interface::kInterface, kind, summary);
    factories_[std::move(kind)] = std::move(factory);
    return true;
  }

  std::vector<std::string> kinds() const {
    std::vector<std::string> out;
    for (const auto& [k, f] : factories_) out.push_back(k);
    return out;
  }

  bool contains(const std::string& kind) const { return factories_.count(kind) > 0; }

  // Reads `kind` from the table (error lists the valid kinds, suggests the nearest) and builds it.
  std::unique_ptr<Interface> create(const config::Table& t, Context... ctx) const {
    std::string kind = t.choice("kind", kinds());
    return factories_.at(kind)(t, ctx...);
  }
  // As create(), with a default kind when the table has none.
  std::unique_ptr<Interface> create_or(const config::Table& t, const std::string& def, Context... ctx) const {
    std::string kind = t.choice_or("kind", kinds(), def);
    return factories_.at(kind)(t, ctx...);
  }

 private:
  std::map<std::string, Factory> factories_;
};

}  // namespace moesim

#define MOESIM_CONCAT_INNER(a, b) a##b
#define MOESIM_CONCAT(a, b) MOESIM_CONCAT_INNER(a, b)
// Registers one implementation; Interface may be a template-id in parentheses-free form only when
// it has no commas: use a type alias for registries with context arguments.
#define MOESIM_REGISTER(RegistryType, kind, summary, factory)                        \
  [[maybe_unused]] static const bool MOESIM_CONCAT(moesim_registered_, __LINE__) = \
      RegistryType::instance().add(kind, summary, factory)
