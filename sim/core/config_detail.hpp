#pragma once
// Internals shared by config.cpp (documents, tree walking) and config_values.cpp (typed values).
#include <string>
#include <toml++/toml.h>

namespace moesim::config::detail {

// "a string", "an integer", ... for error messages.
std::string type_name(const toml::node& n);

}  // namespace moesim::config::detail
