#include "plans/selector.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "plans/json_text.h"
#include "torchinit/module_desc.h"
#include "torchinit/spec.h"

namespace torchinit::detail {

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
  // U+FEFF (a byte order mark) is invisible, and at the start of a printed plan it would be
  // stripped on reading back.
  TORCH_CHECK(s.find(kUtf8Bom) == std::string::npos, "torchinit::Plan: selector '", s,
              "' contains U+FEFF (an invisible byte order mark); delete it from the selector");
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
    TORCH_CHECK(std::find(parameter_roles().begin(), parameter_roles().end(), role) !=
                    parameter_roles().end(),
                "torchinit::Plan: unknown role '", role, "' in selector '", s, "';",
                did_you_mean(role, parameter_roles()),
                " roles: ", fmt::format("{}", fmt::join(parameter_roles(), ", ")));
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

}  // namespace torchinit::detail
