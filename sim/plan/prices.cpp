#include "sim/plan/prices.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace moesim::plan {
namespace {

Price read_price(const config::Table& parent, const std::string& name) {
  Price p;
  std::string text;
  std::string source = parent.path().empty() ? "" : fmt::format("{} (scenario)", parent.key_path(name));
  if (auto t = parent.table_opt(name)) {
    text = t->string("price");
    if (auto s = t->string_opt("source")) source = *s;
    t->finish();
  } else {
    text = parent.string(name);
  }
  auto v = parse_usd_per_hour(text);
  if (!v) parent.fail(name, v.error());
  p.usd_per_hour = *v;
  p.source = source;
  return p;
}

}  // namespace

std::expected<double, std::string> parse_usd_per_hour(std::string_view text) {
  std::string s;
  for (char c : text)
    if (c != ' ') s += c;
  for (std::string_view unit : {"USD/h", "USD/hour"}) {
    if (s.size() > unit.size() && s.ends_with(unit)) {
      std::string_view num(s.data(), s.size() - unit.size());
      double v = 0;
      auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
      if (ec == std::errc() && ptr == num.data() + num.size() && v >= 0 && std::isfinite(v)) return v;
    }
  }
  return std::unexpected(fmt::format("'{}' is not a price: expected a non-negative number with a unit, e.g. \"2.49USD/h\"", text));
}

PriceTable default_prices() {
  PriceTable prices;
  auto doc = config::Document::load_file(config::data_dir() / "hardware/presets/prices.toml");
  config::Table root = config::Table::root(doc);
  for (const auto& name : root.keys()) prices[name] = read_price(root, name);
  root.finish();
  return prices;
}

void override_prices(PriceTable& prices, const config::Table& table) {
  for (const auto& name : table.keys()) prices[name] = read_price(table, name);
  table.finish();
}

}  // namespace moesim::plan
