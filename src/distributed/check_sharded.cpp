// check_sharded: check() of the full parameter, computed from shards. For continuous marginals
// the statistics are check()'s own (mean and variance z-tests from the merged moments, KS and
// Anderson–Darling on check()'s evenly strided subsample, alpha / 4 each, the same power rule);
// the subsample is assembled from the ranks that hold its elements, never the full tensor.
#include <ATen/Functions.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "torchinit/distributed.h"

namespace torchinit::dist {
namespace {

std::string num(double x) { return fmt::format("{:.6g}", x); }

// As check.cpp (same names, formulas and messages, so the results compare field by field).
Statistic z_statistic(const std::string& name, double observed, double expected, double sd,
                      double alpha, int64_t n) {
  Statistic s;
  s.name = name;
  s.value = observed;
  s.alpha = alpha;
  const double zc = stats::normal_quantile_two_sided(alpha);
  s.lo = expected - zc * sd;
  s.hi = expected + zc * sd;
  const double z = sd > 0 ? (observed - expected) / sd : (observed == expected ? 0.0 : INFINITY);
  s.p_value = std::isinf(z) ? 0.0 : stats::normal_two_sided_p(z);
  s.passed = s.p_value >= alpha;
  s.detail = fmt::format("{} {} {} [{}, {}] (z={:.3g}, n={}, alpha={:.3g})", name, num(observed),
                         s.passed ? "in" : "outside", num(s.lo), num(s.hi), z, n, alpha);
  return s;
}

Statistic p_statistic(const std::string& name, const std::string& symbol, double value, double p,
                      double alpha, int64_t n) {
  Statistic s;
  s.name = name;
  s.value = value;
  s.lo = s.hi = std::numeric_limits<double>::quiet_NaN();
  s.p_value = p;
  s.alpha = alpha;
  s.passed = p >= alpha;
  s.detail = fmt::format("{} {}={:.4g} p={:.3g} ({} alpha={:.3g}, n={})", name, symbol, value, p,
                         s.passed ? ">=" : "<", alpha, n);
  return s;
}

int mantissa_bits(at::ScalarType t) {
  switch (t) {
    case at::kDouble:
      return 52;
    case at::kHalf:
      return 10;
    case at::kBFloat16:
      return 7;
    default:
      return 23;
  }
}

bool is_marginal(const Distribution& d) {
  if (d.is_exact()) return false;
  switch (d.kind()) {
    case Distribution::Kind::Uniform:
    case Distribution::Kind::Normal:
    case Distribution::Kind::TruncatedNormal:
      return d.family() != "chrono" && d.family() != "delta_orthogonal" && d.family() != "sparse";
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
  TORCH_CHECK(options.alpha() > 0 && options.alpha() < 1, who, ": alpha must be in (0, 1), got ",
              options.alpha());
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
  const double alpha_each = options.alpha() / 4;
  const int64_t n = m.n;
  r.add(z_statistic("mean", m.mean, theory.mean(), theory.std() / std::sqrt(double(n)), alpha_each,
                    n));
  if (n >= 2) {
    const double var_sd = std::sqrt(
        stats::variance_of_sample_variance(n, theory.variance(), theory.fourth_central_moment()));
    r.add(z_statistic("variance", m.sample_variance(), theory.variance(), var_sd, alpha_each, n));
    const double need = stats::normal_quantile_two_sided(alpha_each) +
                        stats::normal_quantile_two_sided(2 * (1 - options.power()));
    if (options.detectable_variance_error() * theory.variance() < need * var_sd)
      r.set_underpowered(
          fmt::format("n={} cannot detect a {:.0f}% variance error with power {} at alpha {:.3g}",
                      n, 100 * options.detectable_variance_error(), options.power(), alpha_each));
  } else {
    r.set_underpowered("a single element cannot be tested");
  }
  const auto sample =
      sorted_global_sample(ctx, shard, slice.runs(full, who), n, options.shape_sample());
  const int mantissa = mantissa_bits(shard.scalar_type());
  const auto cdf = [&theory, mantissa](double x) {
    if (mantissa >= 52 || x == 0) return theory.cdf(x);
    int e = 0;
    std::frexp(x, &e);
    const double delta = std::ldexp(1.0, e - 1 - mantissa);
    return 0.5 * (theory.cdf(x - 0.5 * delta) + theory.cdf(x + 0.5 * delta));
  };
  const int64_t k = int64_t(sample.size());
  const double ks = stats::ks_statistic(sample, cdf);
  r.add(p_statistic("ks", "D", ks, stats::kolmogorov_p(ks, k), alpha_each, k));
  const double ad = stats::anderson_darling_statistic(sample, cdf);
  r.add(p_statistic("anderson_darling", "A2", ad, stats::anderson_darling_p(ad, k), alpha_each, k));
  return r;
}

}  // namespace torchinit::dist
