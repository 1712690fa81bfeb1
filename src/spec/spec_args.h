// The one binder of a spec's arguments to a declared parameter list, shared by Registry::make,
// nn::ModelRegistry, activation() and nn::activation_module() so that the same mistake gives the
// same error, in the same form, everywhere:
//
//   <who>: <name> has no argument 'k'; did you mean 'x'? it takes <signature><where>
//   <who>: <name> takes at most N argument(s), got M; remove the extra argument; it takes ...
//   <who>: <name> argument 'k' is given twice; keep one<where>
//   <who>: <name> needs argument 'k' (<expects>); it takes <signature><where>
//   <who>: <name> argument 'k' expects <expects>, got <value>[; did you mean 'x'?]<where>
//
// where <who> is the public entry point ("torchinit::Registry::make", "torchinit::nn::make",
// "torchinit::activation", "torchinit::nn::activation_module") and <where> is " at column N"
// and a caret under the offending text when the spec came from text.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "torchinit/spec.h"

namespace torchinit::detail {

// The check of one argument's value: formats errors about it in the common form.
class ArgCheck {
 public:
  ArgCheck(const std::string& source, std::string_view who, const std::string& name,
           const std::string& arg);
  // "<who>: <name> argument '<arg>'", the prefix of its errors (and the `who` of nested binders).
  const std::string& context() const { return context_; }
  // "<context> <message><where(column)><hint>".
  [[noreturn]] void fail(const std::string& message, int column,
                         const std::string& hint = "") const;
  // "<context> expects <expected>, got <got>;<suggestion><where(column)><hint>", the ';' only
  // when `suggestion` (" did you mean 'x'?", " known: ...") is not empty.
  [[noreturn]] void expected(const std::string& expected, const std::string& got, int column,
                             const std::string& suggestion = "",
                             const std::string& hint = "") const;

 private:
  std::string source_;
  std::string context_;
};

struct SpecParam {
  std::string name;
  std::optional<SpecValue> default_value;  // nullopt: required
  std::string default_text;                // the default as the signature shows it
  std::string expects;                     // "a number", "one of none, tanh", ...
  // Throws through `check` unless the value is valid. Never null.
  std::function<void(const SpecValue&, const ArgCheck& check)> check;
};

// A number parameter (finite; > 0 when `positive`) and a choice among identifiers.
SpecParam number_param(std::string name, double default_value, bool positive = false);
SpecParam choice_param(std::string name, std::string default_value,
                       std::vector<std::string> choices);

// The value's kind and text for "got ...": "number 2.5", "identifier relu", "list [1, 2]".
std::string got(const SpecValue& v);
// A Choice check: an identifier or string among `choices`, with a did-you-mean.
void check_choice(const SpecValue& v, const std::vector<std::string>& choices,
                  const ArgCheck& check);

// " at column N\n<caret>" when there is source text to point into, else "".
std::string where(const std::string& source, int column);
std::string where(const Spec& spec, int column);
// "name(a=1, mode=x, required)", "name()" without parameters.
std::string signature(const std::string& name, const std::vector<SpecParam>& params);

struct BoundArgs {
  std::vector<SpecValue> values;  // one per parameter: the given value or the default
  std::vector<bool> given;        // whether the spec gave it
};
// Binds positional arguments in declared order, then keywords, checks each value and fills in
// the defaults. c10::Error, in the form above, for extra, unknown, repeated or missing
// arguments and invalid values.
BoundArgs bind(const Spec& spec, std::string_view who, const std::string& name,
               const std::vector<SpecParam>& params);

// Checks a parameter's own default (of a spec without source: no column), as registries do when
// an entry is added.
void check_default(std::string_view who, const std::string& name, const SpecParam& param);

}  // namespace torchinit::detail
