// libFuzzer target for Plan::parse (text and JSON plans): any input either parses or throws
// c10::Error; a parsed plan prints (str(), json()) as text that parses to the same rules.
#include <c10/util/Exception.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "torchinit/plan.h"

namespace {

bool same_rules(const torchinit::Plan& a, const torchinit::Plan& b) {
  if (a.rules().size() != b.rules().size()) return false;
  for (size_t i = 0; i < a.rules().size(); ++i)
    if (a.rules()[i].selector != b.rules()[i].selector || !(a.rules()[i].spec == b.rules()[i].spec))
      return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  torchinit::Plan plan;
  try {
    plan = torchinit::Plan::parse(text);
  } catch (const c10::Error&) {
    return 0;
  }
  try {
    if (!same_rules(torchinit::Plan::parse(plan.json()), plan)) std::abort();
    if (!plan.rules().empty() && !same_rules(torchinit::Plan::parse(plan.str()), plan))
      std::abort();
  } catch (const c10::Error&) {
    std::abort();  // a printed plan that does not parse back
  }
  return 0;
}
