// Plan selectors: which parameters a rule's left-hand side names (path glob, @ModuleType.param,
// :role), and the validation that keeps every selector printable back into a text plan.
#pragma once

#include <string>
#include <string_view>

#include "torchinit/layout.h"

namespace torchinit::detail {

// Glob with * (any run, dots included) and ? (one character).
bool glob(std::string_view pattern, std::string_view text);
// c10::Error naming the problem unless `selector` is a valid selector.
void check_selector(const std::string& selector);
bool matches(const std::string& selector, const ParamInfo& p);

}  // namespace torchinit::detail
