// Calibration and power of check() (issue 3, "Calibration and power").
//
// False alarms: correct initializations are checked many times with different seeds. Under the
// null hypothesis the number of rejections is Binomial(runs, rate); every count is compared with
// stats::binomial_interval(runs, rate, 1e-3), the binomial 99.9% interval, so each such
// assertion fails by chance with probability <= 1e-3 (eight of them here: <= 8e-3 together).
//
// Power: wrong initializations are checked at the default alpha (1e-6 per check) and must be
// rejected. Where the power is a probability (a 5% variance error) it is derived below from
// Var(s^2) and the requirement (>= 99% of seeds) is asserted; where the difference is gross
// (another family, another scheme) every seed must be rejected.
//
// Seeds are fixed (runs use seeds base + i); nothing here is tuned to the seeds.
#include <ATen/ops/empty.h>
#include <ATen/ops/linalg_qr.h>
#include <ATen/ops/randn.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "torchinit/check.h"
#include "torchinit/distribution.h"
#include "torchinit/init.h"
#include "torchinit/stats.h"

namespace {

using torchinit::check;
using torchinit::CheckOptions;
using torchinit::CheckResult;
using torchinit::Distribution;
using torchinit::InitOptions;
using Shape = std::vector<int64_t>;
namespace st = torchinit::stats;

constexpr double kIntervalAlpha = 1e-3;  // binomial 99.9% intervals
constexpr double kDefaultAlpha = 1e-6;   // CheckOptions' default, the alpha of every power test

// A double as a spec argument, exactly (std::to_string keeps 6 decimals only).
std::string num(double x) { return fmt::format("{:.17g}", x); }

at::Tensor calibration_tensor(const Shape& shape, const std::string& spec, uint64_t seed,
                              at::ScalarType dtype = at::kFloat) {
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  torchinit::init_(t, spec, InitOptions().seed(seed).key("calibration"));
  return t;
}

// ---------------------------------------------------------------------------------------------
// False alarms

struct NullCase {
  std::string spec;
  Shape shape;  // 2,000 to 4,000 elements: the loop stays fast, the CLT still holds
};

const std::vector<NullCase>& null_cases() {
  static const std::vector<NullCase> cases = {
      {"uniform(a=-1, b=1)", {50, 40}},
      {"normal(mean=0.1, std=0.5)", {64, 48}},
      {"xavier_normal", {40, 100}},
      {"trunc_normal(std=1, a=-2, b=2)", {60, 50}},
  };
  return cases;
}

constexpr int64_t kNullRuns = 2000;
constexpr double kNullAlpha = 0.01;

struct NullCounts {
  int64_t rejected_at_001 = 0;
  int64_t rejected_at_default = 0;
  std::map<std::string, int64_t> p_below_001;  // per statistic: p < 0.01
  std::vector<std::string> default_failures;
};

// The 2,000 correct initializations, each checked at alpha 0.01 and at the default alpha.
const NullCounts& null_counts() {
  static const NullCounts counts = [] {
    NullCounts c;
    const auto& cases = null_cases();
    for (int64_t i = 0; i < kNullRuns; ++i) {
      const NullCase& k = cases[i % cases.size()];
      const at::Tensor t = calibration_tensor(k.shape, k.spec, 100000 + uint64_t(i));
      const CheckResult r = check(t, k.spec, CheckOptions().alpha(kNullAlpha));
      if (r.rejected()) ++c.rejected_at_001;
      for (const auto& s : r.statistics())
        if (s.p_value < 0.01) ++c.p_below_001[s.name];
      const CheckResult d = check(t, k.spec);
      if (d.rejected()) {
        ++c.rejected_at_default;
        c.default_failures.push_back(d.summary());
      }
    }
    return c;
  }();
  return counts;
}

TEST(FalseAlarms, TwoThousandCorrectInitsAtAlphaOnePercent) {
  const NullCounts& c = null_counts();
  const auto [lo, hi] = st::binomial_interval(kNullRuns, kNullAlpha, kIntervalAlpha);
  std::cout << "[ calibration ] rejected at alpha=0.01: " << c.rejected_at_001 << " of "
            << kNullRuns << ", binomial 99.9% interval [" << lo << ", " << hi << "]\n";
  EXPECT_GE(c.rejected_at_001, lo) << "the check is conservative beyond its nominal alpha";
  EXPECT_LE(c.rejected_at_001, hi) << "the check rejects correct inits more often than alpha";
}

TEST(FalseAlarms, NoneAtTheDefaultAlpha) {
  // 2,000 checks at 1e-6: P(any rejection) <= 2e-3.
  const NullCounts& c = null_counts();
  EXPECT_EQ(c.rejected_at_default, 0);
  for (const auto& f : c.default_failures) ADD_FAILURE() << f;
}

TEST(FalseAlarms, EachStatisticsPValueIsUniform) {
  // Sharper than the Bonferroni-combined verdict: under H0 each statistic's p-value is uniform,
  // so P(p < 0.01) = 0.01 exactly (to the accuracy of the CLT at n >= 2,000 for the z-tests and
  // of the documented p-value approximations for KS and AD).
  const NullCounts& c = null_counts();
  const auto [lo, hi] = st::binomial_interval(kNullRuns, 0.01, kIntervalAlpha);
  for (const std::string name : {"mean", "variance", "ks", "anderson_darling"}) {
    const auto it = c.p_below_001.find(name);
    const int64_t count = it == c.p_below_001.end() ? 0 : it->second;
    std::cout << "[ calibration ] " << name << ": p < 0.01 in " << count << " of " << kNullRuns
              << " (interval [" << lo << ", " << hi << "])\n";
    EXPECT_GE(count, lo) << name;
    EXPECT_LE(count, hi) << name;
  }
}

// ---------------------------------------------------------------------------------------------
// Power against a 5% variance error at n = 50,000

// P(the variance statistic alone rejects) when the data's variance is (1 + e) sigma^2 and its
// kurtosis is the theory's: s^2 ~ N((1+e) sigma^2, Var_1(s^2)) against the acceptance region
// sigma^2 ± z sd_0 (z at the variance statistic's share of alpha). A lower bound on the check's
// power (its other statistics only add rejections).
double variance_power(const Distribution& d, int64_t n, double e, double alpha_each) {
  const double s2 = d.variance(), kurt = d.fourth_central_moment() / (s2 * s2);
  const double sd0 = std::sqrt(st::variance_of_sample_variance(n, s2, kurt * s2 * s2));
  const double s2_1 = (1 + e) * s2;
  const double sd1 = std::sqrt(st::variance_of_sample_variance(n, s2_1, kurt * s2_1 * s2_1));
  const double z = st::normal_quantile_two_sided(alpha_each);
  const auto phi = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); };
  return phi((s2_1 - (s2 + z * sd0)) / sd1) + phi(((s2 - z * sd0) - s2_1) / sd1);
}

