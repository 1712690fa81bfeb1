#include "spec/spec_args.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

#include <algorithm>
#include <cmath>

namespace torchinit::detail {

ArgCheck::ArgCheck(const std::string& source, std::string_view who, const std::string& name,
                   const std::string& arg)
    : source_(source), context_(std::string(who) + ": " + name + " argument '" + arg + "'") {}

void ArgCheck::fail(const std::string& message, int column, const std::string& hint) const {
  TORCH_CHECK(false, context_, " ", message, where(source_, column), hint);
}

void ArgCheck::expected(const std::string& expected, const std::string& got, int column,
                        const std::string& suggestion, const std::string& hint) const {
  fail("expects " + expected + ", got " + got + (suggestion.empty() ? "" : ";" + suggestion),
       column, hint);
}

std::string got(const SpecValue& v) {
  return std::string(SpecValue::kind_name(v.kind)) + " " + excerpt(v.str());
}

void check_choice(const SpecValue& v, const std::vector<std::string>& choices,
                  const ArgCheck& check) {
  const std::string expects = "one of " + c10::Join(", ", choices);
  const bool word = v.kind == SpecValue::Kind::Identifier || v.kind == SpecValue::Kind::String;
  if (!word) check.expected(expects, got(v), v.column);
  if (std::find(choices.begin(), choices.end(), v.text) == choices.end()) {
    check.expected(expects, "'" + excerpt(v.text) + "'", v.column, did_you_mean(v.text, choices));
  }
}

SpecParam number_param(std::string name, double default_value, bool positive) {
  const SpecValue value = SpecValue::of_number(default_value);
  std::string expects = positive ? "a finite number > 0" : "a finite number";
  return SpecParam{std::move(name), value, value.str(), expects,
                   [positive, expects](const SpecValue& v, const ArgCheck& check) {
                     if (v.kind != SpecValue::Kind::Number) {
                       check.expected("a number", got(v), v.column);
                     }
                     if (!std::isfinite(v.number) || (positive && v.number <= 0)) {
                       check.expected(expects, excerpt(v.str()), v.column);
                     }
                   }};
}

SpecParam choice_param(std::string name, std::string default_value,
                       std::vector<std::string> choices) {
  std::string expects = "one of " + c10::Join(", ", choices);
  return SpecParam{std::move(name), SpecValue::of_identifier(default_value),
                   std::move(default_value), std::move(expects),
                   [choices = std::move(choices)](const SpecValue& v, const ArgCheck& check) {
                     check_choice(v, choices, check);
                   }};
}

std::string where(const std::string& source, int column) {
  if (source.empty() || column <= 0) return "";
  return " at column " + std::to_string(column) + "\n" + caret(source, column);
}

std::string where(const Spec& spec, int column) { return where(spec.source(), column); }

std::string signature(const std::string& name, const std::vector<SpecParam>& params) {
  std::vector<std::string> parts;
  for (const SpecParam& p : params) {
    parts.push_back(p.default_value ? p.name + "=" + p.default_text : p.name);
  }
  return name + "(" + c10::Join(", ", parts) + ")";
}

namespace {

std::string arguments(size_t n) {
  return n == 0 ? "no arguments" : std::to_string(n) + (n == 1 ? " argument" : " arguments");
}

}  // namespace

BoundArgs bind(const Spec& spec, std::string_view who, const std::string& name,
               const std::vector<SpecParam>& params) {
  const std::string prefix = std::string(who) + ": " + name;
  std::vector<std::optional<SpecValue>> given(params.size());
  size_t position = 0;
  for (const SpecArg& arg : spec.args()) {
    size_t index = 0;
    if (arg.key.empty()) {
      TORCH_CHECK(position < params.size(), prefix, " takes ", params.empty() ? "" : "at most ",
                  arguments(params.size()), ", got ", spec.args().size(),
                  "; remove the extra argument; it takes ", signature(name, params),
                  where(spec, arg.column));
      index = position++;
    } else {
      std::vector<std::string> names;
      for (const SpecParam& p : params) names.push_back(p.name);
      const auto it = std::find(names.begin(), names.end(), arg.key);
      TORCH_CHECK(it != names.end(), prefix, " has no argument '", excerpt(arg.key), "';",
                  did_you_mean(arg.key, names), " it takes ", signature(name, params),
                  where(spec, arg.column));
      index = static_cast<size_t>(it - names.begin());
      TORCH_CHECK(!given[index], prefix, " argument '", arg.key, "' is given twice; keep one",
                  where(spec, arg.column));
    }
    params[index].check(arg.value, ArgCheck(spec.source(), who, name, params[index].name));
    given[index] = arg.value;
  }
  BoundArgs out;
  for (size_t i = 0; i < params.size(); ++i) {
    const SpecParam& p = params[i];
    TORCH_CHECK(given[i] || p.default_value, prefix, " needs argument '", p.name, "' (", p.expects,
                "); it takes ", signature(name, params), where(spec, spec.column()));
    out.values.push_back(given[i] ? *given[i] : *p.default_value);
    out.given.push_back(given[i].has_value());
  }
  return out;
}

void check_default(std::string_view who, const std::string& name, const SpecParam& param) {
  if (param.default_value) param.check(*param.default_value, ArgCheck("", who, name, param.name));
}

}  // namespace torchinit::detail
