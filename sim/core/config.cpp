#include "sim/core/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

#include "sim/core/suggest.hpp"

#ifndef MOESIM_SOURCE_DIR
#define MOESIM_SOURCE_DIR "."
#endif

namespace moesim::config {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kSetPrefix = "--set ";

Location location_of(const toml::node& n, const Location& fallback) {
  const auto& src = n.source();
  if (src.begin.line == 0) return fallback;
  Location loc;
  loc.file = src.path ? *src.path : fallback.file;
  loc.line = static_cast<int>(src.begin.line);
  loc.col = static_cast<int>(src.begin.column);
  return loc;
}

std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    default: return "a date/time";
  }
}

std::shared_ptr<toml::table> parse_or_throw(std::string_view text, const std::string& name) {
  try {
    return std::make_shared<toml::table>(toml::parse(text, name));
  } catch (const toml::parse_error& e) {
    Location loc{name, static_cast<int>(e.source().begin.line), static_cast<int>(e.source().begin.column)};
    throw ConfigError(loc, "", std::string(e.description()));
  }
}

// Moves `src` into dst[key], keeping its source location (toml++ copies drop it, moves keep it).
void move_into(toml::table& dst, std::string_view key, toml::node&& src) {
  std::move(src).visit([&](auto&& v) { dst.insert_or_assign(key, std::move(v)); });
}

