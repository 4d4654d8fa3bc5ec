#pragma once
// The configuration layer over TOML++: typed access with source locations, unit parsing, presets
// with overrides, and rejection of unknown keys. Every reader of a table asks for the keys it knows
// and then calls finish(): any key it did not ask for is an error with a "did you mean" suggestion.
//
// Errors read "file:line:col: error: table.key: what is wrong".
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/errors.hpp"
#include "sim/core/units.hpp"

namespace toml {
inline namespace v3 {
class table;
class node;
}  // namespace v3
}  // namespace toml

namespace moesim::config {

// A parsed TOML document (owns the tree). Presets are merged into it in place as readers resolve
// them, so after reading, `dump()` is the fully resolved scenario.
class Document {
 public:
  static Document load_file(const std::filesystem::path& path);  // throws ConfigError / IoError
  static Document parse(std::string_view text, std::string source_name);
  // Applies "--set a.b.c=value": value is parsed as a TOML value ("8", "\"x\"", "\"80GiB\"",
  // "[1,2]"); a value that is not valid TOML is taken as a string.
  void apply_set(std::string_view assignment);
  std::string dump() const;  // TOML text of the current (resolved) tree
  toml::table& root() { return *root_; }
  const std::string& source_name() const { return source_; }

 private:
  std::shared_ptr<toml::table> root_;
  std::string source_;
};

// A view of one table in a Document, with the dotted path that leads to it ("cluster.device").
// Copies share the record of which keys were asked for.
class Table {
 public:
  Table(std::shared_ptr<toml::table> owner, toml::table* t, std::string path, Location where);
  static Table root(Document& doc);

  const std::string& path() const { return path_; }
  std::string key_path(std::string_view key) const;  // "cluster.device.memory"
  Location where() const { return where_; }
  Location where(std::string_view key) const;  // location of the key's value, or of this table
  bool has(std::string_view key) const;
  std::vector<std::string> keys() const;  // in file order is not guaranteed: sorted

  // Required values (error when missing or of the wrong type).
  std::string string(std::string_view key) const;
  double number(std::string_view key) const;  // integer or float
  int64_t integer(std::string_view key) const;
  bool boolean(std::string_view key) const;
  Bytes bytes(std::string_view key) const;
  Seconds seconds(std::string_view key) const;
  BytesPerSecond bandwidth(std::string_view key) const;
  FlopsPerSecond flops_rate(std::string_view key) const;
  Flops flops(std::string_view key) const;
  double quantity(std::string_view key, Dimension dim) const;

  // Optional values with defaults.
  std::string string_or(std::string_view key, std::string_view def) const;
  double number_or(std::string_view key, double def) const;
  int64_t integer_or(std::string_view key, int64_t def) const;
  bool boolean_or(std::string_view key, bool def) const;
  Bytes bytes_or(std::string_view key, Bytes def) const;
  Seconds seconds_or(std::string_view key, Seconds def) const;
  BytesPerSecond bandwidth_or(std::string_view key, BytesPerSecond def) const;
  FlopsPerSecond flops_rate_or(std::string_view key, FlopsPerSecond def) const;
  std::optional<std::string> string_opt(std::string_view key) const;
  std::optional<double> number_opt(std::string_view key) const;
  std::optional<int64_t> integer_opt(std::string_view key) const;
  std::optional<double> quantity_opt(std::string_view key, Dimension dim) const;

  // Range-checked numbers: error says the valid range.
  int64_t integer_in(std::string_view key, int64_t lo, int64_t hi) const;
  int64_t integer_in_or(std::string_view key, int64_t lo, int64_t hi, int64_t def) const;
  double number_in(std::string_view key, double lo, double hi) const;
  double number_in_or(std::string_view key, double lo, double hi, double def) const;

  // A string that must be one of `valid` (error lists them and suggests the nearest).
  std::string choice(std::string_view key, const std::vector<std::string>& valid) const;
  std::string choice_or(std::string_view key, const std::vector<std::string>& valid,
                        std::string_view def) const;

  // Arrays.
  std::vector<double> numbers(std::string_view key) const;
  std::vector<int64_t> integers(std::string_view key) const;
  std::vector<std::string> strings(std::string_view key) const;
  std::vector<double> numbers_or(std::string_view key, std::vector<double> def) const;
  std::vector<int64_t> integers_or(std::string_view key, std::vector<int64_t> def) const;
  std::vector<std::string> strings_or(std::string_view key, std::vector<std::string> def) const;

  // Sub-tables.
  Table table(std::string_view key) const;                 // required
  std::optional<Table> table_opt(std::string_view key) const;
  Table table_or_empty(std::string_view key) const;        // missing -> an empty table (created)
  std::vector<Table> tables(std::string_view key) const;   // array of tables ([[key]]); missing -> {}

  // Presets: if this table has `preset = "name"`, loads <data_dir>/<catalog>/<name>.toml (which
  // may itself name a preset), merges this table's keys over it (this table wins, sub-tables merge
  // key by key) and replaces this table's contents with the result. Values keep the location of
  // the file they came from. Returns *this for chaining. Unknown preset: error listing the valid
  // names and the nearest one.
  Table& resolve_preset(std::string_view catalog);

  // Marks keys as known without reading them (e.g. documentation-only keys like "source").
  void allow(std::initializer_list<std::string_view> keys) const;
  // Error on every key that was not asked for (the first one, with a suggestion).
  void finish() const;

  // Throws a ConfigError located at `key` (or the table when the key is absent).
  [[noreturn]] void fail(std::string_view key, std::string_view message) const;

 private:
  const toml::node* node(std::string_view key) const;  // records the key as known
  const toml::node& require(std::string_view key) const;
  double quantity_of(std::string_view key, const toml::node& n, Dimension dim) const;

  std::shared_ptr<toml::table> owner_;
  toml::table* table_;
  std::string path_;
  Location where_;
  std::shared_ptr<std::set<std::string, std::less<>>> known_;
};

// The folder holding hardware/presets, models/catalog, scenarios: $MOESIM_DATA_DIR if set, else
// the source tree the binary was built from.
std::filesystem::path data_dir();
// User preset roots from $MOESIM_PRESETS (colon-separated folders laid out like hardware/presets:
// devices/, links/, storage/, ...), e.g. what `moesim calibrate` wrote. Searched before the
// built-in hardware catalog; a user preset of the same name shadows the built-in one.
std::vector<std::filesystem::path> user_preset_roots();
// Puts `root` first among the user preset roots (for this process and the children it starts).
void add_user_preset_root(const std::filesystem::path& root);
// Names (file stems) of the presets of `catalog` (e.g. "hardware/presets/devices") in the user
// roots and <data_dir>/<catalog>, sorted, each once.
std::vector<std::string> preset_names(std::string_view catalog);
// The file of preset `name` in `catalog`: the first user root holding it, else <data_dir>/<catalog>.
std::filesystem::path preset_file(std::string_view catalog, std::string_view name);
// Loads one catalog entry as a standalone document (used by `moesim show`).
Document load_preset(std::string_view catalog, std::string_view name);

}  // namespace moesim::config
