// Sharded fills of element-wise initializers: the same element-indexed fill functions, called on
// element runs of the full parameter instead of [0, numel).
#pragma once

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>

#include <algorithm>
#include <vector>

#include "initializers/fill_helpers.h"
#include "torchinit/slice.h"

namespace torchinit::detail {

// Calls fill(out, first, count) so that `out` (contiguous CPU float32/float64) receives elements
// runs[0], runs[1], … of the full parameter back to back; chunks run in parallel and may split a
// run (values depend on element indices only).
template <typename Fill>
void parallel_fill_runs(at::Tensor& out, const std::vector<ElementRun>& runs, Fill fill) {
  std::vector<int64_t> offset(runs.size() + 1, 0);  // position of each run in `out`
  for (size_t i = 0; i < runs.size(); ++i) offset[i + 1] = offset[i] + runs[i].count;
  auto each = [&](auto* data) {
    at::parallel_for(0, offset.back(), kGrain, [&](int64_t b, int64_t e) {
      size_t r = std::upper_bound(offset.begin(), offset.end(), b) - offset.begin() - 1;
      while (b < e) {
        const int64_t n = std::min(e, offset[r + 1]) - b;
        fill(data + b, runs[r].first + (b - offset[r]), n);
        b += n;
        ++r;
      }
    });
  };
  if (out.scalar_type() == at::kFloat) {
    each(out.data_ptr<float>());
  } else {
    TORCH_CHECK(out.scalar_type() == at::kDouble, "torchinit: internal error: fill_runs of ",
                out.scalar_type());
    each(out.data_ptr<double>());
  }
}

}  // namespace torchinit::detail
