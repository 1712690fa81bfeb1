#include "torchinit/plan.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "tied_params.h"
#include "torchinit/module_desc.h"
#include "torchinit/module_layout.h"
#include "torchinit/registry.h"
#include "torchinit/shard.h"

namespace torchinit {
namespace {

using detail::tie_groups;
using detail::TiedGroup;

const std::vector<std::string>& roles() { return parameter_roles(); }

// The spec that stands for each parameter's LibTorch default (ParamInfo::torch_default).
constexpr const char* kTorchDefaultSpec = "torch_default";

// Glob with * (any run, dots included) and ? (one character).
bool glob(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

void check_selector(const std::string& s) {
  TORCH_CHECK(!s.empty(),
              "torchinit::Plan: empty selector; write `path.glob = spec`, "
              "`@ModuleType.param = spec` or `:role = spec`");
  TORCH_CHECK(s.find_first_of(" \t=") == std::string::npos, "torchinit::Plan: selector '", s,
              "' contains a space or '='");
  // Characters that mean something in a text plan could not be printed back by str(): '#'
  // starts a comment, quotes change where it does, a line break ends the rule, and a leading
  // '{' or '[' makes the plan read as JSON.
  TORCH_CHECK(s[0] != '{' && s[0] != '[', "torchinit::Plan: selector '", s, "' starts with '", s[0],
              "', which makes a text plan read as JSON; selectors are parameter paths");
  for (const char c : s)
    TORCH_CHECK(
        static_cast<unsigned char>(c) >= 0x20 && c != 0x7F && c != '#' && c != '"' && c != '\'',
        "torchinit::Plan: selector '", s, "' contains ",
        c == '#' || c == '"' || c == '\''
            ? fmt::format("'{}'", c)
            : fmt::format("control character 0x{:02X}", static_cast<unsigned char>(c)),
        "; selectors are parameter paths with globs (* ?), @ModuleType.param or :role");
  if (s[0] == ':') {
    const std::string role = s.substr(1);
    TORCH_CHECK(std::find(roles().begin(), roles().end(), role) != roles().end(),
                "torchinit::Plan: unknown role '", role, "' in selector '", s, "';",
                did_you_mean(role, roles()),
                " roles: ", fmt::format("{}", fmt::join(roles(), ", ")));
  }
  if (s[0] == '@')
    TORCH_CHECK(s.size() > 1 && s[1] != '.', "torchinit::Plan: selector '", s,
                "' needs a module type after '@', e.g. @Conv2d.weight");
}

bool matches(const std::string& selector, const ParamInfo& p) {
  if (selector[0] == ':') return p.role == selector.substr(1);
  if (selector[0] == '@') {
    const auto dot = selector.find('.');
    const std::string type =
        selector.substr(1, dot == std::string::npos ? std::string::npos : dot - 1);
    const std::string name = dot == std::string::npos ? "*" : selector.substr(dot + 1);
    const auto last = p.path.rfind('.');
    // The parameter's name inside its module: the path after the module's prefix.
    const std::string leaf = last == std::string::npos ? p.path : p.path.substr(last + 1);
    return (glob(type, p.module_type) || (!p.module_class.empty() && glob(type, p.module_class))) &&
           glob(name, leaf);
  }
  return glob(selector, p.path);
}

// One tensor to initialize: its canonical path's parameter, the other paths it is reachable by,
// and the initializer of its canonical path's rule (torch_default resolved).
struct Planned {
  ModuleParam param;
  std::shared_ptr<const Initializer> init;  // null when unmatched (non-strict)
  int rule = -1;
  std::vector<std::string> aliases;
  std::optional<int64_t> padding_idx;  // from any of its paths that is an Embedding's
};

std::string block_key(const std::string& path, int64_t b, int64_t blocks) {
  return blocks > 1 ? fmt::format("{}[{}]", path, b) : path;
}

bool has_fans(const ParamInfo& p) { return p.dim() >= 2 || p.module_fans.has_value(); }

std::string rule_text(const Rule& r, int index) {
  return fmt::format("rule {}{} `{} = {}`", index + 1,
                     r.line > 0 ? fmt::format(" (line {})", r.line) : "", r.selector, r.spec.str());
}

// Line and column (1-based; columns count bytes) of byte `offset` of `text`.
std::pair<size_t, size_t> line_column(std::string_view text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Offset of the first byte that does not belong to a well-formed UTF-8 sequence (no overlong
// forms, no surrogates, at most U+10FFFF), or npos.
size_t invalid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    unsigned lo = 0x80, hi = 0xBF;  // range of the first continuation byte
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return i;
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return i;
    }
    i += n + 1;
  }
  return std::string_view::npos;
}

// Offset of the `occurrence`-th (1-based) `"key"` followed by ':' in JSON text, or npos.
size_t find_json_key(std::string_view text, const std::string& key, int occurrence) {
  const std::string quoted = "\"" + key + "\"";
  for (size_t at = text.find(quoted); at != std::string_view::npos;
       at = text.find(quoted, at + 1)) {
    const size_t after = text.find_first_not_of(" \t\r\n", at + quoted.size());
    if (after != std::string_view::npos && text[after] == ':' && --occurrence == 0) return at;
  }
  return std::string_view::npos;
}

// Offset of the value after the `occurrence`-th `"key":` in JSON text, or npos.
size_t find_json_value(std::string_view text, const std::string& key, int occurrence) {
  const size_t at = find_json_key(text, key, occurrence);
  if (at == std::string_view::npos) return at;
  const size_t colon = text.find(':', at + key.size() + 2);
  return text.find_first_not_of(" \t\r\n", colon + 1);
}

// "line L, column C: " for an offset into `text`, or "" when it is npos.
std::string location(std::string_view text, size_t offset) {
  if (offset == std::string_view::npos) return "";
  const auto [line, column] = line_column(text, offset);
  return fmt::format("line {}, column {}: ", line, column);
}

// Deepest nesting of arrays and objects a JSON plan may have. nlohmann's parser is iterative,
// but copying and printing a json value recurse once per level: `[[[[…]]]]` 200k deep overflows
// the stack. A plan needs 3 levels ({"rules": [{"selector": …, "spec": …}]}); 256 leaves room
// for metadata next to "rules" and keeps any recursion a few kilobytes deep.
constexpr int kMaxJsonDepth = 256;

// c10::Error at the bracket that opens level kMaxJsonDepth + 1, before nlohmann sees the text.
// Brackets inside strings do not count; malformed JSON is left to nlohmann's error.
void check_json_depth(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      TORCH_CHECK(++depth <= kMaxJsonDepth, "torchinit::Plan::parse: ", location(text, i),
                  "JSON nested deeper than ", kMaxJsonDepth,
                  " levels (arrays and objects); a plan needs 3: {\"rules\": [{\"selector\": "
                  "…, \"spec\": …}]}; remove the extra nesting");
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
}

// A key seen while parsing: nlohmann's depth (1 for keys of the top-level object) and which
// occurrence of that key text it is, counted over the whole document (for find_json_key).
struct JsonKey {
  int depth;
  std::string key;
  int occurrence;
};

// JSON with duplicate keys rejected (nlohmann keeps the last one silently). `keys`, if given,
// receives every key in document order so callers can point errors at a line and column.
nlohmann::json parse_json_strict(std::string_view text, std::vector<JsonKey>* keys = nullptr) {
  std::vector<std::set<std::string>> open_objects;
  std::map<std::string, int> occurrences;
  std::string duplicate;
  int duplicate_occurrence = 0;
  const auto callback = [&](int depth, nlohmann::json::parse_event_t event,
                            nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (event == nlohmann::json::parse_event_t::object_end) {
      if (!open_objects.empty()) open_objects.pop_back();
    } else if (event == nlohmann::json::parse_event_t::key) {
      const std::string key = parsed.get<std::string>();
      const int n = ++occurrences[key];
      if (keys) keys->push_back(JsonKey{depth, key, n});
      if (!open_objects.empty() && !open_objects.back().insert(key).second && duplicate.empty()) {
        duplicate = key;
        duplicate_occurrence = n;
      }
    }
    return true;
  };
  check_json_depth(text);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text, callback);
  } catch (const nlohmann::json::parse_error& e) {
    const auto [line, column] = line_column(text, e.byte > 0 ? e.byte - 1 : 0);
    TORCH_CHECK(false, "torchinit::Plan::parse: line ", line, ", column ", column, ": invalid JSON",
                e.byte >= text.size() ? " (truncated?)" : "", ": ", e.what(),
                "; fix the JSON or write the plan as `selector = spec` lines");
  } catch (const nlohmann::json::exception& e) {
    // Other parse failures (a number that overflows a double: out_of_range.406) carry no byte
    // offset; their message quotes the token, which locates it.
    const std::string what = e.what();
    const size_t open = what.find('\''), close = what.rfind('\'');
    const size_t at =
        open < close ? text.find(what.substr(open + 1, close - open - 1)) : std::string_view::npos;
    TORCH_CHECK(false, "torchinit::Plan::parse: ", location(text, at), "invalid JSON: ", what,
                "; fix the JSON or write the plan as `selector = spec` lines");
  }
  if (!duplicate.empty()) {
    TORCH_CHECK(false, "torchinit::Plan::parse: ",
                location(text, find_json_key(text, duplicate, duplicate_occurrence)),
                "duplicate key \"", duplicate,
                "\" in a JSON object; each key may appear once, remove one of them");
  }
  return j;
}