struct PowerCase {
  std::string promised;  // the spec the check is told
  std::string actual;    // the spec that fills the tensor: promised with std * sqrt(1.05)
  int64_t seeds;
};

TEST(Power, DetectsAFivePercentVarianceErrorAtFiftyThousand) {
  const Shape shape = {250, 200};  // n = 50,000
  const double root = std::sqrt(1.05);
  const double b = std::sqrt(3.0) * 0.1;  // uniform with std 0.1
  const std::vector<PowerCase> cases = {
      {"normal(std=0.1)", "normal(std=" + num(0.1 * root) + ")", 1000},
      {"uniform(a=" + num(-b) + ", b=" + num(b) + ")",
       "uniform(a=" + num(-b * root) + ", b=" + num(b * root) + ")", 100},
      {"trunc_normal(std=0.1, a=-0.2, b=0.2)",
       "trunc_normal(std=" + num(0.1 * root) + ", a=" + num(-0.2 * root) +
           ", b=" + num(0.2 * root) + ")",
       100},
  };
  for (const PowerCase& c : cases) {
    SCOPED_TRACE(c.promised);
    const Distribution promised = torchinit::theory(c.promised, shape);
    const Distribution actual = torchinit::theory(c.actual, shape);
    ASSERT_NEAR(actual.variance() / promised.variance(), 1.05, 1e-5);
    // The check spends alpha/4 on the variance statistic.
    const double power = variance_power(promised, 50000, 0.05, kDefaultAlpha / 4);
    EXPECT_GE(power, 0.99) << "theory: the variance statistic alone has power " << power;
    int64_t detected = 0;
    for (int64_t s = 0; s < c.seeds; ++s) {
      const CheckResult r =
          check(calibration_tensor(shape, c.actual, 500000 + uint64_t(s)), promised);
      ASSERT_FALSE(r.inconclusive()) << r.summary();  // n = 50,000 is above the power limit
      if (r.rejected()) ++detected;
    }
    // The requirement of the issue: >= 99% of seeds at the default alpha.
    std::cout << "[ power ] " << c.promised << " with variance x1.05: detected " << detected
              << " of " << c.seeds << " (variance statistic alone: power " << power << ")\n";
    EXPECT_GE(double(detected), 0.99 * double(c.seeds));
    // And the count is what that power predicts: not below its binomial 99.9% interval.
    EXPECT_GE(detected, st::binomial_interval(c.seeds, power, kIntervalAlpha).first);
  }
}

