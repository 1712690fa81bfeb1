// check() from shards' merged statistics (merged_check.h): the same moments and the same sorted
// subsample as check(), so the statistics and the verdict are check()'s.
#include "torchinit/merged_check.h"

#include <ATen/ops/from_blob.h>
#include <ATen/ops/index_select.h>
#include <ATen/ops/zeros.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <string>
#include <vector>

#include "checks/marginal_tests.h"
#include "checks/structure_check.h"

namespace torchinit {

bool checkable_from_shards(const Distribution& d) {
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

at::Tensor shard_subsample(const at::Tensor& shard, const std::vector<int64_t>& full_shape,
                           const Slice& slice, const CheckOptions& options) {
  constexpr const char* who = "torchinit::shard_subsample";
  validate_check_options(options, who);
  TORCH_CHECK(shard.defined() && at::isFloatingType(shard.scalar_type()), who,
              ": needs a floating shard");
  TORCH_CHECK(shard.numel() == slice.numel(full_shape, who), who, ": the shard holds ",
              shard.numel(), " elements, slice ", slice.str(), " has ",
              slice.numel(full_shape, who), "; pass the shard's own slice");
  int64_t n = 1;
  for (const int64_t s : full_shape) n *= s;
  const int64_t m = options.shape_sample();
  const int64_t k = std::min(n, m);
  at::Tensor values = at::zeros({k + 1}, at::kDouble);  // last: how many this shard wrote
  double* v = values.data_ptr<double>();
  // i with first <= floor(i n / k) < first + count  <=>  ceil(first k / n) <= i < ceil(end k / n)
  auto ceil_div = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
  std::vector<int64_t> slots, positions;  // subsample slot i, the element's place in the shard
  int64_t pos = 0;
  for (const auto& r : slice.runs(full_shape, who)) {
    const int64_t lo = n <= m ? r.first : ceil_div(r.first * k, n);
    const int64_t hi = n <= m ? r.first + r.count : ceil_div((r.first + r.count) * k, n);
    for (int64_t i = lo; i < hi; ++i) {
      slots.push_back(i);
      positions.push_back(pos + (n <= m ? i : (i * n) / k) - r.first);
    }
    pos += r.count;
  }
  // Only the sampled elements are read (no copy of the shard).
  const at::Tensor picked =
      shard.detach()
          .reshape({-1})
          .index_select(0, at::from_blob(positions.data(), {int64_t(positions.size())}, at::kLong)
                               .to(shard.device()))
          .to(at::kCPU, at::kDouble);
  const double* x = picked.data_ptr<double>();
  for (size_t j = 0; j < slots.size(); ++j) v[slots[j]] = x[j];
  v[k] = double(slots.size());
  return values;
}

CheckResult check_merged(const Distribution& theory, const stats::Moments& merged,
                         const at::Tensor& summed, at::ScalarType dtype,
                         const CheckOptions& options) {
  constexpr const char* who = "torchinit::check_merged";
  validate_check_options(options, who);
  TORCH_CHECK(checkable_from_shards(theory), who, ": ", theory.str(),
              " is not checkable from merged statistics (checkable_from_shards); check the "
              "assembled tensor instead");
  TORCH_CHECK(merged.n > 0, who, ": the full parameter has no elements");
  const int64_t k = std::min(merged.n, options.shape_sample());
  TORCH_CHECK(summed.dim() == 1 && summed.numel() == k + 1, who, ": the summed subsample has ",
              summed.numel(), " values, a parameter of ", merged.n, " elements needs ", k + 1,
              "; sum every rank's shard_subsample with the same options");
  const at::Tensor s = summed.to(at::kCPU, at::kDouble).contiguous();
  const double* v = s.data_ptr<double>();
  TORCH_CHECK(int64_t(v[k]) == k, who, ": the ranks' slices hold ", int64_t(v[k]), " of the ", k,
              " subsample elements; the slices must cover the parameter exactly once");
  std::vector<double> sample(v, v + k);
  std::sort(sample.begin(), sample.end());
  CheckResult r(theory, merged.n, options.alpha());
  detail::test_marginal(r, sample, merged, theory, options.alpha() / 4, options,
                        /*moments_independent=*/true, dtype);
  return r;
}

}  // namespace torchinit