// Merges `over` into `base`: keys of `over` win; tables present in both merge key by key, except a
// table of `over` that names its own preset, which replaces the base one whole.
void deep_merge(toml::table& base, toml::table& over) {
  for (auto& [k, v] : over) {
    auto* bt = base.get_as<toml::table>(k.str());
    auto* ot = v.as_table();
    if (bt && ot && !ot->contains("preset")) {
      deep_merge(*bt, *ot);
    } else {
      move_into(base, k.str(), std::move(v));
    }
  }
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: error: cannot open file", path.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

// ---------------------------------------------------------------- Document

Document Document::load_file(const fs::path& path) {
  if (!fs::exists(path)) throw IoError(fmt::format("{}: error: no such file", path.string()));
  if (fs::is_directory(path))
    throw IoError(fmt::format("{}: error: is a directory; expected a scenario .toml file", path.string()));
  Document d;
  d.source_ = path.string();
  d.root_ = parse_or_throw(read_text(path), d.source_);
  return d;
}

Document Document::parse(std::string_view text, std::string source_name) {
  Document d;
  d.source_ = std::move(source_name);
  d.root_ = parse_or_throw(text, d.source_);
  return d;
}

namespace {

// The value of a --set as a one-key TOML table {v = value} whose node carries the --set argument
// as its source. Valid TOML is taken as it is; a bare word (80GiB, h100_sxm) becomes a string;
// anything that looks like it meant to be TOML (a quote, a bracket, a brace) but does not parse is
// an error, so an unbalanced quote is never silently taken as text.
std::shared_ptr<toml::table> parse_set_value(std::string_view value, const std::string& label, const std::string& path) {
  auto fail = [&](const std::string& why) { throw ConfigError(Location{label}, path, why); };
  if (value.empty()) fail("empty value (write --set key=value)");
  try {
    return std::make_shared<toml::table>(toml::parse(fmt::format("v = {}", value), label));
  } catch (const toml::parse_error& e) {
    if (value.find_first_of("\"'[]{}") != std::string_view::npos)
      fail(fmt::format("value `{}` is not valid TOML ({}); quote strings as --set 'key=\"text\"'", value, e.description()));
  }
  for (char c : value)
    if (static_cast<unsigned char>(c) < 0x20 || c == '\\' || c == 0x7f)
      fail(fmt::format("value contains a control character or a backslash; quote it as a TOML string"));
  return std::make_shared<toml::table>(toml::parse(fmt::format("v = \"{}\"", value), label));
}

}  // namespace

void Document::apply_set(std::string_view assignment) {
  const std::string label = fmt::format("{}{}", kSetPrefix, assignment);
  auto eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    throw ConfigError(Location{label}, "", "expected --set table.key=value");
  }
  std::string path(assignment.substr(0, eq));
  while (!path.empty() && path.back() == ' ') path.pop_back();
  std::string_view value = assignment.substr(eq + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  std::shared_ptr<toml::table> parsed = parse_set_value(value, label, path);
  toml::table* t = root_.get();
  std::string_view rest = path;
  while (true) {
    auto dot = rest.find('.');
    std::string part(rest.substr(0, dot));
    if (part.empty()) throw ConfigError(Location{label}, path, "empty key in path");
    if (dot == std::string_view::npos) {
      move_into(*t, part, std::move(*parsed->get("v")));
      return;
    }
    auto* next = t->get(part);
    if (!next) {
      t->insert(part, toml::table{});
      next = t->get(part);
    }
    if (!next->is_table()) {
      throw ConfigError(Location{label}, path, fmt::format("'{}' is not a table", part));
    }
    t = next->as_table();
    rest = rest.substr(dot + 1);
  }
}

std::string Document::dump() const {
  std::ostringstream ss;
  ss << *root_;
  ss << "\n";
  return ss.str();
}

// ---------------------------------------------------------------- Table

Table::Table(std::shared_ptr<toml::table> owner, toml::table* t, std::string path, Location where)
    : owner_(std::move(owner)),
      table_(t),
      path_(std::move(path)),
      where_(std::move(where)),
      known_(std::make_shared<std::set<std::string, std::less<>>>()) {}

Table Table::root(Document& doc) {
  Location loc{doc.source_name(), 1, 1};
  // The document outlives its tables in every caller; share ownership through an aliasing pointer.
  std::shared_ptr<toml::table> alias(std::shared_ptr<toml::table>{}, &doc.root());
  return Table(alias, &doc.root(), "", loc);
}

std::string Table::key_path(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  if (key.empty()) return path_;
  return fmt::format("{}.{}", path_, key);
}

Location Table::where(std::string_view key) const {
  const toml::node* n = table_->get(key);
  return n ? location_of(*n, where_) : where_;
}

bool Table::has(std::string_view key) const {
  known_->insert(std::string(key));
  return table_->contains(key);
}

std::vector<std::string> Table::keys() const {
  std::vector<std::string> out;
  for (auto& [k, v] : *table_) out.emplace_back(k.str());
  std::sort(out.begin(), out.end());
  return out;
}

const toml::node* Table::node(std::string_view key) const {
  known_->insert(std::string(key));
  return table_->get(key);
}

const toml::node& Table::require(std::string_view key) const {
  const toml::node* n = node(key);
  if (!n) fail(key, "required key is missing");
  return *n;
}

void Table::fail(std::string_view key, std::string_view message) const {
  throw ConfigError(where(key), key_path(key), std::string(message));
}

std::string Table::string(std::string_view key) const {
  const auto& n = require(key);
  if (!n.is_string()) fail(key, fmt::format("expected a string, got {}", type_name(n)));
  return std::string(*n.value<std::string_view>());
}

double Table::number(std::string_view key) const {
  const auto& n = require(key);
  if (!n.is_number()) {
    std::string hint = n.is_string() ? " (remove the quotes, or this key takes no unit)" : "";
    fail(key, fmt::format("expected a number, got {}{}", type_name(n), hint));
  }
  double v = *n.value<double>();
  if (auto ok = check_finite(v, fmt::format("{}", v)); !ok) fail(key, ok.error());
  return v;
}

int64_t Table::integer(std::string_view key) const {
  const auto& n = require(key);
  if (!n.is_integer()) fail(key, fmt::format("expected an integer, got {}", type_name(n)));
  return *n.value<int64_t>();
}

bool Table::boolean(std::string_view key) const {
  const auto& n = require(key);
  if (!n.is_boolean()) fail(key, fmt::format("expected true or false, got {}", type_name(n)));
  return *n.value<bool>();
}

double Table::quantity_of(std::string_view key, const toml::node& n, Dimension dim) const {
  if (n.is_number()) {
    fail(key, fmt::format("a bare number needs a unit: expected {} as a string with a unit, e.g. {}",
                          dimension_name(dim), dimension_examples(dim)));
  }
  if (!n.is_string()) fail(key, fmt::format("expected {} as a string, got {}", dimension_name(dim), type_name(n)));
  auto r = parse_quantity(*n.value<std::string_view>(), dim);
  if (!r) fail(key, r.error());
  return *r;
}

double Table::quantity(std::string_view key, Dimension dim) const { return quantity_of(key, require(key), dim); }
Bytes Table::bytes(std::string_view key) const { return Bytes(quantity(key, Dimension::bytes)); }
Seconds Table::seconds(std::string_view key) const { return Seconds(quantity(key, Dimension::seconds)); }
BytesPerSecond Table::bandwidth(std::string_view key) const {
  return BytesPerSecond(quantity(key, Dimension::bytes_per_second));
}
FlopsPerSecond Table::flops_rate(std::string_view key) const {
  return FlopsPerSecond(quantity(key, Dimension::flops_per_second));
}
Flops Table::flops(std::string_view key) const { return Flops(quantity(key, Dimension::flops)); }

std::optional<double> Table::quantity_opt(std::string_view key, Dimension dim) const {
  const toml::node* n = node(key);
  if (!n) return std::nullopt;
  return quantity_of(key, *n, dim);
}
std::string Table::string_or(std::string_view key, std::string_view def) const {
  return node(key) ? string(key) : std::string(def);
}
double Table::number_or(std::string_view key, double def) const { return node(key) ? number(key) : def; }
int64_t Table::integer_or(std::string_view key, int64_t def) const { return node(key) ? integer(key) : def; }
bool Table::boolean_or(std::string_view key, bool def) const { return node(key) ? boolean(key) : def; }
Bytes Table::bytes_or(std::string_view key, Bytes def) const { return node(key) ? bytes(key) : def; }
Seconds Table::seconds_or(std::string_view key, Seconds def) const { return node(key) ? seconds(key) : def; }
BytesPerSecond Table::bandwidth_or(std::string_view key, BytesPerSecond def) const {
  return node(key) ? bandwidth(key) : def;
}
FlopsPerSecond Table::flops_rate_or(std::string_view key, FlopsPerSecond def) const {
  return node(key) ? flops_rate(key) : def;
}
std::optional<std::string> Table::string_opt(std::string_view key) const {
  if (!node(key)) return std::nullopt;
  return string(key);
}
std::optional<double> Table::number_opt(std::string_view key) const {
  if (!node(key)) return std::nullopt;
  return number(key);
}
std::optional<int64_t> Table::integer_opt(std::string_view key) const {
  if (!node(key)) return std::nullopt;
  return integer(key);
}

int64_t Table::integer_in(std::string_view key, int64_t lo, int64_t hi) const {
  int64_t v = integer(key);
  if (v < lo || v > hi) fail(key, fmt::format("{} is out of range: expected an integer in [{}, {}]", v, lo, hi));
  return v;
}
int64_t Table::integer_in_or(std::string_view key, int64_t lo, int64_t hi, int64_t def) const {
  return node(key) ? integer_in(key, lo, hi) : def;
}
double Table::number_in(std::string_view key, double lo, double hi) const {
  double v = number(key);
  if (!(v >= lo && v <= hi)) fail(key, fmt::format("{} is out of range: expected a number in [{}, {}]", v, lo, hi));
  return v;
}
double Table::number_in_or(std::string_view key, double lo, double hi, double def) const {
  return node(key) ? number_in(key, lo, hi) : def;
}

std::string Table::choice(std::string_view key, const std::vector<std::string>& valid) const {
  std::string v = string(key);
  if (std::find(valid.begin(), valid.end(), v) != valid.end()) return v;
  std::string msg = fmt::format("unknown value '{}' (valid values: {})", v, join(valid));
  if (auto n = nearest(v, valid)) msg += fmt::format("; did you mean '{}'?", *n);
  fail(key, msg);
}
std::string Table::choice_or(std::string_view key, const std::vector<std::string>& valid,
                             std::string_view def) const {
  return node(key) ? choice(key, valid) : std::string(def);
}

namespace {
template <class T>
std::vector<T> read_array(const Table& t, std::string_view key, const toml::node& n, const char* what) {
  const auto* arr = n.as_array();
  if (!arr) t.fail(key, fmt::format("expected an array of {}", what));
  std::vector<T> out;
  out.reserve(arr->size());
  for (const auto& e : *arr) {
    auto v = e.value<T>();
    if constexpr (std::is_same_v<T, int64_t>) {
      if (!e.is_integer()) v.reset();
    }
    if constexpr (std::is_same_v<T, double>) {
      if (!e.is_number()) v.reset();
    }
    if (!v) t.fail(key, fmt::format("expected an array of {}; element {} is not", what, out.size()));
    if constexpr (std::is_same_v<T, double>) {
      if (auto ok = check_finite(*v, fmt::format("element {} ({})", out.size(), *v)); !ok) t.fail(key, ok.error());
    }
    out.push_back(*v);
  }
  return out;
}
}  // namespace

std::vector<double> Table::numbers(std::string_view key) const {
  return read_array<double>(*this, key, require(key), "numbers");
}
std::vector<int64_t> Table::integers(std::string_view key) const {
  return read_array<int64_t>(*this, key, require(key), "integers");
}
std::vector<std::string> Table::strings(std::string_view key) const {
  return read_array<std::string>(*this, key, require(key), "strings");
}
std::vector<double> Table::numbers_or(std::string_view key, std::vector<double> def) const {
  return node(key) ? numbers(key) : def;
}
std::vector<int64_t> Table::integers_or(std::string_view key, std::vector<int64_t> def) const {
  return node(key) ? integers(key) : def;
}
std::vector<std::string> Table::strings_or(std::string_view key, std::vector<std::string> def) const {
  return node(key) ? strings(key) : def;
}

Table Table::table(std::string_view key) const {
  const auto& n = require(key);
  if (!n.is_table()) fail(key, fmt::format("expected a table, got {}", type_name(n)));
  return Table(owner_, const_cast<toml::table*>(n.as_table()), key_path(key), location_of(n, where_));
}

std::optional<Table> Table::table_opt(std::string_view key) const {
  if (!node(key)) return std::nullopt;
  return table(key);
}

Table Table::table_or_empty(std::string_view key) const {
  if (!node(key)) table_->insert(key, toml::table{});
  return table(key);
}

std::vector<Table> Table::tables(std::string_view key) const {
  const toml::node* n = node(key);
  std::vector<Table> out;
  if (!n) return out;
  auto* arr = const_cast<toml::array*>(n->as_array());
  if (!arr) fail(key, "expected an array of tables ([[" + key_path(key) + "]])");
  for (size_t i = 0; i < arr->size(); ++i) {
    auto* t = (*arr)[i].as_table();
    if (!t) fail(key, fmt::format("element {} is not a table", i));
    out.emplace_back(owner_, t, fmt::format("{}[{}]", key_path(key), i), location_of(*t, where(key)));
  }
  return out;
}

Table& Table::resolve_preset(std::string_view catalog) {
  for (int depth = 0; depth < 16; ++depth) {
    const toml::node* p = node("preset");
    if (!p) return *this;
    std::string name = string("preset");
    auto names = preset_names(catalog);
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      std::string msg = fmt::format("unknown preset '{}' in {} (valid values: {})", name, catalog, join(names));
      if (auto n = nearest(name, names)) msg += fmt::format("; did you mean '{}'?", *n);
      fail("preset", msg);
    }
    fs::path file = data_dir() / catalog / (name + ".toml");
    auto base = parse_or_throw(read_text(file), file.string());
    // The preset's own `preset` (inheritance) is resolved on the next turn of the loop.
    table_->erase("preset");
    deep_merge(*base, *table_);
    table_->clear();
    for (auto& [k, v] : *base) move_into(*table_, k.str(), std::move(v));
    if (!table_->contains("preset")) {
      table_->insert("resolved_from", name);
      known_->insert("resolved_from");
      return *this;
    }
  }
  fail("preset", "presets nest more than 16 deep (a cycle?)");
}

