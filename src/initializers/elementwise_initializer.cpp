#include "torchinit/elementwise_initializer.h"

#include "initializers/fill_helpers.h"
#include "initializers/run_fill.h"

namespace torchinit {

void ElementwiseInitializer::fill(at::Tensor& t, const ParamInfo& p, const Stream& s) const {
  const ElementFill values = element_fill(p);
  detail::parallel_fill(
      t, [&](auto* out, int64_t first, int64_t count) { values(out, first, count, s); });
}

void ElementwiseInitializer::fill_runs(at::Tensor& out, const std::vector<ElementRun>& runs,
                                       const ParamInfo& p, const Stream& s) const {
  const ElementFill values = element_fill(p);
  detail::parallel_fill_runs(
      out, runs, [&](auto* o, int64_t first, int64_t count) { values(o, first, count, s); });
}

}  // namespace torchinit
