#include "spec/spec_args.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

#include <algorithm>
#include <cmath>

namespace torchinit::detail {

std::string where(const Spec& spec, int column) {
  if (spec.source().empty() || column <= 0) return "";
  return " at column " + std::to_string(column) + "\n" + caret(spec.source(), column);
}

std::string signature(const std::string& name, const std::vector<SpecParam>& params) {
  if (params.empty()) return name;
  std::string s = name + "(";
  for (size_t i = 0; i < params.size(); ++i) {
    const SpecParam& p = params[i];
    s += (i ? ", " : "") + p.name + "=";
    s += p.choices.empty() ? p.default_value.str() : c10::Join("|", p.choices);
  }
  return s + ")";
}

std::vector<std::optional<SpecValue>> bind_args(const Spec& spec, std::string_view who,
                                                const std::string& name,
                                                const std::vector<SpecParam>& params) {
  std::vector<std::optional<SpecValue>> given(params.size());
  size_t position = 0;
  for (const SpecArg& arg : spec.args()) {
    size_t index = 0;
    if (arg.key.empty()) {
      TORCH_CHECK(position < params.size(), who, ": ", name, " takes ",
                  params.empty() ? std::string("no arguments")
                                 : "at most " + std::to_string(params.size()) +
                                       " argument(s): " + signature(name, params),
                  ", got ", spec.args().size(), "; remove the extra argument",
                  where(spec, arg.column));
      index = position++;
    } else {
      std::vector<std::string> names;
      for (const SpecParam& p : params) names.push_back(p.name);
      const auto it = std::find(names.begin(), names.end(), arg.key);
      TORCH_CHECK(it != names.end(), who, ": ", name, " has no argument '", excerpt(arg.key), "';",
                  did_you_mean(arg.key, names), " it takes ", signature(name, params),
                  where(spec, arg.column));
      index = static_cast<size_t>(it - names.begin());
      TORCH_CHECK(!given[index], who, ": ", name, " argument '", arg.key,
                  "' is given twice; keep one", where(spec, arg.column));
    }
    const SpecParam& p = params[index];
    const SpecValue& v = arg.value;
    if (p.choices.empty()) {
      TORCH_CHECK(v.kind == SpecValue::Kind::Number, who, ": ", name, " argument '", p.name,
                  "' expects a number, got ", SpecValue::kind_name(v.kind), " ", excerpt(v.str()),
                  where(spec, v.column));
      TORCH_CHECK(std::isfinite(v.number) && (!p.positive || v.number > 0), who, ": ", name,
                  " argument '", p.name, "' expects a finite number", p.positive ? " > 0" : "",
                  ", got ", excerpt(v.str()), where(spec, v.column));
    } else {
      const bool word = v.kind == SpecValue::Kind::Identifier || v.kind == SpecValue::Kind::String;
      const std::string got = word ? v.text : v.str();
      TORCH_CHECK(word && std::find(p.choices.begin(), p.choices.end(), got) != p.choices.end(),
                  who, ": ", name, " argument '", p.name, "' expects one of ",
                  c10::Join(", ", p.choices), ", got '", excerpt(got), "';",
                  did_you_mean(got, p.choices), where(spec, v.column));
    }
    given[index] = v;
  }
  return given;
}

}  // namespace torchinit::detail