// ---------------------------------------------------------------------------------------------
// Telling schemes and families apart (default alpha, every seed must be rejected)

constexpr int kSeparationSeeds = 5;

// Every one of kSeparationSeeds tensors filled by `actual` is rejected against `promised`.
void expect_told_apart(const std::string& actual, const std::string& promised, const Shape& shape,
                       const std::string& expected_statistic = "") {
  SCOPED_TRACE(actual + " checked as " + promised);
  for (int s = 0; s < kSeparationSeeds; ++s) {
    const at::Tensor t = calibration_tensor(shape, actual, 900 + s);
    // Control: each tensor matches its own theory.
    const CheckResult own = check(t, actual);
    EXPECT_TRUE(own.passed()) << own.summary();
    const CheckResult r = check(t, promised);
    EXPECT_TRUE(r.rejected()) << r.summary();
    if (!expected_statistic.empty()) {
      const auto* stat = r.find(expected_statistic);
      ASSERT_NE(stat, nullptr);
      EXPECT_FALSE(stat->passed) << r.summary();
    }
  }
}

TEST(Power, TellsXavierFromKaimingAndFromLecun) {
  // At 256x256 (fan_in = fan_out = 256): xavier 1/256, kaiming (leaky_relu, a=0: gain^2 = 2)
  // 2/256.
  const Shape square = {256, 256};
  for (const auto& [x, k] : std::vector<std::pair<std::string, std::string>>{
           {"xavier_uniform", "kaiming_uniform"}, {"xavier_normal", "kaiming_normal"}}) {
    expect_told_apart(x, k, square, "variance");
    expect_told_apart(k, x, square, "variance");
  }
  // Xavier and LeCun promise the same distribution on a square matrix: 2/(fan_in + fan_out) =
  // 1/fan_in. No check can tell them apart there; on a non-square one they differ (256x512:
  // xavier 1/384, lecun 1/512, kaiming 2/512).
  for (const std::string kind : {"uniform", "normal"}) {
    EXPECT_EQ(torchinit::theory("xavier_" + kind, square).str(),
              torchinit::theory("lecun_" + kind, square).str());
    const Shape wide = {256, 512};
    expect_told_apart("xavier_" + kind, "lecun_" + kind, wide, "variance");
    expect_told_apart("lecun_" + kind, "xavier_" + kind, wide, "variance");
    expect_told_apart("xavier_" + kind, "kaiming_" + kind, wide, "variance");
    expect_told_apart("kaiming_" + kind, "lecun_" + kind, wide, "variance");
    // Xavier with a ReLU gain is a different scheme from LeCun even on a square matrix.
    expect_told_apart("xavier_" + kind + "(gain=relu)", "lecun_" + kind, square, "variance");
  }
}