// A parsed spec whose initializer exists and accepts its arguments (c10::Error otherwise).
Spec checked_spec(std::string_view spec) {
  Spec parsed = Spec::parse(spec);
  if (parsed.name() == kTorchDefaultSpec) {
    TORCH_CHECK(parsed.args().empty(),
                "torchinit::Plan: `torch_default` takes no arguments (it is ",
                "each parameter's LibTorch default), got '", spec, "'");
    return parsed;
  }
  (void)Registry::global().make(parsed);  // unknown names and bad arguments fail here
  return parsed;
}

}  // namespace

const ReportRow& Report::at(std::string_view path) const {
  for (const auto& r : rows_)
    if (r.path == path || std::find(r.aliases.begin(), r.aliases.end(), path) != r.aliases.end())
      return r;
  std::vector<std::string> paths;
  for (const auto& r : rows_) {
    paths.push_back(r.path);
    paths.insert(paths.end(), r.aliases.begin(), r.aliases.end());
  }
  TORCH_CHECK(false, "torchinit::Report::at: no parameter '", path, "';",
              did_you_mean(path, paths));
}

std::string Report::table() const {
  std::string out = fmt::format("{:<36} {:<18} {:<18} {:<10} {:>7} {:>7}  {}\n", "parameter",
                                "shape", "module", "role", "fan_in", "fan_out", "spec -> theory");
  std::vector<std::string> notes;
  for (const auto& r : rows_) {
    out += fmt::format("{:<36} {:<18} {:<18} {:<10} {:>7} {:>7}  {}{}\n", r.path,
                       fmt::format("[{}]", fmt::join(r.shape, ",")), r.module_type, r.role,
                       r.fans.fan_in, r.fans.fan_out, r.spec.empty() ? "(unmatched)" : r.spec,
                       r.spec.empty()
                           ? ""
                           : " -> " + r.theory.str() +
                                 (r.blocks > 1 ? fmt::format(" per block x{}", r.blocks) : ""));
    if (!r.aliases.empty())
      out += fmt::format("    also {} (tied: initialized once, as {})\n",
                         fmt::join(r.aliases, ", "), r.path);
    if (r.padding_idx)
      out += fmt::format("    padding row {} = 0 (theory: the other rows)\n", *r.padding_idx);
    if (!r.note.empty() && std::find(notes.begin(), notes.end(), r.note) == notes.end())
      notes.push_back(r.note);
  }
  for (const auto& n : notes) out += "note: " + n + "\n";
  for (const auto& w : warnings_) out += "warning: " + w + "\n";
  return out;
}

