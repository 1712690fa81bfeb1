// check_sharded: check() of the full parameter, computed from shards. For continuous marginals
// the statistics are check()'s own (mean and variance z-tests from the merged moments, KS and
// Anderson–Darling on check()'s evenly strided subsample, alpha / 4 each, the same power rule);
// the subsample is assembled from the ranks that hold its elements, never the full tensor.
#include <ATen/Functions.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>

#include "checks/marginal_tests.h"
#include "checks/structure_check.h"
#include "torchinit/distributed.h"

namespace torchinit::dist {
namespace {

// check() of `d` reads only what shards can merge: the moments and the strided subsample of a
// continuous marginal with no structure across elements.
bool is_marginal(const Distribution& d) {
  if (d.is_exact() || !detail::checkable_from_merged_statistics(d.typed_structure())) return false;
  switch (d.kind()) {
    case Distribution::Kind::Uniform:
    case Distribution::Kind::Normal:
    case Distribution::Kind::TruncatedNormal:
      return true;
    default:
      return false;
  }
}

// check()'s subsample (element (i n) / k for i < k = min(n, m), all when n <= m), sorted:
// every rank writes the elements its runs hold, a sum all-reduce assembles them.
std::vector<double> sorted_global_sample(Context& ctx, const at::Tensor& shard,
                                         const std::vector<ElementRun>& runs, int64_t n,
                                         int64_t m) {
  const int64_t k = std::min(n, m);
  at::Tensor values = at::zeros({k + 1}, at::kDouble);  // last: how many this rank wrote
  double* v = values.data_ptr<double>();
  const at::Tensor local = shard.detach().to(at::kCPU, at::kDouble).contiguous().reshape({-1});
  const double* x = local.data_ptr<double>();
  int64_t pos = 0, written = 0;
  for (const auto& r : runs) {
    // i with first <= floor(i n / k) < first + count  <=>  ceil(first k / n) <= i < ceil(end k / n)
    auto ceil_div = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
    const int64_t lo = n <= m ? r.first : ceil_div(r.first * k, n);
    const int64_t hi = n <= m ? r.first + r.count : ceil_div((r.first + r.count) * k, n);
    for (int64_t i = lo; i < hi; ++i) {
      const int64_t e = n <= m ? i : (i * n) / k;
      v[i] = x[pos + e - r.first];
      ++written;
    }
    pos += r.count;
  }
  v[k] = double(written);
  ctx.all_reduce_sum(values, "check_sharded (subsample)");
  TORCH_CHECK(int64_t(v[k]) == k, "torchinit::dist::check_sharded: the ranks' slices hold ",
              int64_t(v[k]), " of the ", k,
              " subsample elements; the slices must cover the parameter exactly once");
  std::vector<double> out(v, v + k);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

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
  if (!finite || !is_marginal(theory)) {
    // Whole-tensor structure (or the count of non-finite values): check() on the full tensor.
    const at::Tensor whole = all_gather_full(ctx, shard, full_shape, slice);
    return check(whole.to(shard.scalar_type()), theory, options);
  }
  CheckResult r(theory, m.n, options.alpha());
  const auto sample =
      sorted_global_sample(ctx, shard, slice.runs(full, who), m.n, options.shape_sample());
  detail::test_marginal(r, sample, m, theory, options.alpha() / 4, options,
                        /*moments_independent=*/true, shard.scalar_type());
  return r;
}

}  // namespace torchinit::dist