TEST(Power, TellsUniformFromNormalAtEqualVariance) {
  const Shape square = {256, 256};
  const double s = 0.05, b = std::sqrt(3.0) * s;
  const std::string uniform = "uniform(a=" + num(-b) + ", b=" + num(b) + ")";
  const std::string normal = "normal(std=" + num(s) + ")";
  ASSERT_NEAR(torchinit::theory(uniform, square).variance(),
              torchinit::theory(normal, square).variance(), 1e-9);
  // The variance cannot tell them apart; the shape tests must.
  for (const auto& [actual, promised] :
       std::vector<std::pair<std::string, std::string>>{{uniform, normal}, {normal, uniform}}) {
    expect_told_apart(actual, promised, square);
    const CheckResult r = check(calibration_tensor(square, actual, 1), promised);
    EXPECT_TRUE(r.find("variance")->passed) << r.summary();
    EXPECT_FALSE(r.find("ks")->passed) << r.summary();
    EXPECT_FALSE(r.find("anderson_darling")->passed) << r.summary();
  }
}

TEST(Power, TellsNormalFromTruncatedNormalAtMatchedVariance) {
  // variance_scaling's truncated normal cuts at ±2 std of the underlying normal and rescales so
  // that the variance after truncation is the target: the same variance as the plain normal.
  const Shape square = {256, 256};
  const std::string trunc = "variance_scaling(distribution=truncated_normal)";
  const std::string normal = "variance_scaling(distribution=normal)";
  ASSERT_EQ(torchinit::theory(trunc, square).kind(), Distribution::Kind::TruncatedNormal);
  ASSERT_NEAR(torchinit::theory(trunc, square).variance(),
              torchinit::theory(normal, square).variance(), 1e-9);
  expect_told_apart(trunc, normal, square);
  expect_told_apart(normal, trunc, square);
}

// ---------------------------------------------------------------------------------------------
// An orthogonal init without the sign fix

// Q of a normal matrix's QR, without multiplying by sign(diag R) (wide shapes factorized
// transposed, as torch.nn.init.orthogonal_).
at::Tensor unsigned_orthogonal(int64_t rows, int64_t cols, uint64_t seed) {
  at::Tensor a = calibration_tensor({rows, cols}, "normal", seed, at::kDouble);
  if (rows < cols) a = a.t();
  at::Tensor q = std::get<0>(at::linalg_qr(a));
  if (rows < cols) q = q.t();
  return q.contiguous().to(at::kFloat);
}

TEST(Power, CatchesAnOrthogonalInitWithoutTheSignFix) {
  for (const auto& [rows, cols] :
       std::vector<std::pair<int64_t, int64_t>>{{256, 256}, {128, 256}, {256, 64}}) {
    SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(cols));
    for (int s = 0; s < kSeparationSeeds; ++s) {
      const at::Tensor q = unsigned_orthogonal(rows, cols, 700 + s);
      const CheckResult r = check(q, Distribution::orthogonal(rows, cols, 1.0));
      // It is orthogonal ...
      EXPECT_TRUE(r.find("orthogonality")->passed) << r.summary();
      // ... but not Haar: LAPACK's Householder QR leaves diag(Q) mostly negative (60 of 256
      // positive for the first 256x256 seed); the diag_sign statistic is the one meant to see it.
      EXPECT_TRUE(r.rejected()) << r.summary();
      const auto* sign = r.find("diag_sign");
      ASSERT_NE(sign, nullptr);
      EXPECT_FALSE(sign->passed) << r.summary();
      if (s == 0)
        std::cout << "[ power ] unsigned QR " << rows << "x" << cols << ": " << sign->detail
                  << "\n";
      // The library's own orthogonal init of the same shape passes.
      const at::Tensor good = calibration_tensor({rows, cols}, "orthogonal", 700 + s);
      EXPECT_TRUE(check(good, "orthogonal").passed()) << check(good, "orthogonal").summary();
    }
  }
}

}  // namespace
