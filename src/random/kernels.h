// The per-ISA fill kernels behind random.h's fill functions, and their dispatch. Each kernel
// table is the same code (fill_impl.h) compiled with different instruction sets, plus a
// hand-vectorized Philox; the transforms use only correctly rounded float/double operations
// without FMA contraction, so every table gives the same bytes.
#pragma once

#include <cstdint>

#include "torchinit/random.h"

namespace torchinit::detail {

struct FillKernels {
  void (*bits)(uint32_t* out, int64_t first, int64_t count, const Stream& s, uint16_t substream);
  void (*uniform_f)(float* out, int64_t first, int64_t count, const Stream& s, double a, double b);
  void (*uniform_d)(double* out, int64_t first, int64_t count, const Stream& s, double a, double b);
  // mean + std * z in float, z by the float Box-Muller of fill_impl.h.
  void (*normal_f)(float* out, int64_t first, int64_t count, const Stream& s, float mean,
                   float std);
  // out[i] = the value normal_f gives element elements[i] in `substream` (redraws of rejection
  // samplers: scattered elements, batched so the transform still vectorizes).
  void (*normal_f_at)(float* out, const int64_t* elements, int64_t n, const Stream& s,
                      uint16_t substream, float mean, float std);
};

const FillKernels& scalar_kernels();
#if defined(TORCHINIT_X86_KERNELS)
const FillKernels& avx2_kernels();
const FillKernels& avx512_kernels();
#endif

// The table of the active ISA (random.h: active_isa, force_isa, TORCHINIT_ISA).
const FillKernels& active_kernels();

}  // namespace torchinit::detail
