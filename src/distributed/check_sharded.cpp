// check_sharded: check() of the full parameter, computed from shards (merged_check.h). For
// continuous marginals the statistics are check()'s own (mean and variance z-tests from the merged
// moments, KS and Anderson–Darling on check()'s evenly strided subsample, alpha / 4 each, the same
// power rule); the subsample is assembled from the ranks that hold its elements, never the full
// tensor. Constants sum a count of differing elements.
#include <ATen/Functions.h>
#include <c10/util/Exception.h>

#include <cmath>

#include "torchinit/distributed.h"
#include "torchinit/merged_check.h"

namespace torchinit::dist {

CheckResult check_sharded(Context& ctx, const at::Tensor& shard, at::IntArrayRef full_shape,
                          const Slice& slice, const Distribution& theory,
                          const CheckOptions& options) {
  constexpr const char* who = "torchinit::dist::check_sharded";
  const std::vector<int64_t> full = full_shape.vec();
  TORCH_CHECK(shard.defined() && at::isFloatingType(shard.scalar_type()), who,
              ": needs a floating shard");
  TORCH_CHECK(shard.numel() == slice.numel(full, who), who, ": the shard holds ", shard.numel(),
              " elements, slice ", slice.str(), " has ", slice.numel(full, who),
              "; pass the shard's own slice");
  validate_check_options(options, who);
  const stats::Moments local = shard.numel() > 0 ? tensor_moments(shard) : stats::Moments{};
  const stats::Moments m = all_reduce_moments(ctx, local);
  TORCH_CHECK(m.n > 0, who, ": the full parameter has no elements");
  const bool finite = std::isfinite(m.mean) && std::isfinite(m.m2) && std::isfinite(m.m4);
  if (finite && constant_from_shards(theory)) {  // ones, zeros: a count, never the tensor
    at::Tensor differing = at::full({1}, double(count_not_constant(shard, theory)), at::kDouble);
    ctx.all_reduce_sum(differing, "check_sharded (constant)");
    return check_constant_merged(theory, m.n, int64_t(differing.item<double>()), options);
  }
  if (!finite || !checkable_from_shards(theory)) {
    // Whole-tensor structure (or the count of non-finite values): check() on the full tensor.
    const at::Tensor whole = all_gather_full(ctx, shard, full_shape, slice);
    return check(whole.to(shard.scalar_type()), theory, options);
  }
  at::Tensor sample = shard_subsample(shard, full, slice, options);
  ctx.all_reduce_sum(sample, "check_sharded (subsample)");
  return check_merged(theory, m, sample, shard.scalar_type(), options);
}

}  // namespace torchinit::dist