std::string Report::json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : rows_)
    rows.push_back({{"path", r.path},
                    {"aliases", r.aliases},
                    {"shape", r.shape},
                    {"module_type", r.module_type},
                    {"role", r.role},
                    {"fan_in", r.fans.fan_in},
                    {"fan_out", r.fans.fan_out},
                    {"spec", r.spec},
                    {"theory", r.theory.str()},
                    {"mean", r.theory.mean()},
                    {"variance", r.theory.variance()},
                    {"key", r.key},
                    {"blocks", r.blocks},
                    {"padding_idx", r.padding_idx ? nlohmann::json(*r.padding_idx) : nullptr},
                    {"note", r.note}});
  return nlohmann::json{{"seed", seed_}, {"rows", rows}, {"warnings", warnings_}}.dump(2);
}

Plan& Plan::rule(std::string selector, std::string_view spec) {
  check_selector(selector);
  rules_.push_back(Rule{std::move(selector), checked_spec(spec), 0});
  return *this;
}

Plan Plan::parse(std::string_view text) {
  Plan plan;
  // A UTF-8 byte order mark (some Windows editors write one) is not part of the plan; lines and
  // columns count from after it, as an editor shows them.
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) text.remove_prefix(kUtf8Bom.size());
  if (const size_t bad = invalid_utf8(text); bad != std::string_view::npos) {
    const auto [line, column] = line_column(text, bad);
    TORCH_CHECK(false, "torchinit::Plan::parse: line ", line, ", column ", column,
                ": invalid UTF-8 (byte 0x",
                fmt::format("{:02X}", static_cast<unsigned char>(text[bad])),
                "); save the plan as UTF-8");
  }
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
    std::vector<JsonKey> keys;
    const nlohmann::json j = parse_json_strict(text, &keys);
    const nlohmann::json& rules = j.is_object() ? j.value("rules", nlohmann::json()) : j;
    TORCH_CHECK(rules.is_array(),
                "torchinit::Plan::parse: JSON plans are [{\"selector\": …, "
                "\"spec\": …}, …] or {\"rules\": [...]}");
    // Keys of the rule objects sit at depth 2 in [{…}] and at depth 3 in {"rules": [{…}]}; the
    // i-th "selector"/"spec" key at that depth belongs to rule i (duplicates were rejected).
    const int rule_depth = j.is_object() ? 3 : 2;
    const auto value_at = [&](size_t rule, const std::string& field) {
      size_t seen = 0;
      for (const JsonKey& k : keys)
        if (k.depth == rule_depth && k.key == field && seen++ == rule)
          return find_json_value(text, field, k.occurrence);
      return std::string_view::npos;
    };
    for (size_t i = 0; i < rules.size(); ++i) {
      const auto& r = rules[i];
      TORCH_CHECK(r.is_object() && r.contains("selector") && r.contains("spec") &&
                      r["selector"].is_string() && r["spec"].is_string(),
                  "torchinit::Plan::parse: ",
                  location(text, r.is_object() && r.contains("selector") ? value_at(i, "selector")
                                                                         : std::string_view::npos),
                  "JSON rule ", i + 1, " needs string fields \"selector\" and \"spec\"");
      std::string selector = r["selector"].get<std::string>();
      Spec spec;
      try {
        check_selector(selector);
      } catch (const c10::Error& e) {
        TORCH_CHECK(false, "torchinit::Plan::parse: ", location(text, value_at(i, "selector")),
                    "JSON rule ", i + 1, " \"selector\": ", e.what_without_backtrace());
      }
      try {
        spec = checked_spec(r["spec"].get<std::string>());
      } catch (const c10::Error& e) {
        TORCH_CHECK(false, "torchinit::Plan::parse: ", location(text, value_at(i, "spec")),
                    "JSON rule ", i + 1, " \"spec\": ", e.what_without_backtrace());
      }
      plan.rules_.push_back(Rule{std::move(selector), std::move(spec), int(i + 1)});
    }
    return plan;
  }
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t end = std::min(text.find('\n', pos), text.size());
    std::string line(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    // Strip a comment: '#' outside quotes.
    char quote = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      if (quote) {
        if (line[i] == '\\')
          ++i;
        else if (line[i] == quote)
          quote = 0;
      } else if (line[i] == '"' || line[i] == '\'') {
        quote = line[i];
      } else if (line[i] == '#') {
        line.resize(i);
        break;
      }
    }
    const auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    const auto eq = line.find('=');
    TORCH_CHECK(eq != std::string::npos, "torchinit::Plan::parse: line ", line_no, ", column ",
                b + 1, ": expected `selector = spec`, got '", line.substr(b), "'");
    std::string selector = line.substr(b, eq - b);
    selector.erase(selector.find_last_not_of(" \t") + 1);
    const std::string spec = line.substr(eq + 1);
    try {
      plan.rule(selector, spec);
    } catch (const c10::Error& e) {
      TORCH_CHECK(false, "torchinit::Plan::parse: line ", line_no, " (spec from column ", eq + 2,
                  "): ", e.what_without_backtrace());
    }
    plan.rules_.back().line = line_no;
  }
  return plan;
}

