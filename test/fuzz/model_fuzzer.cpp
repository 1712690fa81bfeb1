// libFuzzer target for the model spec parser (nn::ModelRegistry::resolve, the parse-and-validate
// part of nn::make, without building modules): any input resolves or throws c10::Error, and a
// resolved spec is a fixed point: resolve(resolve(s)) == resolve(s).
#include <c10/util/Exception.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "torchinit/nn/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto& registry = torchinit::nn::ModelRegistry::global();
  torchinit::Spec resolved;
  try {
    resolved = registry.resolve(text);
  } catch (const c10::Error&) {
    return 0;
  }
  try {
    if (!(registry.resolve(resolved) == resolved)) std::abort();
  } catch (const c10::Error&) {
    std::abort();  // a resolved spec must resolve again
  }
  return 0;
}
