#pragma once
// Reads an MoE model from a config table: `preset = "<catalog entry>"` (models/catalog/<name>.toml)
// plus any overrides, every key validated, unknown keys rejected. Schema: docs/models.md.
#include "models/model_spec.hpp"
#include "sim/core/config.hpp"

namespace moesim::model {

// Resolves t's preset against models/catalog, reads every key, validates (heads divide, top_k <=
// experts, ...) and calls finish() on every table. Throws ConfigError with file:line:col.
ModelSpec read_model(config::Table t);

// Convenience: the catalog entry `name` with no overrides (throws ConfigError when unknown).
ModelSpec load_catalog_model(std::string_view name);

// Names of the catalog entries (file stems of models/catalog/*.toml), sorted.
std::vector<std::string> catalog_model_names();

}  // namespace moesim::model
