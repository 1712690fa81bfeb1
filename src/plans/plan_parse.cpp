// Plan construction: rules one by one, text plans (`selector = spec` lines, # comments) and JSON
// plans, with line and column in every error; str() and json() print them back.
#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "plans/json_text.h"
#include "plans/resolve.h"
#include "plans/selector.h"
#include "torchinit/plan.h"
#include "torchinit/registry.h"

namespace torchinit {
namespace {

using detail::check_selector;
using detail::find_json_value;
using detail::invalid_utf8;
using detail::JsonKey;
using detail::kTorchDefaultSpec;
using detail::kUtf8Bom;
using detail::line_column;
using detail::location;

// A rule whose spec parses and whose initializer exists and accepts its arguments (c10::Error
// otherwise); the initializer is built here, once.
Rule checked_rule(std::string selector, std::string_view spec, int line) {
  Spec parsed = Spec::parse(spec);
  std::shared_ptr<const Initializer> init;
  if (parsed.name() == kTorchDefaultSpec) {
    TORCH_CHECK(parsed.args().empty(),
                "torchinit::Plan: `torch_default` takes no arguments (it is ",
                "each parameter's LibTorch default), got '", spec, "'");
  } else {
    init = Registry::global().make(parsed);  // unknown names and bad arguments fail here
  }
  return Rule{std::move(selector), std::move(parsed), line, std::move(init), {}};
}

}  // namespace

Plan& Plan::rule(std::string selector, std::string_view spec) {
  check_selector(selector);
  rules_.push_back(checked_rule(std::move(selector), spec, 0));
  return *this;
}

Plan& Plan::required(std::string why) {
  TORCH_CHECK(!rules_.empty(), "torchinit::Plan::required: add a rule first");
  rules_.back().required = std::move(why);
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
      try {
        check_selector(selector);
      } catch (const c10::Error& e) {
        TORCH_CHECK(false, "torchinit::Plan::parse: ", location(text, value_at(i, "selector")),
                    "JSON rule ", i + 1, " \"selector\": ", e.what_without_backtrace());
      }
      try {
        plan.rules_.push_back(
            checked_rule(std::move(selector), r["spec"].get<std::string>(), int(i + 1)));
      } catch (const c10::Error& e) {
        TORCH_CHECK(false, "torchinit::Plan::parse: ", location(text, value_at(i, "spec")),
                    "JSON rule ", i + 1, " \"spec\": ", e.what_without_backtrace());
      }
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

}  // namespace torchinit
