#include "checks/marginal_tests.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace torchinit::detail {
namespace {

std::string num(double x) { return fmt::format("{:.6g}", x); }

}  // namespace

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

void test_marginal(CheckResult& r, const std::vector<double>& sample, const stats::Moments& m,
                   const Distribution& d, double alpha_each, const CheckOptions& o,
                   bool moments_independent, at::ScalarType dtype) {
  const int64_t n = m.n;
  if (moments_independent) {
    r.add(z_statistic("mean", m.mean, d.mean(), d.std() / std::sqrt(double(n)), alpha_each, n));
    if (n >= 2) {
      const double var_sd =
          std::sqrt(stats::variance_of_sample_variance(n, d.variance(), d.fourth_central_moment()));
      r.add(z_statistic("variance", m.sample_variance(), d.variance(), var_sd, alpha_each, n));
      // Power against a relative variance error e: needs e·sigma^2 >= (z_alpha + z_power)·sd.
      const double need = stats::normal_quantile_two_sided(alpha_each) +
                          stats::normal_quantile_two_sided(2 * (1 - o.power()));
      if (o.detectable_variance_error() * d.variance() < need * var_sd)
        r.set_underpowered(
            fmt::format("n={} cannot detect a {:.0f}% variance error with power {} at alpha {:.3g}",
                        n, 100 * o.detectable_variance_error(), o.power(), alpha_each));
    } else {
      r.set_underpowered("a single element cannot be tested");
    }
  }
  // Stored values are rounded to the dtype: compare each with the theory's CDF averaged over its
  // rounding cell, (F(x - delta/2) + F(x + delta/2)) / 2. Without it a bound that is not
  // representable (kaiming's 0.153 in bfloat16) puts ~0.1% of the values on or past the support's
  // end, where F is 0 or 1 and Anderson–Darling's log terms explode.
  const int mantissa = mantissa_bits(dtype);
  const auto cdf = [&d, mantissa](double x) {
    if (mantissa >= 52 || x == 0) return d.cdf(x);
    int e = 0;
    std::frexp(x, &e);  // |x| in [2^(e-1), 2^e)
    const double delta = std::ldexp(1.0, e - 1 - mantissa);
    return 0.5 * (d.cdf(x - 0.5 * delta) + d.cdf(x + 0.5 * delta));
  };
  const int64_t k = int64_t(sample.size());
  const double ks = stats::ks_statistic(sample, cdf);
  r.add(p_statistic("ks", "D", ks, stats::kolmogorov_p(ks, k), alpha_each, k));
  if (moments_independent) {
    const double ad = stats::anderson_darling_statistic(sample, cdf);
    r.add(
        p_statistic("anderson_darling", "A2", ad, stats::anderson_darling_p(ad, k), alpha_each, k));
  }
}

}  // namespace torchinit::detail