std::string Plan::str() const {
  std::string out;
  for (const auto& r : rules_) out += r.selector + " = " + r.spec.str() + "\n";
  return out;
}

std::string Plan::json() const {
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& r : rules_) rules.push_back({{"selector", r.selector}, {"spec", r.spec.str()}});
  return nlohmann::json{{"rules", rules}}.dump(2);
}

namespace {

// The first rule matching one path and its initializer (torch_default resolved).
struct Match {
  int rule = -1;
  std::shared_ptr<const Initializer> init;
};

class Matcher {
 public:
  explicit Matcher(const Plan& plan) : plan_(plan) {
    for (const auto& r : plan.rules())
      inits_.push_back(r.spec.name() == kTorchDefaultSpec ? nullptr
                                                          : Registry::global().make(r.spec));
  }
  // A `torch_default` rule skips parameters that have no LibTorch default.
  Match first(const ParamInfo& info) {
    for (size_t i = 0; i < plan_.rules().size(); ++i) {
      if (!matches(plan_.rules()[i].selector, info)) continue;
      if (inits_[i]) return Match{int(i), inits_[i]};
      if (info.torch_default.empty()) continue;
      auto& cached = defaults_[info.torch_default];
      if (!cached) cached = Registry::global().make(info.torch_default);
      return Match{int(i), cached};
    }
    return {};
  }
  std::string describe(const std::string& path, const Match& m) const {
    if (m.rule < 0) return path + ": no rule";
    return fmt::format("{}: {} -> {}", path, rule_text(plan_.rules()[m.rule], m.rule),
                       m.init->spec().str());
  }

