#pragma once
// Device prices in USD per device-hour: hardware/presets/prices.toml (each default with its
// source), overridden per preset by a scenario's [plan.prices] table.
#include <expected>
#include <map>
#include <string>

#include "sim/core/config.hpp"

namespace moesim::plan {

struct Price {
  double usd_per_hour = 0;
  std::string source;
};
using PriceTable = std::map<std::string, Price>;

// "2.49USD/h", "2.49 USD/h", "0.5USD/hour" -> 2.49.
std::expected<double, std::string> parse_usd_per_hour(std::string_view text);
// <data_dir>/hardware/presets/prices.toml
PriceTable default_prices();
// [plan.prices]: name = "X USD/h" or name = { price = "X USD/h", source = "..." }.
void override_prices(PriceTable& prices, const config::Table& table);

}  // namespace moesim::plan
