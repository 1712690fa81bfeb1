// Shared helpers of torchinit's unit tests: statistical comparison of samples with a theory,
// error-message capture, and tensor patterns for "unchanged on error" checks.
//
// Statistical conventions (every statistical test in this suite):
//   - fixed seeds, so a failure reproduces;
//   - each statistic is tested at a stated alpha (kAlpha = 1e-4 unless said otherwise);
//   - thresholds come from theory: the two-sided normal quantile for z-scores (|z| < 3.8906 at
//     alpha = 1e-4), Kolmogorov's distribution for the KS statistic, and
//     Var(s^2) = (mu4 - sigma^4 (n-3)/(n-1)) / n for the sample variance.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/equal.h>
#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "torchinit/distribution.h"
#include "torchinit/stats.h"

namespace torchinit::testutil {

// Significance level of every single statistical assertion in the suite.
constexpr double kAlpha = 1e-4;

// The values of `t` as doubles, in row-major order of its logical shape.
inline std::vector<double> to_doubles(const at::Tensor& t) {
  const at::Tensor d = t.detach().to(at::kDouble).contiguous();
  const double* p = d.data_ptr<double>();
  return std::vector<double>(p, p + d.numel());
}

// True when the marginal has a continuous CDF, so that the KS test applies (no atoms).
inline bool is_continuous(const Distribution& d) {
  switch (d.kind()) {
    case Distribution::Kind::Uniform:
    case Distribution::Kind::Normal:
    case Distribution::Kind::TruncatedNormal:
      return true;
    case Distribution::Kind::Orthogonal:  // n = 1: the coordinate is +-gain, two atoms
      return std::max(d.structure().rows, d.structure().cols) > 1;
    default:
      return false;
  }
}

struct SampleStats {
  int64_t n = 0;
  double mean = 0, variance = 0, mean_z = 0, variance_z = 0;
  bool ks_done = false;
  double ks_d = 0, ks_p = 1;
};

inline SampleStats sample_stats(const std::vector<double>& x, const Distribution& d) {
  SampleStats s;
  s.n = static_cast<int64_t>(x.size());
  const stats::Moments m = stats::moments(x.data(), s.n);
  s.mean = m.mean;
  s.variance = m.sample_variance();
  s.mean_z = stats::mean_z(m, d.mean(), d.std());
  s.variance_z = stats::variance_z(m, d.variance(), d.fourth_central_moment());
  if (is_continuous(d)) {
    std::vector<double> sorted = x;
    std::sort(sorted.begin(), sorted.end());
    s.ks_done = true;
    s.ks_d = stats::ks_statistic(sorted, [&d](double v) { return d.cdf(v); });
    s.ks_p = stats::kolmogorov_p(s.ks_d, s.n);
  }
  return s;
}

// Samples `x` (treated as iid draws) against the marginal `d`: mean z-test, variance z-test
// (Var(s^2) from d's fourth central moment) and, for continuous marginals, the KS test. Each is
// two-sided at `alpha`; the message reports every number.
inline ::testing::AssertionResult SamplesMatch(const std::vector<double>& x, const Distribution& d,
                                               double alpha = kAlpha) {
  if (x.size() < 2)
    return ::testing::AssertionFailure() << "need at least 2 samples, got " << x.size();
  for (double v : x)
    if (!std::isfinite(v)) return ::testing::AssertionFailure() << "non-finite sample " << v;
  const double zc = stats::normal_quantile_two_sided(alpha);
  const SampleStats s = sample_stats(x, d);
  const bool mean_ok = std::abs(s.mean_z) < zc;
  const bool var_ok = std::abs(s.variance_z) < zc;
  const bool ks_ok = !s.ks_done || s.ks_p > alpha;
  std::ostringstream msg;
  msg.precision(6);
  msg << d.str() << " vs n=" << s.n << " samples (alpha=" << alpha << ", |z| < " << zc << "): mean "
      << s.mean << " (theory " << d.mean() << ", z=" << s.mean_z << ")" << (mean_ok ? "" : " FAIL")
      << "; variance " << s.variance << " (theory " << d.variance() << ", z=" << s.variance_z << ")"
      << (var_ok ? "" : " FAIL");
  if (s.ks_done) {
    msg << "; KS D=" << s.ks_d << ", p=" << s.ks_p << (ks_ok ? "" : " FAIL");
  } else {
    msg << "; KS skipped (the marginal has atoms)";
  }
  if (mean_ok && var_ok && ks_ok) return ::testing::AssertionSuccess() << msg.str();
  return ::testing::AssertionFailure() << msg.str();
}

inline ::testing::AssertionResult SamplesMatch(const at::Tensor& t, const Distribution& d,
                                               double alpha = kAlpha) {
  return SamplesMatch(to_doubles(t), d, alpha);
}

// The repository root, from the environment that ctest sets. A compile-time path would differ
// in every clone, and then no clone could reuse another's ccache objects.
inline std::string source_dir() {
  const char* dir = std::getenv("TORCHINIT_SOURCE_DIR");
  if (dir == nullptr || *dir == '\0') {
    throw std::runtime_error(
        "TORCHINIT_SOURCE_DIR is not set: run this test through ctest, or set it to the "
        "repository root");
  }
  return dir;
}

inline constexpr double kPi = 3.141592653589793238462643383279502884;

// The standard normal density, written out independently of the library's.
inline double normal_pdf(double z) { return std::exp(-0.5 * z * z) / std::sqrt(2 * kPi); }

// The message of the c10::Error that `fn` throws (without backtrace), or "" with a test failure
// if it throws nothing.
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected a c10::Error, got another exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected a c10::Error, nothing was thrown";
  return "";
}

// Every one of `parts` is a substring of `message`.
inline ::testing::AssertionResult ContainsAll(const std::string& message,
                                              const std::vector<std::string>& parts) {
  std::vector<std::string> missing;
  for (const auto& p : parts)
    if (message.find(p) == std::string::npos) missing.push_back(p);
  if (missing.empty()) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  failure << "message lacks";
  for (const auto& p : missing) failure << " '" << p << "'";
  return failure << "; message was:\n" << message;
}

// Writes a recognizable, non-constant pattern into t so that any write to it shows: (i % 5) - 2 +
// 0.001 i for element i (distinct floats, varied integers), i % 2 for bool.
inline void fill_pattern_(const at::Tensor& t) {
  if (t.numel() == 0) return;
  const at::Tensor i = at::arange(t.numel(), at::TensorOptions().dtype(at::kDouble));
  const at::Tensor v =
      t.scalar_type() == at::kBool ? i.remainder(2) : i.remainder(5).sub(2).add(i.mul(0.001));
  t.detach().copy_(v.reshape(t.sizes()));
}

// The raw bits of a float, for exact golden values.
inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline uint64_t double_bits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, sizeof u);
  return u;
}

// True when a and b have the same dtype, shape and bytes (NaN-safe, unlike at::equal).
inline bool same_bytes(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  if (a.numel() == 0) return true;  // no bytes (and data_ptr() may be null: memcmp needs non-null)
  const at::Tensor ca = a.detach().contiguous(), cb = b.detach().contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.numel() * ca.element_size()) == 0;
}

// The presets whose residual rules are required (Plan::required): they need Transformer blocks,
// and on other modules apply only non-strictly, with a warning that says so.
inline bool needs_transformer_blocks(const std::string& preset) {
  return preset == "megatron_depth" || preset == "gpt_neox" || preset == "olmo_mitchell" ||
         preset == "deepnet" || preset == "t_fixup";
}

}  // namespace torchinit::testutil