 private:
  const Plan& plan_;
  std::vector<std::shared_ptr<const Initializer>> inits_;  // null for torch_default
  std::map<std::string, std::shared_ptr<const Initializer>> defaults_;
};

// Matches every tensor to its rule and validates the whole plan before anything is written.
std::vector<Planned> resolve(const Plan& plan, std::vector<ModuleParam> params,
                             const ApplyOptions& options, Report& report) {
  constexpr const char* who = "torchinit::Plan::apply";
  Matcher matcher(plan);
  const std::vector<TiedGroup> groups = tie_groups(params);
  std::vector<int> hits(plan.rules().size(), 0);
  std::vector<Planned> planned;
  std::vector<std::string> unmatched, conflicts;
  // Notes of unmatched parameters (unknown module types), each with the paths it concerns.
  std::vector<std::pair<std::string, std::vector<std::string>>> unmatched_notes;
  std::string example;  // a rule that would match the first unmatched parameter with a note
  for (const TiedGroup& g : groups) {
    Planned p;
    p.param = params[g.canonical];
    const Match canonical = matcher.first(p.param.info);
    p.rule = canonical.rule;
    p.init = canonical.init;
    p.padding_idx = p.param.info.padding_idx;
    if (canonical.rule >= 0) ++hits[canonical.rule];
    bool alias_matched = false;
    for (const size_t a : g.aliases) {
      const ParamInfo& alias = params[a].info;
      p.aliases.push_back(alias.path);
      if (!p.padding_idx) p.padding_idx = alias.padding_idx;
      const Match m = matcher.first(alias);
      if (m.rule < 0) continue;
      ++hits[m.rule];
      alias_matched = true;
      if (canonical.rule >= 0 && m.init->spec().str() == canonical.init->spec().str()) continue;
      const std::string what = fmt::format(
          "{} and {} are one tensor (tied weights) whose rules disagree: {}; {}. A tied tensor "
          "is initialized once, under its first path in named_parameters order ({}), by that "
          "path's rule",
          p.param.info.path, alias.path, matcher.describe(p.param.info.path, canonical),
          matcher.describe(alias.path, m), p.param.info.path);
      const std::string fix =
          canonical.rule >= 0
              ? fmt::format(
                    "give {} a rule with the same spec before rule {} (e.g. `{} = {}`), "
                    "or use ApplyOptions().strict(false) to keep {}'s rule",
                    alias.path, m.rule + 1, alias.path, canonical.init->spec().str(),
                    p.param.info.path)
              : fmt::format("give {} a rule (e.g. `{} = {}`)", p.param.info.path, p.param.info.path,
                            m.init->spec().str());
      conflicts.push_back(what + "; " + fix);
      if (!options.strict())
        report.warn(what + (canonical.rule >= 0
                                ? fmt::format("; {}'s rule was used", p.param.info.path)
                                : fmt::format("; the tensor was left unchanged ({})", fix)));
    }
    if (canonical.rule < 0 && !alias_matched) {
      unmatched.push_back(p.param.info.path);
      const std::string& note = p.param.info.note;
      if (!note.empty()) {
        auto it = std::find_if(unmatched_notes.begin(), unmatched_notes.end(),
                               [&](const auto& n) { return n.first == note; });
        if (it == unmatched_notes.end()) {
          unmatched_notes.push_back({note, {}});
          it = unmatched_notes.end() - 1;
        }
        it->second.push_back(p.param.info.path);
        if (example.empty()) {
          const auto dot = p.param.info.path.rfind('.');
          example = fmt::format(
              "@{}.{} = …", p.param.info.module_class,
              dot == std::string::npos ? p.param.info.path : p.param.info.path.substr(dot + 1));
        }
      }
    }
    planned.push_back(std::move(p));
  }
  TORCH_CHECK(!options.strict() || conflicts.empty(), who, ": ",
              fmt::format("{}", fmt::join(conflicts, "\n")), ". No parameter was changed.");
  if (options.strict() && !unmatched.empty()) {
    std::string notes;
    for (const auto& [note, paths] : unmatched_notes)
      notes += fmt::format("\n{}: {}", fmt::join(paths, ", "), note);
    TORCH_CHECK(false, who, ": no rule matches ", unmatched.size(),
                " parameter(s): ", fmt::format("{}", fmt::join(unmatched, ", ")),
                "; add a rule (e.g. `", example.empty() ? ":bias = zeros" : example,
                "`) or use ApplyOptions().strict(false)", notes);
  }
  for (size_t i = 0; i < hits.size(); ++i)
    if (hits[i] == 0) report.warn(rule_text(plan.rules()[i], int(i)) + " matches no parameter");
  for (const auto& p : planned) {
    if (!p.init) continue;
    const ParamInfo& info = p.param.info;
    try {
      for (int64_t b = 0; b < info.layout.blocks; ++b)
        validate_init(p.param.tensor, *p.init, info.layout.blocks > 1 ? info.block(b) : info,
                      options.backend());
    } catch (const c10::Error& e) {
      TORCH_CHECK(false, who, ": ", rule_text(plan.rules()[p.rule], p.rule), " cannot apply to ",
                  info.path, " ", info.shape_str(), ": ", e.what_without_backtrace(),
                  info.note.empty() ? "" : "\nNote: " + info.path + ": " + info.note,
                  "\nNo parameter was changed.");
    }
  }
  for (const auto& p : planned) {
    const ParamInfo& info = p.param.info;
    ReportRow row;
    row.path = info.path;
    row.aliases = p.aliases;
    row.shape = info.shape;
    row.module_type = info.module_type;
    row.role = info.role;
    row.blocks = info.layout.blocks;
    row.key = hash_key(info.path);
    row.rule = p.rule;
    row.padding_idx = p.padding_idx;
    row.note = info.note;
    if (p.init && p.param.tensor.numel() > 0) {
      const ParamInfo unit = info.layout.blocks > 1 ? info.block(0) : info;
      if (has_fans(unit)) row.fans = unit.fans();
      row.spec = p.init->spec().str();
      row.theory = p.init->theory(unit);
    } else if (p.init) {
      row.spec = p.init->spec().str();
    }
    report.add(std::move(row));
  }
  return planned;
}

std::vector<Planned> resolve(const Plan& plan, const torch::nn::Module& module,
                             const ApplyOptions& options, Report& report) {
  return resolve(plan, module_params(module), options, report);
}

// Zeroes the padding row (along dim 0) of an embedding, or its part inside `slice` when
// `tensor` holds that slice of the full parameter `full`.
void zero_padding_row(const at::Tensor& tensor, const ParamInfo& full, int64_t row,
                      const Slice& slice) {
  const int64_t row_len = full.numel() / full.shape[0];
  if (slice.is_flat()) {
    const auto [f0, f1] = slice.flat_range();
    const int64_t lo = std::max(f0, row * row_len), hi = std::min(f1, (row + 1) * row_len);
    if (lo < hi) tensor.view({-1}).narrow(0, lo - f0, hi - lo).zero_();
    return;
  }
  const auto box = slice.resolve(full.shape, "torchinit::Plan::apply_sharded");
  if (row >= box[0].first && row < box[0].second) tensor.select(0, row - box[0].first).zero_();
}

}  // namespace

