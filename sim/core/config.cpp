#include "sim/core/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

#include "sim/core/config_detail.hpp"
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

}  // namespace

std::string detail::type_name(const toml::node& n) {
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

namespace {

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
  try {
    return std::make_shared<toml::table>(toml::parse(fmt::format("v = \"{}\"", value), label));
  } catch (const toml::parse_error& e) {  // e.g. bytes that are not UTF-8
    fail(fmt::format("value is not valid as a TOML string ({})", e.description()));
  }
  return nullptr;  // not reached: fail throws
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

// ---------------------------------------------------------------- Table: walking the tree
// (reading typed values: config_values.cpp)

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

Table Table::table(std::string_view key) const {
  const auto& n = require(key);
  if (!n.is_table()) fail(key, fmt::format("expected a table, got {}", detail::type_name(n)));
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
    fs::path file = preset_file(catalog, name);
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

std::vector<fs::path> user_preset_roots() {
  std::vector<fs::path> out;
  const char* env = std::getenv("MOESIM_PRESETS");
  std::string_view rest = env ? env : "";
  while (!rest.empty()) {
    auto colon = rest.find(':');
    if (colon > 0) out.emplace_back(std::string(rest.substr(0, colon)));
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return out;
}

void add_user_preset_root(const fs::path& root) {
  const char* env = std::getenv("MOESIM_PRESETS");
  std::string value = root.string();
  if (env && *env) value += std::string(":") + env;
  ::setenv("MOESIM_PRESETS", value.c_str(), 1);
}

namespace {

constexpr std::string_view kHardwarePresets = "hardware/presets/";

// Folders holding `catalog`, first match wins: for hardware catalogs each $MOESIM_PRESETS root
// (its devices/, links/, storage/ ...), then <data_dir>/<catalog>.
std::vector<fs::path> catalog_dirs(std::string_view catalog) {
  std::vector<fs::path> dirs;
  if (catalog.starts_with(kHardwarePresets))
    for (const auto& root : user_preset_roots()) dirs.push_back(root / catalog.substr(kHardwarePresets.size()));
  dirs.push_back(data_dir() / catalog);
  return dirs;
}

}  // namespace

std::vector<std::string> preset_names(std::string_view catalog) {
  std::vector<std::string> out;
  for (const auto& dir : catalog_dirs(catalog)) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".toml") out.push_back(e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

fs::path preset_file(std::string_view catalog, std::string_view name) {
  const auto dirs = catalog_dirs(catalog);
  for (const auto& dir : dirs) {
    fs::path f = dir / (std::string(name) + ".toml");
    if (fs::exists(f)) return f;
  }
  return dirs.back() / (std::string(name) + ".toml");
}

Document load_preset(std::string_view catalog, std::string_view name) {
  auto names = preset_names(catalog);
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    std::string msg = fmt::format("unknown name '{}' in {} (valid values: {})", name, catalog, join(names));
    if (auto n = nearest(name, names)) msg += fmt::format("; did you mean '{}'?", *n);
    throw ConfigError(Location{std::string(catalog)}, "", msg);
  }
  return Document::load_file(preset_file(catalog, name));
}

}  // namespace moesim::config
