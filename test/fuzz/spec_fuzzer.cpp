// libFuzzer target for Spec::parse: any input either parses or throws c10::Error (never crashes,
// hangs or trips a sanitizer), and what parses round-trips: parse(str()) == the parsed spec.
#include <c10/util/Exception.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "torchinit/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  torchinit::Spec spec;
  try {
    spec = torchinit::Spec::parse(text);
  } catch (const c10::Error&) {
    return 0;
  }
  const std::string printed = spec.str();
  try {
    if (!(torchinit::Spec::parse(printed) == spec)) std::abort();  // str() must round-trip
  } catch (const c10::Error&) {
    std::abort();  // str() printed something that does not parse
  }
  return 0;
}