Report Plan::explain(const torch::nn::Module& module, const ApplyOptions& options) const {
  Report report;
  (void)resolve(*this, module, options, report);
  return report;
}

Report Plan::apply(torch::nn::Module& module, const ApplyOptions& options) const {
  Report report;
  const std::vector<Planned> planned = resolve(*this, module, options, report);
  // The LibTorch backend draws from LibTorch's generator itself: taking a seed from it here
  // would shift its stream away from torch::nn::init's.
  const uint64_t seed =
      options.backend() == Backend::Torch ? 0 : resolve_seed(InitOptions().seed(options.seed()));
  report.set_seed(seed);
  at::NoGradGuard no_grad;  // block views of leaves are written in place
  for (const auto& p : planned) {
    if (!p.init) continue;
    const ParamInfo& info = p.param.info;
    const int64_t blocks = info.layout.blocks;
    for (int64_t b = 0; b < blocks; ++b) {
      const ParamInfo unit = blocks > 1 ? info.block(b) : info;
      const int64_t rows = unit.shape.empty() ? 0 : unit.shape[info.layout.out_dim];
      at::Tensor target =
          blocks > 1 ? p.param.tensor.narrow(info.layout.out_dim, b * rows, rows) : p.param.tensor;
      init_(
          target, *p.init, unit,
          InitOptions().seed(seed).key(block_key(info.path, b, blocks)).backend(options.backend()));
    }
    if (p.padding_idx) zero_padding_row(p.param.tensor, info, *p.padding_idx, Slice::all());
  }
  return report;
}

ModuleCheck check(const torch::nn::Module& module, const Report& report,
                  const CheckOptions& options) {
  validate_check_options(options);  // before alpha is split: 2/k may look valid
  // Every (parameter or block) that the report says was initialized, with its theory; a tied
  // tensor once, under its canonical path (its row's path).
  struct Item {
    std::string key;
    at::Tensor tensor;
    const Distribution* theory;
  };
  static const Distribution zero = Distribution::constant(0);
  std::vector<Item> items;
  for (const auto& mp : module_params(module)) {
    const auto row = std::find_if(report.rows().begin(), report.rows().end(),
                                  [&](const ReportRow& r) { return r.path == mp.info.path; });
    if (row == report.rows().end() || row->spec.empty() || mp.tensor.numel() == 0) continue;
    at::Tensor tensor = mp.tensor;
    if (row->padding_idx) {
      const int64_t pad = *row->padding_idx, n = tensor.size(0);
      TORCH_CHECK(pad >= 0 && pad < n, "torchinit::check: the report's padding row ", pad, " of ",
                  row->path, " is outside its ", n, " rows; check the module the report is of");
      items.push_back(
          {fmt::format("{}[padding_idx={}]", row->path, pad), tensor.select(0, pad), &zero});
      tensor = at::cat({tensor.narrow(0, 0, pad), tensor.narrow(0, pad + 1, n - pad - 1)});
    }
    const int64_t out_dim = mp.info.layout.out_dim, rows = mp.info.shape[out_dim] / row->blocks;
    for (int64_t b = 0; b < row->blocks; ++b)
      items.push_back({block_key(row->path, b, row->blocks),
                       row->blocks > 1 ? tensor.narrow(out_dim, b * rows, rows) : tensor,
                       &row->theory});
  }
  TORCH_CHECK(!items.empty(), "torchinit::check: no parameter of the module is in the report");
  const CheckOptions each = CheckOptions(options).alpha(options.alpha() / double(items.size()));
  ModuleCheck out;
  for (const auto& item : items) out.add(item.key, check(item.tensor, *item.theory, each));
  return out;
}

Report Plan::apply(const torch::nn::AnyModule& module, const ApplyOptions& options) const {
  TORCH_CHECK(!module.is_empty(), "torchinit::Plan::apply: empty AnyModule");
  return apply(*module.ptr(), options);
}

