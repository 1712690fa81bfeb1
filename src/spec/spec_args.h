// Binding a spec's arguments to a small declared parameter list (numbers and choices with
// defaults), shared by the activation registries of the signal and nn layers so that both give
// the same errors for the same mistakes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "torchinit/spec.h"

namespace torchinit::detail {

struct SpecParam {
  std::string name;
  SpecValue default_value;
  std::vector<std::string> choices;  // empty: a number
  bool positive = false;
};

// " at column N\n<caret>" when the spec came from text, else "".
std::string where(const Spec& spec, int column);
// "name(a=1, mode=x|y)" for error messages.
std::string signature(const std::string& name, const std::vector<SpecParam>& params);
// The given value of each parameter (nullopt: not given), positional arguments in declared order
// then keywords. c10::Error, starting with `who: name`, for extra, unknown or repeated arguments,
// wrong kinds, non-finite numbers and unknown choices.
std::vector<std::optional<SpecValue>> bind_args(const Spec& spec, std::string_view who,
                                                const std::string& name,
                                                const std::vector<SpecParam>& params);

}  // namespace torchinit::detail
