// Distribution: moments against closed forms and numerical integration (Boost.Math quadrature),
// CDFs against integrated densities, monotonicity and limits, and parameter errors.
#include "torchinit/distribution.h"

#include <c10/util/Exception.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <functional>
#include <limits>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "test_util.h"

namespace {

using ::testing::HasSubstr;
using torchinit::Distribution;
using torchinit::testutil::error_of;

using torchinit::testutil::kPi;
constexpr double kInf = std::numeric_limits<double>::infinity();

using torchinit::testutil::normal_pdf;

// ∫_a^b f by adaptive 61-point Gauss–Kronrod, to ~1e-14 relative.
double integrate(const std::function<double(double)>& f, double a, double b) {
  return boost::math::quadrature::gauss_kronrod<double, 61>::integrate(f, a, b, 15, 1e-14);
}

// Mean and central moments mu2, mu3, mu4 of the density `pdf` on [a, b] (normalized by its
// integral), by quadrature.
struct IntegratedMoments {
  double mean, mu2, mu3, mu4;
};
IntegratedMoments integrated_moments(const std::function<double(double)>& pdf, double a, double b) {
  const double mass = integrate(pdf, a, b);
  const double mean = integrate([&](double x) { return x * pdf(x); }, a, b) / mass;
  auto central = [&](int k) {
    return integrate([&](double x) { return std::pow(x - mean, k) * pdf(x); }, a, b) / mass;
  };
  return {mean, central(2), central(3), central(4)};
}

// |got - want| <= rel * max(|want|, floor)
::testing::AssertionResult Close(double got, double want, double rel, double floor = 0) {
  const double tol = rel * std::max(std::abs(want), floor);
  if (std::abs(got - want) <= tol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << got << ", want " << want << " (diff "
                                       << got - want << ", tolerance " << tol << ")";
}

// ---- closed forms ----

TEST(UniformTheory, MomentsAndCdf) {
  const Distribution d = Distribution::uniform(-0.5, 1.5);
  EXPECT_EQ(d.family(), "uniform");
  EXPECT_EQ(d.kind(), Distribution::Kind::Uniform);
  EXPECT_DOUBLE_EQ(d.mean(), 0.5);
  EXPECT_DOUBLE_EQ(d.variance(), 4.0 / 12);  // (b-a)^2/12
  EXPECT_DOUBLE_EQ(d.std(), std::sqrt(4.0 / 12));
  EXPECT_DOUBLE_EQ(d.third_central_moment(), 0);
  EXPECT_DOUBLE_EQ(d.fourth_central_moment(), 16.0 / 80);  // (b-a)^4/80
  EXPECT_DOUBLE_EQ(d.cdf(-0.5), 0);
  EXPECT_DOUBLE_EQ(d.cdf(0.5), 0.5);
  EXPECT_DOUBLE_EQ(d.cdf(1.0), 0.75);
  EXPECT_DOUBLE_EQ(d.cdf(1.5), 1);
  EXPECT_DOUBLE_EQ(d.param("a"), -0.5);
  EXPECT_DOUBLE_EQ(d.param("b"), 1.5);
  EXPECT_FALSE(d.is_exact());
  EXPECT_EQ(d.str(), "uniform(a=-0.5, b=1.5)");
}

TEST(NormalTheory, MomentsAndCdf) {
  const Distribution d = Distribution::normal(0.3, 2.0);
  EXPECT_EQ(d.family(), "normal");
  EXPECT_DOUBLE_EQ(d.mean(), 0.3);
  EXPECT_DOUBLE_EQ(d.variance(), 4.0);
  EXPECT_DOUBLE_EQ(d.third_central_moment(), 0);
  EXPECT_DOUBLE_EQ(d.fourth_central_moment(), 3 * 16.0);  // 3 sigma^4
  EXPECT_DOUBLE_EQ(d.cdf(0.3), 0.5);
  // Phi(1) = 0.841344746068542948585232545632...
  EXPECT_TRUE(Close(d.cdf(2.3), 0.8413447460685429, 1e-15));
  EXPECT_TRUE(Close(d.cdf(-1.7), 1 - 0.8413447460685429, 1e-14));
  // far tail without cancellation: Phi(-20) = 2.7536241186062337e-89
  EXPECT_TRUE(Close(d.cdf(0.3 - 40), 2.7536241186062337e-89, 1e-12));
}

TEST(TruncatedNormal, SymmetricUnitMatchesKerasConstant) {
  // N(0,1) truncated to [-2, 2] has std 0.87962566103423978 (the constant Keras divides by).
  const Distribution d = Distribution::truncated_normal(0, 1, -2, 2);
  EXPECT_EQ(d.family(), "truncated_normal");
  EXPECT_TRUE(Close(d.std(), 0.87962566103423978, 1e-15));
  EXPECT_NEAR(d.mean(), 0, 1e-16);
  EXPECT_NEAR(d.third_central_moment(), 0, 1e-16);
  // mu4 = 3 mu2 - 2 * 2^3 phi(2) / (Phi(2) - Phi(-2)) by the recursion on raw moments.
  const double mass = std::erf(2 / std::sqrt(2.0));
  EXPECT_TRUE(
      Close(d.fourth_central_moment(), 3 * d.variance() - 2 * 8 * normal_pdf(2) / mass, 1e-14));
}

struct TnCase {
  double mean, std, a, b;
};

void PrintTo(const TnCase& c, std::ostream* os) {
  *os << "mean=" << c.mean << " std=" << c.std << " [" << c.a << ", " << c.b << "]";
}

class TruncatedNormalQuadrature : public ::testing::TestWithParam<TnCase> {};

TEST_P(TruncatedNormalQuadrature, MomentsAndCdfMatchIntegratedDensity) {
  const TnCase c = GetParam();
  const Distribution d = Distribution::truncated_normal(c.mean, c.std, c.a, c.b);
  // Density up to a constant, scaled by exp(edge^2/2) in the far tails so it stays in range.
  const double lo = (c.a - c.mean) / c.std, hi = (c.b - c.mean) / c.std;
  const double edge = lo > 0 ? lo : hi < 0 ? hi : 0.0;
  const double shift = 0.5 * edge * edge;
  auto pdf = [&](double x) {
    const double z = (x - c.mean) / c.std;
    return std::exp(-0.5 * z * z + shift);
  };
  const IntegratedMoments m = integrated_moments(pdf, c.a, c.b);
  EXPECT_TRUE(Close(d.mean(), m.mean, 1e-10, c.std)) << "mean";
  EXPECT_TRUE(Close(d.variance(), m.mu2, 1e-9)) << "variance";
  EXPECT_TRUE(Close(d.third_central_moment(), m.mu3, 1e-8, m.mu2 * std::sqrt(m.mu2)))
      << "third central moment";
  EXPECT_TRUE(Close(d.fourth_central_moment(), m.mu4, 1e-8)) << "fourth central moment";
  const double mass = integrate(pdf, c.a, c.b);
  for (double t : {0.1, 0.25, 0.5, 0.75, 0.9}) {
    const double x = c.a + t * (c.b - c.a);
    EXPECT_TRUE(Close(d.cdf(x), integrate(pdf, c.a, x) / mass, 1e-10, 1e-3)) << "cdf at " << x;
  }
  EXPECT_EQ(d.cdf(c.a), 0.0);
  EXPECT_EQ(d.cdf(c.b), 1.0);
}

INSTANTIATE_TEST_SUITE_P(Cases, TruncatedNormalQuadrature,
                         ::testing::Values(TnCase{0, 1, -2, 2},      // symmetric
                                           TnCase{0.3, 1.5, -1, 4},  // asymmetric
                                           TnCase{0, 1, 5, 6},       // far upper tail
                                           TnCase{0, 1, 8, 8.5},     // farther
                                           TnCase{0, 1, -37, -36},   // the allowed limit
                                           TnCase{0, 1, 30, 36.5},   // upper counterpart
                                           TnCase{0, 1, -6, -5},     // far lower tail
                                           TnCase{2, 0.5, -1, 1.5},  // all below the mean
                                           TnCase{0, 0.02, -2, 2},   // effectively untruncated
                                           TnCase{0.5, 1e-3, 0.499, 0.5015}));  // tiny std

TEST(TruncatedNormal, InfiniteBounds) {
  // [0, inf): the half-normal, mean sqrt(2/pi), variance 1 - 2/pi.
  const Distribution half = Distribution::truncated_normal(0, 1, 0, kInf);
  EXPECT_TRUE(Close(half.mean(), std::sqrt(2 / kPi), 1e-15));
  EXPECT_TRUE(Close(half.variance(), 1 - 2 / kPi, 1e-14));
  // (-inf, inf): the normal itself.
  const Distribution full = Distribution::truncated_normal(1, 2, -kInf, kInf);
  EXPECT_NEAR(full.mean(), 1, 1e-15);
  EXPECT_TRUE(Close(full.variance(), 4, 1e-15));
  EXPECT_TRUE(Close(full.fourth_central_moment(), 48, 1e-15));
  EXPECT_TRUE(Close(full.cdf(1), 0.5, 1e-15));
}

TEST(TruncatedNormal, UnrepresentableMassIsAnErrorNotNan) {
  // Beyond ~38 std the normal mass underflows in double: the factory must refuse (as the
  // trunc_normal initializer does past 37 std) rather than return nan moments.
  for (auto [a, b] : {std::pair<double, double>{40, 41}, {-41, -40}}) {
    try {
      const Distribution d = Distribution::truncated_normal(0, 1, a, b);
      EXPECT_TRUE(std::isfinite(d.mean()) && std::isfinite(d.variance()) &&
                  std::isfinite(d.fourth_central_moment()) && std::isfinite(d.cdf((a + b) / 2)))
          << "[" << a << ", " << b << "]: " << d.mean() << " " << d.variance();
    } catch (const c10::Error&) {
      SUCCEED();
    }
  }
}

// ---- orthogonal: the coordinate of a uniform unit vector in R^n ----

class OrthogonalMarginal : public ::testing::TestWithParam<std::pair<int64_t, int64_t>> {};

TEST_P(OrthogonalMarginal, MomentsAndCdfMatchBetaDensity) {
  const auto [rows, cols] = GetParam();
  const double gain = 1.7;
  const Distribution d = Distribution::orthogonal(rows, cols, gain);
  const double n = double(std::max(rows, cols));
  EXPECT_EQ(d.family(), "orthogonal");
  EXPECT_EQ(d.structure().rows, rows);
  EXPECT_EQ(d.structure().cols, cols);
  EXPECT_EQ(d.structure().gain, gain);
  EXPECT_EQ(d.mean(), 0);
  EXPECT_TRUE(Close(d.variance(), gain * gain / n, 1e-15));  // E[x^2] = 1/n
  EXPECT_TRUE(Close(d.fourth_central_moment(), std::pow(gain, 4) * 3 / (n * (n + 2)), 1e-15));
  // Density of y = x/gain: c (1 - y^2)^((n-3)/2) on (-1, 1), c = Gamma(n/2) / (sqrt(pi)
  // Gamma((n-1)/2)). With y = sin(t) the measure becomes c cos(t)^(n-2) dt on (-pi/2, pi/2),
  // smooth even for n = 2 (the arcsine law), so Gauss–Kronrod integrates it to full precision.
  const double c =
      std::exp(boost::math::lgamma(n / 2) - boost::math::lgamma((n - 1) / 2)) / std::sqrt(kPi);
  auto measure = [&](double t) { return c * std::pow(std::cos(t), n - 2); };
  auto expect_y = [&](int k) {
    return integrate([&](double t) { return std::pow(std::sin(t), k) * measure(t); }, -kPi / 2,
                     kPi / 2);
  };
  EXPECT_TRUE(Close(expect_y(0), 1.0, 1e-12)) << "density normalization";
  EXPECT_TRUE(Close(expect_y(2), 1 / n, 1e-12));
  EXPECT_TRUE(Close(expect_y(4), 3 / (n * (n + 2)), 1e-12));
  const double scale = 1 / std::sqrt(n);  // where the mass is
  for (double t : {-2.5, -1.0, -0.3, 0.0, 0.4, 1.2, 2.0}) {
    const double y = std::clamp(t * scale, -0.999, 0.999);
    const double want = integrate(measure, -kPi / 2, std::asin(y));
    EXPECT_TRUE(Close(d.cdf(gain * y), want, 1e-10, 1e-3)) << "cdf at y=" << y;
  }
  EXPECT_EQ(d.cdf(-gain), 0.0);
  EXPECT_EQ(d.cdf(gain), 1.0);
  EXPECT_DOUBLE_EQ(d.cdf(0.0), 0.5);
}

INSTANTIATE_TEST_SUITE_P(Shapes, OrthogonalMarginal,
                         ::testing::Values(std::make_pair<int64_t, int64_t>(2, 2),
                                           std::make_pair<int64_t, int64_t>(3, 1),
                                           std::make_pair<int64_t, int64_t>(4, 10),
                                           std::make_pair<int64_t, int64_t>(256, 256),
                                           std::make_pair<int64_t, int64_t>(64, 288)));

TEST(OrthogonalTheory, OneByOneIsPlusMinusGain) {
  const Distribution d = Distribution::orthogonal(1, 1, 2.0);
  EXPECT_EQ(d.variance(), 4.0);
  EXPECT_EQ(d.cdf(-2.5), 0.0);
  EXPECT_EQ(d.cdf(0.0), 0.5);
  EXPECT_EQ(d.cdf(2.0), 1.0);
}

// ---- mixtures: sparse, eye, dirac, composite ----

TEST(SparseTheory, MixtureOfZeroAtomAndNormal) {
  const Distribution d = Distribution::sparse(10, 4, 3, 0.5);
  const double p0 = 0.3, s2 = 0.25;
  EXPECT_EQ(d.family(), "sparse");
  EXPECT_EQ(d.kind(), Distribution::Kind::Mixture);
  EXPECT_EQ(d.structure().rows, 10);
  EXPECT_EQ(d.structure().cols, 4);
  EXPECT_EQ(d.structure().zeros_per_column, 3);
  EXPECT_NEAR(d.mean(), 0, 1e-17);
  EXPECT_TRUE(Close(d.variance(), (1 - p0) * s2, 1e-15));
  EXPECT_TRUE(Close(d.fourth_central_moment(), (1 - p0) * 3 * s2 * s2, 1e-15));
  // An atom of mass p0 at 0.
  EXPECT_TRUE(Close(d.cdf(0) - d.cdf(-1e-300), p0, 1e-15));
  EXPECT_TRUE(Close(d.cdf(0), p0 + (1 - p0) * 0.5, 1e-15));
  EXPECT_FALSE(d.is_exact());
  ASSERT_EQ(d.components().size(), 2u);
  EXPECT_EQ(d.components()[1].second.family(), "normal");
  EXPECT_EQ(d.components()[1].second.std(), 0.5);
}

TEST(SparseTheory, NoZerosIsNormalAllZerosIsConstant) {
  const Distribution none = Distribution::sparse(8, 2, 0, 0.1);
  EXPECT_TRUE(Close(none.variance(), 0.01, 1e-15));
  EXPECT_TRUE(Close(none.fourth_central_moment(), 3e-4, 1e-14));
  const Distribution all = Distribution::sparse(8, 2, 8, 0.1);
  EXPECT_EQ(all.variance(), 0);
  EXPECT_TRUE(all.is_exact());
}

// Bernoulli(p): mean p, variance p q, mu3 p q (q - p), mu4 p q (1 - 3 p q).
void ExpectBernoulli(const Distribution& d, double p) {
  const double q = 1 - p;
  EXPECT_TRUE(Close(d.mean(), p, 1e-15));
  EXPECT_TRUE(Close(d.variance(), p * q, 1e-14));
  EXPECT_TRUE(Close(d.third_central_moment(), p * q * (q - p), 1e-13, p));
  EXPECT_TRUE(Close(d.fourth_central_moment(), p * q * (1 - 3 * p * q), 1e-13));
  EXPECT_TRUE(Close(d.cdf(0.5), q, 1e-15));
  EXPECT_EQ(d.cdf(-0.1), 0.0);
  EXPECT_TRUE(Close(d.cdf(1.0), 1.0, 1e-15));
  EXPECT_TRUE(d.is_exact());
}

TEST(EyeTheory, BernoulliWithMinRowsColsOnes) {
  const Distribution d = Distribution::eye(3, 5);
  EXPECT_EQ(d.family(), "eye");
  EXPECT_EQ(d.structure().rows, 3);
  EXPECT_EQ(d.structure().cols, 5);
  ExpectBernoulli(d, 3.0 / 15);
  ExpectBernoulli(Distribution::eye(7, 2), 2.0 / 14);
}

TEST(DiracTheory, BernoulliWithGroupsTimesMinOnes) {
  // [6, 4, 3, 3], groups 2: 2 * min(3, 4) = 6 ones among 216.
  const Distribution d = Distribution::dirac({6, 4, 3, 3}, 2);
  EXPECT_EQ(d.family(), "dirac");
  EXPECT_EQ(d.structure().groups, 2);
  EXPECT_EQ(d.structure().shape, (std::vector<int64_t>{6, 4, 3, 3}));
  ExpectBernoulli(d, 6.0 / 216);
  // [8, 2, 5], groups 1: min(8, 2) = 2 ones among 80.
  ExpectBernoulli(Distribution::dirac({8, 2, 5}, 1), 2.0 / 80);
}

TEST(ConstantTheory, ExactWithStepCdf) {
  const Distribution d = Distribution::constant(0.5);
  EXPECT_EQ(d.family(), "constant");
  EXPECT_EQ(d.mean(), 0.5);
  EXPECT_EQ(d.variance(), 0);
  EXPECT_EQ(d.fourth_central_moment(), 0);
  EXPECT_EQ(d.cdf(0.49), 0.0);
  EXPECT_EQ(d.cdf(0.5), 1.0);
  EXPECT_TRUE(d.is_exact());
}

TEST(MixtureTheory, MomentsOfTwoNormals) {
  const double w1 = 0.25, w2 = 0.75, m1 = -1, s1 = 1, m2 = 2, s2 = 0.5;
  const Distribution d = Distribution::mixture(
      {{w1, Distribution::normal(m1, s1)}, {w2, Distribution::normal(m2, s2)}});
  EXPECT_EQ(d.family(), "composite");
  const double mean = w1 * m1 + w2 * m2;
  // Central moments of a component about the mixture mean, with d = m_i - mean:
  // E(Y-m)^2 = d^2 + s^2, E(Y-m)^3 = d^3 + 3 d s^2, E(Y-m)^4 = d^4 + 6 d^2 s^2 + 3 s^4.
  auto about = [&](double m, double s, int k) {
    const double dd = m - mean, v = s * s;
    if (k == 2) return dd * dd + v;
    if (k == 3) return dd * dd * dd + 3 * dd * v;
    return dd * dd * dd * dd + 6 * dd * dd * v + 3 * v * v;
  };
  EXPECT_TRUE(Close(d.mean(), mean, 1e-15));
  EXPECT_TRUE(Close(d.variance(), w1 * about(m1, s1, 2) + w2 * about(m2, s2, 2), 1e-14));
  EXPECT_TRUE(
      Close(d.third_central_moment(), w1 * about(m1, s1, 3) + w2 * about(m2, s2, 3), 1e-13));
  EXPECT_TRUE(
      Close(d.fourth_central_moment(), w1 * about(m1, s1, 4) + w2 * about(m2, s2, 4), 1e-13));
  EXPECT_TRUE(Close(d.cdf(0.0), w1 * 0.8413447460685429 + w2 * 3.167124183311992e-05, 1e-14));
}

TEST(MixtureTheory, WeightErrors) {
  const Distribution n = Distribution::normal(0, 1);
  EXPECT_THAT(error_of([&] {
                Distribution::mixture({{0.3, n}, {0.6, n}});
              }),
              HasSubstr("weights must sum to 1, got 0.9"));
  EXPECT_THAT(error_of([&] {
                Distribution::mixture({{1.5, n}, {-0.5, n}});
              }),
              HasSubstr("negative weight"));
  EXPECT_THAT(error_of([&] { Distribution::mixture({}); }), HasSubstr("no components"));
}

// ---- every family: CDF monotone with limits 0 and 1 ----

TEST(AllFamilies, CdfIsMonotoneWithLimitsZeroAndOne) {
  const std::vector<Distribution> all = {
      Distribution::constant(0.2),
      Distribution::uniform(-1, 3),
      Distribution::normal(1, 0.5),
      Distribution::truncated_normal(0, 1, -2, 2),
      Distribution::truncated_normal(0, 1, 5, 6),
      Distribution::truncated_normal(1, 2, -kInf, 0),
      Distribution::orthogonal(16, 32, 1.5),
      Distribution::orthogonal(2, 2, 1),
      Distribution::sparse(10, 3, 4, 0.2),
      Distribution::eye(4, 4),
      Distribution::dirac({4, 4, 3}, 1),
      Distribution::mixture(
          {{0.5, Distribution::uniform(0, 1)}, {0.5, Distribution::normal(-3, 0.1)}})};
  for (const Distribution& d : all) {
    SCOPED_TRACE(d.str());
    EXPECT_EQ(d.cdf(-kInf), 0.0);
    EXPECT_EQ(d.cdf(-1e300), 0.0);
    EXPECT_EQ(d.cdf(kInf), 1.0);
    EXPECT_DOUBLE_EQ(d.cdf(1e300), 1.0);
    EXPECT_TRUE(std::isnan(d.cdf(std::nan(""))));
    double previous = 0;
    for (double x = -10; x <= 10; x += 1.0 / 64) {
      const double p = d.cdf(x);
      ASSERT_GE(p, 0.0) << "at " << x;
      ASSERT_LE(p, 1.0) << "at " << x;
      ASSERT_GE(p, previous) << "decreasing at " << x;
      previous = p;
    }
  }
}

// ---- parameter errors ----

TEST(DistributionErrors, InvalidParametersThrow) {
  EXPECT_THAT(error_of([] { Distribution::uniform(1, 1); }), HasSubstr("a < b"));
  EXPECT_THAT(error_of([] { Distribution::uniform(0, kInf); }), HasSubstr("finite"));
  EXPECT_THAT(error_of([] { Distribution::normal(0, 0); }), HasSubstr("std > 0"));
  EXPECT_THAT(error_of([] { Distribution::normal(0, -1); }), HasSubstr("std > 0"));
  EXPECT_THAT(error_of([] { Distribution::truncated_normal(0, 1, 2, 1); }), HasSubstr("a < b"));
  EXPECT_THAT(error_of([] { Distribution::constant(std::nan("")); }), HasSubstr("finite"));
  EXPECT_THAT(error_of([] { Distribution::orthogonal(0, 3, 1); }), HasSubstr("rows, cols > 0"));
  EXPECT_THAT(error_of([] { Distribution::orthogonal(2, 2, 0); }), HasSubstr("gain > 0"));
  EXPECT_THAT(error_of([] { Distribution::sparse(5, 5, 6, 1); }),
              HasSubstr("zeros_per_column <= rows"));
  EXPECT_THAT(error_of([] { Distribution::eye(0, 3); }), HasSubstr("rows, cols > 0"));
  EXPECT_THAT(error_of([] { Distribution::dirac({4, 4}, 1); }), HasSubstr("3-5 dim"));
  EXPECT_THAT(error_of([] { Distribution::dirac({6, 4, 3}, 4); }), HasSubstr("divisible"));
  EXPECT_THAT(error_of([] { Distribution::uniform(0, 1).param("std"); }),
              HasSubstr("no parameter 'std'"));
}

}  // namespace