Report Plan::explain(const torch::nn::AnyModule& module, const ApplyOptions& options) const {
  TORCH_CHECK(!module.is_empty(), "torchinit::Plan::explain: empty AnyModule");
  return explain(*module.ptr(), options);
}

ModuleCheck check(const torch::nn::AnyModule& module, const Report& report,
                  const CheckOptions& options) {
  TORCH_CHECK(!module.is_empty(), "torchinit::check: empty AnyModule");
  return check(*module.ptr(), report, options);
}

// Largest plan file load_plan reads (a plan of 100k rules is about 4 MiB).
constexpr size_t kMaxPlanBytes = size_t{64} << 20;

Plan load_plan(const std::string& text, int64_t layers) {
  const auto names = Plan::presets();
  if (std::find(names.begin(), names.end(), text) != names.end()) return Plan::preset(text, layers);
  std::error_code ec;
  const auto status = std::filesystem::status(text, ec);
  if (std::filesystem::exists(status)) {
    TORCH_CHECK(!std::filesystem::is_directory(status), "torchinit::load_plan: '", text,
                "' is a directory; pass a plan file (text or JSON rules), a preset or rules");
    std::ifstream file(text, std::ios::binary);
    const int open_errno = errno;
    TORCH_CHECK(file.is_open(), "torchinit::load_plan: cannot open '", text,
                "': ", std::strerror(open_errno), "; check the path and its permissions");
    // Read at most kMaxPlanBytes + 1 bytes: /dev/zero or an endless pipe must not fill memory.
    std::string contents;
    char chunk[1 << 16];
    while (contents.size() <= kMaxPlanBytes && file.read(chunk, sizeof chunk).gcount() > 0)
      contents.append(chunk, static_cast<size_t>(file.gcount()));
    TORCH_CHECK(!file.bad(), "torchinit::load_plan: cannot read '", text,
                "': ", std::strerror(errno), "; check the file");
    TORCH_CHECK(contents.size() <= kMaxPlanBytes, "torchinit::load_plan: '", text,
                "' is larger than ", kMaxPlanBytes >> 20,
                " MiB; a plan is a list of rules (a few kilobytes), pass the plan file");
    try {
      return Plan::parse(contents);
    } catch (const c10::Error& e) {
      TORCH_CHECK(false, "torchinit::load_plan: in '", text, "': ", e.what_without_backtrace());
    }
  }
  TORCH_CHECK(text.find('=') != std::string::npos, "torchinit::load_plan: '", text,
              "' is neither a preset (", fmt::format("{}", fmt::join(names, ", ")), "),",
              did_you_mean(text, names),
              " an existing file, nor rules like ':weight = xavier_uniform'");
  std::string rules = text;
  std::replace(rules.begin(), rules.end(), ';', '\n');
  return Plan::parse(rules);
}

namespace {

// The part of `slice` (of the full parameter) inside stacked block `b` of `rows` rows along
// dim 0: the block's own slice and where it sits in the shard; nullopt when they do not meet.
struct BlockPart {
  Slice slice;
  at::Tensor target;
};
std::optional<BlockPart> block_part(const at::Tensor& shard, const ParamInfo& full,
                                    const Slice& slice, int64_t b, int64_t rows) {
  constexpr const char* who = "torchinit::Plan::apply_sharded";
  if (slice.is_flat()) {
    const int64_t per_block = full.numel() / full.shape[0] * rows;
    const auto [f0, f1] = slice.flat_range();
    const int64_t lo = std::max(f0, b * per_block), hi = std::min(f1, (b + 1) * per_block);
    if (lo >= hi) return std::nullopt;
    return BlockPart{Slice::flat(lo - b * per_block, hi - b * per_block),
                     shard.view({-1}).narrow(0, lo - f0, hi - lo)};
  }
  auto box = slice.resolve(full.shape, who);
  const int64_t lo = std::max(box[0].first, b * rows), hi = std::min(box[0].second, (b + 1) * rows);
  if (lo >= hi) return std::nullopt;
  const int64_t shard_lo = lo - box[0].first;
  box[0] = {lo - b * rows, hi - b * rows};
  return BlockPart{Slice::box(box), shard.narrow(0, shard_lo, hi - lo)};
}

}  // namespace

