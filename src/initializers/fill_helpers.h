// Shared plumbing of the initializers: parallel element-indexed fills and shape checks.
#pragma once

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#include <string>

#include "torchinit/layout.h"

namespace torchinit::detail {

// Elements per parallel task: large enough to amortize scheduling, small enough to balance.
constexpr int64_t kGrain = 1 << 15;

// Calls fill(out, first, count) on disjoint chunks of a contiguous CPU float32/float64 tensor in
// parallel; values depend on element indices only, so the chunking never changes them.
template <typename Fill>
void parallel_fill(at::Tensor& t, Fill fill) {
  const int64_t n = t.numel();
  if (t.scalar_type() == at::kFloat) {
    float* p = t.data_ptr<float>();
    at::parallel_for(0, n, kGrain, [&](int64_t b, int64_t e) { fill(p + b, b, e - b); });
  } else {
    TORCH_CHECK(t.scalar_type() == at::kDouble, "torchinit: internal error: fill of ",
                t.scalar_type());
    double* p = t.data_ptr<double>();
    at::parallel_for(0, n, kGrain, [&](int64_t b, int64_t e) { fill(p + b, b, e - b); });
  }
}

// c10::Error unless min_dims <= p.dim() <= max_dims.
inline void require_dims(const ParamInfo& p, int64_t min_dims, int64_t max_dims, const char* who,
                         const char* fix) {
  TORCH_CHECK(p.dim() >= min_dims && p.dim() <= max_dims, "torchinit::", who,
              ": needs a tensor with ",
              min_dims == max_dims ? std::to_string(min_dims)
                                   : std::to_string(min_dims) + " to " + std::to_string(max_dims),
              " dims, got shape ", p.shape_str(), "; ", fix);
}

}  // namespace torchinit::detail