void Table::allow(std::initializer_list<std::string_view> keys) const {
  for (auto k : keys) known_->insert(std::string(k));
}

void Table::finish() const {
  known_->insert("resolved_from");
  known_->insert("source");  // every table may cite its source
  for (auto& [k, v] : *table_) {
    if (known_->count(k.str())) continue;
    std::vector<std::string> valid(known_->begin(), known_->end());
    valid.erase(std::remove_if(valid.begin(), valid.end(),
                               [](const std::string& s) { return s == "resolved_from"; }),
                valid.end());
    std::string msg = fmt::format("unknown key (valid keys here: {})", join(valid));
    if (auto n = nearest(k.str(), valid)) msg = fmt::format("unknown key; did you mean '{}'? (valid keys here: {})", *n, join(valid));
    throw ConfigError(location_of(v, where_), key_path(k.str()), msg);
  }
}

// ---------------------------------------------------------------- catalogs

fs::path data_dir() {
  if (const char* env = std::getenv("MOESIM_DATA_DIR"); env && *env) return fs::path(env);
  return fs::path(MOESIM_SOURCE_DIR);
}

std::vector<std::string> preset_names(std::string_view catalog) {
  std::vector<std::string> out;
  fs::path dir = data_dir() / catalog;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".toml") out.push_back(e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Document load_preset(std::string_view catalog, std::string_view name) {
  auto names = preset_names(catalog);
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    std::string msg = fmt::format("unknown name '{}' in {} (valid values: {})", name, catalog, join(names));
    if (auto n = nearest(name, names)) msg += fmt::format("; did you mean '{}'?", *n);
    throw ConfigError(Location{std::string(catalog)}, "", msg);
  }
  return Document::load_file(data_dir() / catalog / (std::string(name) + ".toml"));
}

}  // namespace moesim::config
