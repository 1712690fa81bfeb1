// Which kernel table random.h's fills use: the widest ISA the CPU supports, TORCHINIT_ISA, or
// force_isa().
#include <c10/util/Exception.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "random/kernels.h"
#include "torchinit/random.h"

namespace torchinit {
namespace {

constexpr int kUnset = -1;
std::atomic<int> g_isa{kUnset};

Isa widest_supported() {
  if (isa_supported(Isa::Avx512)) return Isa::Avx512;
  if (isa_supported(Isa::Avx2)) return Isa::Avx2;
  return Isa::Scalar;
}

Isa initial_isa() {
  const char* env = std::getenv("TORCHINIT_ISA");
  if (env == nullptr || *env == '\0') return widest_supported();
  const std::string v = env;
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
    if (v != isa_name(isa)) continue;
    TORCH_CHECK(isa_supported(isa), "torchinit::active_isa: TORCHINIT_ISA=", v,
                " but this CPU or build lacks it; unset TORCHINIT_ISA or use scalar");
    return isa;
  }
  TORCH_CHECK(false, "torchinit::active_isa: expected TORCHINIT_ISA=scalar, avx2 or avx512, got '",
              v, "'; fix or unset the variable");
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return "scalar";
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx512:
      return "avx512";
  }
  return "?";
}

bool isa_supported(Isa isa) {
  if (isa == Isa::Scalar) return true;
#if defined(TORCHINIT_X86_KERNELS)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                    __builtin_cpu_supports("bmi2");
  if (isa == Isa::Avx2) return avx2;
  return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}

Isa active_isa() {
  int isa = g_isa.load(std::memory_order_relaxed);
  if (isa == kUnset) {
    int expected = kUnset;
    g_isa.compare_exchange_strong(expected, static_cast<int>(initial_isa()));
    isa = g_isa.load();
  }
  return static_cast<Isa>(isa);
}

void force_isa(Isa isa) {
  TORCH_CHECK(isa_supported(isa), "torchinit::force_isa: this CPU or build lacks ", isa_name(isa),
              "; check isa_supported() first, or use Isa::Scalar");
  g_isa.store(static_cast<int>(isa));
}

namespace detail {

const FillKernels& active_kernels() {
  switch (active_isa()) {
#if defined(TORCHINIT_X86_KERNELS)
    case Isa::Avx512:
      return avx512_kernels();
    case Isa::Avx2:
      return avx2_kernels();
#endif
    default:
      return scalar_kernels();
  }
}

}  // namespace detail
}  // namespace torchinit