Report Plan::apply_sharded(torch::nn::Module& module, const ShardMap& shards,
                           const ApplyOptions& options) const {
  constexpr const char* who = "torchinit::Plan::apply_sharded";
  TORCH_CHECK(options.backend() == Backend::Philox, who,
              ": needs Backend::Philox (LibTorch's generator cannot produce one slice of a "
              "tensor); drop .backend(Backend::Torch)");
  auto named = module.named_parameters();
  std::vector<std::string> unknown;
  for (const auto& item : shards) {
    if (named.find(item.first) == nullptr) {
      unknown.push_back(item.first);
      continue;
    }
    const at::Tensor& t = named[item.first];
    const std::vector<int64_t> want = item.second.slice.shard_shape(item.second.full_shape, who);
    const bool fits = item.second.slice.is_flat() ? t.numel() == want[0] : t.sizes().vec() == want;
    TORCH_CHECK(fits, who, ": parameter ", item.first, " has shape ",
                fmt::format("[{}]", fmt::join(t.sizes(), ", ")), ", but its shard ",
                item.second.slice.str(), " of the full shape ",
                fmt::format("[{}]", fmt::join(item.second.full_shape, ", ")), " has shape ",
                fmt::format("[{}]", fmt::join(want, ", ")),
                "; fix the ShardMap entry or the module's parameter. No parameter was changed.");
    TORCH_CHECK(!item.second.slice.is_flat() || t.is_contiguous(), who, ": the flat shard ",
                item.first, " must be contiguous; make the parameter contiguous");
  }
  TORCH_CHECK(unknown.empty(), who, ": the ShardMap names ",
              fmt::format("{}", fmt::join(unknown, ", ")), ", which the module does not have;",
              did_you_mean(unknown.empty() ? "" : unknown[0], named.keys()),
              " use the paths of named_parameters(). No parameter was changed.");
  // The layouts (roles, fans, fans lent to biases) of the full parameters: module_params on the
  // module with each shard swapped for a stand-in of the full shape (a broadcast scalar, no
  // memory), then the shards back. A tied tensor is swapped once, whichever of its paths the
  // ShardMap names.
  std::vector<ModuleParam> params;
  {
    std::vector<std::pair<at::Tensor, at::Tensor>> swapped;  // parameter, its shard's data
    struct Restore {
      std::vector<std::pair<at::Tensor, at::Tensor>>& swapped;
      ~Restore() {
        for (auto& [param, data] : swapped) param.set_data(data);
      }
    } restore{swapped};
    at::NoGradGuard no_grad;
    // The paths of each tensor as the module holds it now (shards), so that every path of a
    // tied tensor gets the stand-in.
    std::vector<ModuleParam> held;
    for (const auto& item : named)
      held.push_back({ParamInfo::from_shape(item.value().sizes().vec(), item.key()), item.value()});
    std::map<std::string, size_t> group_of;
    const std::vector<TiedGroup> groups = tie_groups(held);
    for (size_t g = 0; g < groups.size(); ++g) {
      group_of[held[groups[g].canonical].info.path] = g;
      for (const size_t a : groups[g].aliases) group_of[held[a].info.path] = g;
    }
    std::map<size_t, std::string> named_by;  // group -> the ShardMap path naming it
    for (const auto& item : shards) {
      const size_t g = group_of.at(item.first);
      const auto [it, fresh] = named_by.emplace(g, item.first);
      if (!fresh) {
        const ParamShard& first = shards.at(it->second);
        TORCH_CHECK(first.full_shape == item.second.full_shape &&
                        first.slice.str() == item.second.slice.str(),
                    who, ": ", it->second, " and ", item.first,
                    " are one tensor (tied weights) but the ShardMap gives them different "
                    "shards; name one of them, or the same shard for both");
        continue;
      }
      std::vector<size_t> members = groups[g].aliases;
      members.insert(members.begin(), groups[g].canonical);
      std::set<const void*> impls;
      for (const size_t m : members) {
        at::Tensor param = held[m].tensor;
        if (!impls.insert(param.unsafeGetTensorImpl()).second) continue;
        swapped.emplace_back(param, param.data());
        param.set_data(at::empty({1}, param.options()).expand(item.second.full_shape));
      }
    }
    params = module_params(module);
  }
  for (auto& mp : params) mp.tensor = named[mp.info.path];
  Report report;
  const std::vector<Planned> planned = resolve(*this, std::move(params), options, report);
  const uint64_t seed = resolve_seed(InitOptions().seed(options.seed()));
  report.set_seed(seed);
  at::NoGradGuard no_grad;
  for (const auto& p : planned) {
    if (!p.init) continue;
    const ParamInfo& info = p.param.info;
    // The shard of this tensor, named by its canonical path or by one of its aliases.
    Slice slice = Slice::all();
    if (const auto it = shards.find(info.path); it != shards.end()) slice = it->second.slice;
    for (const auto& alias : p.aliases)
      if (const auto it = shards.find(alias); it != shards.end()) slice = it->second.slice;
    const int64_t blocks = info.layout.blocks;
    if (blocks == 1) {
      init_shard_(p.param.tensor, *p.init, info, slice, InitOptions().seed(seed).key(info.path));
    } else {
      const int64_t rows = info.shape[0] / blocks;  // stacked layouts stack along dim 0
      for (int64_t b = 0; b < blocks; ++b) {
        const auto part = block_part(p.param.tensor, info, slice, b, rows);
        if (!part) continue;
        init_shard_(part->target, *p.init, info.block(b), part->slice,
                    InitOptions().seed(seed).key(block_key(info.path, b, blocks)));
      }
    }
    if (p.padding_idx) zero_padding_row(p.param.tensor, info, *p.padding_idx, slice);
  }
  return report;
}

}  // namespace torchinit
