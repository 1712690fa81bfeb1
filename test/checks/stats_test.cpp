#include "torchinit/stats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

namespace st = torchinit::stats;
using ::testing::StartsWith;

using torchinit::testutil::kPi;

// The message of the std::invalid_argument that `fn` throws, or "" (with a failure) if none.
template <typename Fn>
std::string invalid_argument_of(Fn&& fn) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected std::invalid_argument";
  return "";
}

double uniform_cdf(double x) { return std::clamp(x, 0.0, 1.0); }

std::vector<double> sorted_uniform(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> x(n);
  for (double& v : x) v = u(rng);
  std::sort(x.begin(), x.end());
  return x;
}

// Two-pass central sums in long double (64-bit mantissa on x86-64), the reference for Moments.
struct Reference {
  long double mean = 0, m2 = 0, m3 = 0, m4 = 0;
};
template <typename T>
Reference two_pass(const std::vector<T>& x) {
  Reference r;
  for (T v : x) r.mean += v;
  r.mean /= static_cast<long double>(x.size());
  for (T v : x) {
    const long double d = v - r.mean;
    r.m2 += d * d;
    r.m3 += d * d * d;
    r.m4 += d * d * d * d;
  }
  return r;
}

// Central sums agree to `rel` relative to their natural scale n sigma^k (m3 can be ~0); the
// mean to rel (|mean| + sigma), or to mean_tol when given.
void expect_moments_near(const st::Moments& m, const Reference& r, int64_t n, double rel,
                         double mean_tol = -1) {
  const double n_d = static_cast<double>(n);
  const double sigma = std::sqrt(static_cast<double>(r.m2) / n_d);
  ASSERT_EQ(m.n, n);
  if (mean_tol < 0) mean_tol = rel * (std::fabs(static_cast<double>(r.mean)) + sigma);
  EXPECT_NEAR(m.mean, static_cast<double>(r.mean), mean_tol);
  EXPECT_NEAR(m.m2, static_cast<double>(r.m2), rel * static_cast<double>(r.m2));
  EXPECT_NEAR(m.m3, static_cast<double>(r.m3), rel * n_d * sigma * sigma * sigma);
  EXPECT_NEAR(m.m4, static_cast<double>(r.m4), rel * static_cast<double>(r.m4));
}

// Rounding errors of ~1e5 double operations on well-conditioned data (|mean| / sigma small) add
// up to about sqrt(n) eps ~ 1e-13 relative; 1e-12 bounds that.
constexpr double kMomentRel = 1e-12;

// ---------------------------------------------------------------------------------------------
// Moments

TEST(StatsMoments, HandExample) {
  const std::vector<double> x = {1, 2, 3, 4, 5};
  const st::Moments m = st::moments(x.data(), 5);
  EXPECT_EQ(m.n, 5);
  EXPECT_DOUBLE_EQ(m.mean, 3.0);
  EXPECT_DOUBLE_EQ(m.m2, 10.0);  // 4 + 1 + 0 + 1 + 4
  EXPECT_NEAR(m.m3, 0.0, 1e-14);
  EXPECT_DOUBLE_EQ(m.m4, 34.0);  // 16 + 1 + 0 + 1 + 16
  EXPECT_DOUBLE_EQ(m.sample_variance(), 2.5);
  EXPECT_DOUBLE_EQ(m.central_moment(2), 2.0);
  EXPECT_DOUBLE_EQ(m.central_moment(4), 6.8);

  st::Moments w;
  for (double v : x) w.add(v);
  EXPECT_DOUBLE_EQ(w.mean, 3.0);
  EXPECT_DOUBLE_EQ(w.m2, 10.0);
  EXPECT_NEAR(w.m3, 0.0, 1e-14);
  EXPECT_DOUBLE_EQ(w.m4, 34.0);
}

TEST(StatsMoments, MatchesTwoPassReference) {
  std::mt19937_64 rng(20240611);
  const int64_t n = 10007;  // not a multiple of the block size
  // Symmetric, skewed (m3 != 0) and heavier-tailed samples with |mean| / sigma <= 3, and one
  // far off-centre (|mean| / sigma = 3.5e5), where only moments() keeps full precision.
  struct Case {
    std::function<double()> draw;
    bool well_conditioned;
  };
  std::vector<Case> cases = {
      {[&] { return std::normal_distribution<double>(3.0, 2.0)(rng); }, true},
      {[&] { return std::exponential_distribution<double>(1.5)(rng); }, true},
      {[&] { return std::student_t_distribution<double>(5.0)(rng); }, true},
      {[&] { return std::uniform_real_distribution<double>(-1e3, -1e3 + 1e-2)(rng); }, false},
  };
  for (const Case& c : cases) {
    std::vector<double> x(n);
    for (double& v : x) v = c.draw();
    const Reference ref = two_pass(x);
    SCOPED_TRACE("mean " + std::to_string(static_cast<double>(ref.mean)));
    expect_moments_near(st::moments(x.data(), n), ref, n, kMomentRel);
    std::vector<float> xf(x.begin(), x.end());
    expect_moments_near(st::moments(xf.data(), n), two_pass(xf), n, kMomentRel);
    if (c.well_conditioned) {
      st::Moments w;
      for (double v : x) w.add(v);
      expect_moments_near(w, ref, n, kMomentRel);
    }
  }
}

TEST(StatsMoments, MergeOfChunksEqualsOnePass) {
  std::mt19937_64 rng(7);
  std::gamma_distribution<double> gamma(2.0, 3.0);
  const int64_t n = 50000;
  std::vector<double> x(n);
  for (double& v : x) v = gamma(rng);
  const Reference ref = two_pass(x);

  // Chunks of random sizes 1..3000, merged left to right and as a balanced tree.
  std::uniform_int_distribution<int64_t> size(1, 3000);
  std::vector<st::Moments> chunks;
  for (int64_t start = 0; start < n;) {
    const int64_t len = std::min(size(rng), n - start);
    chunks.push_back(st::moments(x.data() + start, len));
    start += len;
  }
  st::Moments left;
  for (const auto& c : chunks) left = st::Moments::merge(left, c);
  std::vector<st::Moments> level = chunks;
  while (level.size() > 1) {
    std::vector<st::Moments> next;
    for (size_t i = 0; i < level.size(); i += 2) {
      next.push_back(i + 1 < level.size() ? st::Moments::merge(level[i], level[i + 1]) : level[i]);
    }
    level = next;
  }
  st::Moments one_pass;
  for (double v : x) one_pass.add(v);

  expect_moments_near(left, ref, n, kMomentRel);
  expect_moments_near(level[0], ref, n, kMomentRel);
  expect_moments_near(one_pass, ref, n, kMomentRel);
  expect_moments_near(st::moments(x.data(), n), ref, n, kMomentRel);

  // Merging with an empty side is the identity.
  const st::Moments e = st::Moments::merge(st::Moments(), chunks[0]);
  EXPECT_EQ(e.n, chunks[0].n);
  EXPECT_EQ(e.m2, chunks[0].m2);
}

TEST(StatsMoments, CatastrophicCancellation) {
  // 1e9 + N(0, 1): sum of squares minus n mean^2 would lose all digits (1e18 vs 1). The
  // residuals x - 1e9 are exact (Sterbenz), so the two-pass reference on them has no such loss.
  std::mt19937_64 rng(99);
  std::normal_distribution<double> noise(0.0, 1.0);
  const int64_t n = 100000;
  const double offset = 1e9;
  std::vector<double> x(n), residual(n);
  for (int64_t i = 0; i < n; ++i) {
    x[i] = offset + noise(rng);
    residual[i] = x[i] - offset;
  }
  const Reference ref = two_pass(residual);
  const double ulp = std::nextafter(offset, 2 * offset) - offset;  // 2^-23, spacing near 1e9

  // moments() works on x - x[0]: the mean is one rounding from exact, the central sums as
  // precise as for centred data. (Subtracting the offset from a mean near 1e9 is exact.)
  st::Moments m = st::moments(x.data(), n);
  m.mean -= offset;
  expect_moments_near(m, ref, n, kMomentRel, ulp);

  // Welford's add() stores the running mean near 1e9: each step rounds it by up to ulp/2 and
  // the central sums by kappa eps relative (kappa = |mean| / sigma = 1e9), adding up like a
  // random walk: sqrt(n) ulp and sqrt(n) kappa eps (7e-5; the naive formula is off by ~100).
  st::Moments w;
  for (double v : x) w.add(v);
  const double eps = std::numeric_limits<double>::epsilon();
  const double sqrt_n = std::sqrt(static_cast<double>(n));
  const double kappa = offset / 1.0;  // |mean| / sigma
  w.mean -= offset;
  expect_moments_near(w, ref, n, sqrt_n * kappa * eps, sqrt_n * ulp);
}

TEST(StatsMoments, ConstantDataHasExactlyZeroVariance) {
  const std::vector<float> x(5000, 0.1f);
  const st::Moments m = st::moments(x.data(), 5000);
  EXPECT_EQ(m.mean, static_cast<double>(0.1f));
  EXPECT_EQ(m.m2, 0.0);
  EXPECT_EQ(st::variance_z(m, 0.0, 0.0), 0.0);
}

TEST(StatsMoments, Errors) {
  st::Moments m;
  m.add(1.0);
  EXPECT_THAT(invalid_argument_of([&] { m.sample_variance(); }),
              StartsWith("torchinit::stats::Moments::sample_variance: "));
  EXPECT_THAT(invalid_argument_of([&] { m.central_moment(5); }),
              StartsWith("torchinit::stats::Moments::central_moment: "));
  EXPECT_THAT(invalid_argument_of([] { st::moments(static_cast<const double*>(nullptr), 3); }),
              StartsWith("torchinit::stats::moments: "));
  EXPECT_EQ(st::moments(static_cast<const float*>(nullptr), 0).n, 0);
}

// ---------------------------------------------------------------------------------------------
// Normal tails and z-tests

TEST(StatsNormal, TailsAndQuantiles) {
  // Reference values: mpmath at 30 digits.
  EXPECT_NEAR(st::normal_quantile_two_sided(0.05), 1.95996398454005423552, 1e-14);
  EXPECT_NEAR(st::normal_quantile_two_sided(1e-6), 4.89163847569859038623, 1e-13);
  EXPECT_EQ(st::normal_quantile_two_sided(1.0), 0.0);
  EXPECT_DOUBLE_EQ(st::normal_two_sided_p(0.0), 1.0);
  EXPECT_NEAR(st::normal_two_sided_p(-1.95996398454005423552), 0.05, 1e-15);
  // Far tail: the argument z/sqrt(2) carries ~1 eps of rounding and d ln erfc(x) / d ln x ~
  // -2 x^2 = -z^2, so the relative error is about z^2 eps; allow 4 z^2 eps.
  const double eps = std::numeric_limits<double>::epsilon();
  EXPECT_NEAR(st::normal_two_sided_p(10.0) / 1.52397060483210521319e-23, 1.0, 4 * 100 * eps);
  EXPECT_NEAR(st::normal_two_sided_p(30.0) / 9.81342785429637411906e-198, 1.0, 4 * 900 * eps);
  for (double alpha : {1e-300, 1e-12, 0.5}) {
    EXPECT_NEAR(st::normal_two_sided_p(st::normal_quantile_two_sided(alpha)) / alpha, 1.0, 1e-12);
  }
  EXPECT_THAT(invalid_argument_of([] { st::normal_quantile_two_sided(0.0); }),
              StartsWith("torchinit::stats::normal_quantile_two_sided: "));
  EXPECT_THAT(invalid_argument_of([] { st::normal_two_sided_p(std::nan("")); }),
              StartsWith("torchinit::stats::normal_two_sided_p: "));
}

TEST(StatsZTest, KnownValuesByHand) {
  const std::vector<double> x = {1, 2, 3, 4, 5};  // mean 3, s^2 = 2.5
  const st::Moments m = st::moments(x.data(), 5);
  // mean_z = (3 - 2) / (sqrt(2) / sqrt(5)) = sqrt(5/2).
  EXPECT_NEAR(st::mean_z(m, 2.0, std::sqrt(2.0)), std::sqrt(2.5), 1e-15);
  // Normal theory sigma^2 = 2, mu4 = 3 sigma^4 = 12: Var(s^2) = (12 - 4 * 2/4) / 5 = 2, which is
  // the textbook 2 sigma^4 / (n - 1) = 8 / 4; z = (2.5 - 2) / sqrt(2).
  EXPECT_DOUBLE_EQ(st::variance_of_sample_variance(5, 2.0, 12.0), 2.0);
  EXPECT_NEAR(st::variance_z(m, 2.0, 12.0), 0.5 / std::sqrt(2.0), 1e-15);
  // n = 2: (n - 3)/(n - 1) = -1, Var(s^2) = (mu4 + sigma^4) / 2.
  EXPECT_DOUBLE_EQ(st::variance_of_sample_variance(2, 1.0, 3.0), 2.0);
  // U(0, 1): sigma^2 = 1/12, mu4 = 1/80; Var(s^2) = (1/80 - (1/144)(97/99)) / 100.
  EXPECT_NEAR(st::variance_of_sample_variance(100, 1.0 / 12, 1.0 / 80),
              (1.0 / 80 - (1.0 / 144) * (97.0 / 99)) / 100, 1e-18);
  // Constant theory.
  EXPECT_EQ(st::mean_z(m, 3.0, 0.0), 0.0);
  EXPECT_EQ(st::mean_z(m, 2.0, 0.0), std::numeric_limits<double>::infinity());
  EXPECT_EQ(st::variance_z(m, 0.0, 0.0), std::numeric_limits<double>::infinity());
}

TEST(StatsZTest, SizeAndPowerOnLargeSamples) {
  // Under H0 both z are asymptotically N(0, 1); |z| < z_{1e-6} = 4.89 fails with probability
  // 1e-6 per statistic.
  const double z_crit = st::normal_quantile_two_sided(1e-6);
  const int64_t n = 100000;
  std::mt19937_64 rng(31337);
  std::normal_distribution<double> normal(1.0, 2.0);
  std::vector<float> x(n);
  for (float& v : x) v = static_cast<float>(normal(rng));
  const st::Moments m = st::moments(x.data(), n);
  EXPECT_LT(std::fabs(st::mean_z(m, 1.0, 2.0)), z_crit);
  EXPECT_LT(std::fabs(st::variance_z(m, 4.0, 3 * 16.0)), z_crit);

  std::uniform_real_distribution<double> uniform(-1.0, 1.0);  // sigma^2 = 1/3, mu4 = 1/5
  std::vector<double> u(n);
  for (double& v : u) v = uniform(rng);
  const st::Moments mu = st::moments(u.data(), n);
  EXPECT_LT(std::fabs(st::mean_z(mu, 0.0, std::sqrt(1.0 / 3))), z_crit);
  EXPECT_LT(std::fabs(st::variance_z(mu, 1.0 / 3, 1.0 / 5)), z_crit);

  // Power: claiming sigma^2 5% too small (normal theory) puts E[z] at about
  // 0.05 / 0.95 * sqrt(n / 2) = 11.8, so |z| < 4.89 is a 7-sigma event.
  const double wrong = 4.0 * 0.95;
  EXPECT_GT(st::variance_z(m, wrong, 3 * wrong * wrong), z_crit);
}

TEST(StatsZTest, Errors) {
  st::Moments m;
  m.add(0.0);
  EXPECT_THAT(invalid_argument_of([&] { st::variance_z(m, 1.0, 3.0); }),
              StartsWith("torchinit::stats::variance_z: "));
  EXPECT_THAT(invalid_argument_of([] { st::variance_of_sample_variance(1, 1.0, 3.0); }),
              StartsWith("torchinit::stats::variance_of_sample_variance: "));
  EXPECT_THAT(invalid_argument_of([] { st::variance_of_sample_variance(10, 1.0, 0.5); }),
              StartsWith("torchinit::stats::variance_of_sample_variance: "));
  EXPECT_THAT(invalid_argument_of([] { st::mean_z(st::Moments(), 0.0, 1.0); }),
              StartsWith("torchinit::stats::mean_z: "));
}

// ---------------------------------------------------------------------------------------------
// Kolmogorov–Smirnov

TEST(StatsKolmogorov, StatisticByHand) {
  // D+ = max(1/3 - .1, 2/3 - .4, 1 - .7) = .3, D- = max(.1, .4 - 1/3, .7 - 2/3) = .1.
  EXPECT_NEAR(st::ks_statistic({0.1, 0.4, 0.7}, uniform_cdf), 0.3, 1e-15);
  EXPECT_NEAR(st::ks_statistic({0.5}, uniform_cdf), 0.5, 1e-15);
}

TEST(StatsKolmogorov, PublishedExactValues) {
  // Marsaglia, Tsang & Wang (2003), J. Stat. Software 8(18): K(10, .274) = .6284796154565043.
  EXPECT_NEAR(st::kolmogorov_p(0.274, 10), 1 - 0.6284796154565043, 1e-14);
  // Their program's usage example: Prob(D_16000 >= 0.016) = 0.0005476508615293. That value is
  // 1 - K in double, good to ~1e-13 absolute (2e-10 relative); ours is exact in the one-sided
  // law, the dropped joint term being exp(-6 n d^2) = 2e-11 relative.
  EXPECT_NEAR(st::kolmogorov_p(0.016, 16000) / 0.0005476508615293, 1.0, 1e-8);
}

TEST(StatsKolmogorov, SmallSamplesExactly) {
  // n = 1: D_1 = max(U, 1 - U), so P(D_1 >= d) = 2 (1 - d) for d >= 1/2, and D+ = 1 - U.
  EXPECT_NEAR(st::kolmogorov_p(0.7, 1), 0.6, 1e-15);
  EXPECT_NEAR(st::kolmogorov_p(0.9999, 1), 2e-4, 1e-15);
  EXPECT_EQ(st::kolmogorov_p(0.4, 1), 1.0);
  EXPECT_NEAR(st::smirnov_p(0.3, 1), 0.7, 1e-15);
  // For d >= 1/2, D+ >= d and D- >= d cannot both hold, so P(D >= d) = 2 P(D+ >= d) exactly:
  // checks the Durbin-matrix path against Birnbaum–Tingey where both are used separately.
  for (double d : {0.5, 0.52, 0.55}) {
    ASSERT_GE(2 * st::smirnov_p(d, 10), 1e-3);  // so kolmogorov_p takes the matrix path
    EXPECT_NEAR(st::kolmogorov_p(d, 10) / (2 * st::smirnov_p(d, 10)), 1.0, 1e-12) << d;
  }
  EXPECT_EQ(st::kolmogorov_p(0.5 / 10, 10), 1.0);  // D_n >= 1/(2n) always
  EXPECT_EQ(st::kolmogorov_p(1.0, 10), 0.0);
}

TEST(StatsKolmogorov, LargeSamples) {
  // Exact values for n = 2000 from the Durbin matrix (MTW algorithm, double precision) at
  // lambda = sqrt(n) d = 1.36 and 1.95; the header bounds the error by 2e-6 and 1e-10.
  EXPECT_NEAR(st::kolmogorov_p(0.03041052449399714, 2000) / 0.04847559838686177, 1.0, 2e-6);
  EXPECT_NEAR(st::kolmogorov_p(0.043603325561245895, 2000) / 0.000965071744280066, 1.0, 1e-10);
  // n > 1e6: Stephens' form, which tends to the exact law as n grows.
  const double sqrt_n = std::sqrt(4e6);
  EXPECT_NEAR(st::kolmogorov_p(1.36 / (sqrt_n + 0.12 + 0.11 / sqrt_n), 4000000),
              st::kolmogorov_asymptotic_p(1.36), 1e-15);
}

TEST(StatsKolmogorov, AsymptoticDistribution) {
  // Published critical values of the Kolmogorov distribution (5 digits): Q(lambda) = alpha.
  // Tolerance: 0.5e-5 in lambda times the slope |Q'| ~ 8 lambda exp(-2 lambda^2).
  const std::vector<std::pair<double, double>> critical = {
      {1.22385, 0.10}, {1.35810, 0.05}, {1.62762, 0.01}, {1.94947, 0.001}};
  for (const auto& [lambda, alpha] : critical) {
    const double slope = 8 * lambda * std::exp(-2 * lambda * lambda);
    EXPECT_NEAR(st::kolmogorov_asymptotic_p(lambda), alpha, 0.5e-5 * slope) << lambda;
  }
  // Q(1.36) from the first two series terms by hand: 2 (e^-3.6992 - e^-14.7968) = 0.0494859.
  EXPECT_NEAR(st::kolmogorov_asymptotic_p(1.36),
              2 * (std::exp(-2 * 1.36 * 1.36) - std::exp(-8 * 1.36 * 1.36)), 1e-12);
  // Below lambda = 1 the theta-function series is used; the alternating series (40 terms, all
  // O(1), so ~1e-16 absolute) must agree there.
  for (double lambda : {0.3, 0.5, 0.9, 0.999}) {
    double alternating = 0;
    for (int k = 1; k <= 40; ++k) {
      alternating += (k % 2 == 1 ? 2 : -2) * std::exp(-2.0 * k * k * lambda * lambda);
    }
    EXPECT_NEAR(st::kolmogorov_asymptotic_p(lambda), alternating, 1e-14) << lambda;
  }
  EXPECT_EQ(st::kolmogorov_asymptotic_p(0.0), 1.0);
  EXPECT_NEAR(st::kolmogorov_asymptotic_p(0.1), 1.0, 1e-15);
  // Tail: Q ~ 2 exp(-2 lambda^2), relative error exp(-6 lambda^2).
  EXPECT_NEAR(st::kolmogorov_asymptotic_p(6.0) / (2 * std::exp(-72.0)), 1.0, 1e-15);
}

TEST(StatsKolmogorov, MonotoneInD) {
  // P(D_n >= d) is non-increasing in d; the header allows relative steps of 1e-9 where the
  // exact methods meet (the 2 P(D+) bound exceeds the exact value by exp(-6 n d^2) there).
  for (int64_t n : {1, 5, 50, 1000, 1001, 5000, 2000000}) {
    double previous = 1.0;
    for (int i = 0; i <= 2000; ++i) {
      const double d = i / 2000.0;
      const double p = st::kolmogorov_p(d, n);
      ASSERT_GE(p, 0.0);
      ASSERT_LE(p, 1.0);
      ASSERT_LE(p, previous * (1 + 1e-9)) << "n=" << n << " d=" << d;
      previous = p;
    }
  }
}

TEST(StatsKolmogorov, SizeAndPower) {
  const auto x = sorted_uniform(10000, 12345);
  // Under H0, P(p < 1e-4) = 1e-4.
  EXPECT_GT(st::kolmogorov_p(st::ks_statistic(x, uniform_cdf), 10000), 1e-4);
  // Against U(0.05, 1.05): F = 0 below 0.05, so D >= F_n(0.05) ~ 0.05 +- 0.0022 (sd); D > 0.04
  // except at 4.5 sd, and P(D >= 0.04) ~ Q(4) = 2.5e-14 < 1e-6. (A shift of 0.02 would give only
  // lambda ~ 2, p ~ 7e-4: the KS test is weak against shifts of a fraction of 1/sqrt(n).)
  const auto shifted = [](double v) { return std::clamp(v - 0.05, 0.0, 1.0); };
  const double d = st::ks_statistic(x, shifted);
  EXPECT_GT(d, 0.04);
  EXPECT_LT(st::kolmogorov_p(d, 10000), 1e-6);
}

TEST(StatsKolmogorov, CalibratedUnderH0) {
  // For a continuous F the p-value is U(0, 1): #{p <= alpha} ~ Binomial(reps, alpha). Checked
  // at a 1e-6 level per count, for one n on each side of the n = 1000 switch.
  std::mt19937_64 rng(2718);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (const auto& [n, reps] :
       std::vector<std::pair<int64_t, int64_t>>{{20, 20000}, {1500, 3000}}) {
    int64_t below_05 = 0, below_01 = 0;
    std::vector<double> x(n);
    for (int64_t r = 0; r < reps; ++r) {
      for (double& v : x) v = u(rng);
      std::sort(x.begin(), x.end());
      const double p = st::kolmogorov_p(st::ks_statistic(x, uniform_cdf), n);
      below_05 += p <= 0.05;
      below_01 += p <= 0.01;
    }
    const auto [lo05, hi05] = st::binomial_interval(reps, 0.05, 1e-6);
    const auto [lo01, hi01] = st::binomial_interval(reps, 0.01, 1e-6);
    EXPECT_GE(below_05, lo05) << n;
    EXPECT_LE(below_05, hi05) << n;
    EXPECT_GE(below_01, lo01) << n;
    EXPECT_LE(below_01, hi01) << n;
  }
}

TEST(StatsKolmogorov, Errors) {
  EXPECT_THAT(invalid_argument_of([] {
                st::ks_statistic({0.2, 0.1}, uniform_cdf);
              }),
              StartsWith("torchinit::stats::ks_statistic: "));
  EXPECT_THAT(invalid_argument_of([] { st::ks_statistic({}, uniform_cdf); }),
              StartsWith("torchinit::stats::ks_statistic: "));
  EXPECT_THAT(invalid_argument_of([] {
                st::ks_statistic({0.1, std::nan("")}, uniform_cdf);
              }),
              StartsWith("torchinit::stats::ks_statistic: "));
  EXPECT_THAT(invalid_argument_of([] { st::kolmogorov_p(0.1, 0); }),
              StartsWith("torchinit::stats::kolmogorov_p: "));
}

// ---------------------------------------------------------------------------------------------
// Anderson–Darling

TEST(StatsAndersonDarling, StatisticByHand) {
  // n = 1: A^2 = -1 - (ln .5 + ln .5) = 2 ln 2 - 1.
  EXPECT_NEAR(st::anderson_darling_statistic({0.5}, uniform_cdf), 2 * std::log(2.0) - 1, 1e-15);
  // n = 2, x = (.25, .5): A^2 = -2 - [1 (ln .25 + ln .5) + 3 (ln .5 + ln .75)] / 2.
  const double by_hand =
      -2 - (std::log(0.25) + std::log(0.5) + 3 * (std::log(0.5) + std::log(0.75))) / 2;
  EXPECT_NEAR(st::anderson_darling_statistic({0.25, 0.5}, uniform_cdf), by_hand, 1e-15);
}

TEST(StatsAndersonDarling, PublishedAsymptoticValues) {
  // Published critical values of the limiting law (Anderson & Darling 1954), as quoted by
  // Marsaglia & Marsaglia (2004): ADinf(1.933) = .90, ADinf(2.492) = .95, ADinf(3.857) = .99.
  EXPECT_NEAR(st::anderson_darling_asymptotic_p(1.933), 0.10, 1e-3);
  EXPECT_NEAR(st::anderson_darling_asymptotic_p(2.492), 0.05, 1e-3);
  EXPECT_NEAR(st::anderson_darling_asymptotic_p(3.857), 0.01, 1e-3);
  // Their full ADinf series (double precision, their code), 1 - ADinf(z): accurate to ~1e-15
  // absolute, so 1e-12 absolute leaves room for both sides' rounding.
  EXPECT_NEAR(st::anderson_darling_asymptotic_p(0.5), 0.746814373530345, 1e-12);
  EXPECT_NEAR(st::anderson_darling_asymptotic_p(1.0), 0.35726667321402006, 1e-12);
  EXPECT_NEAR(st::anderson_darling_asymptotic_p(8.0), 1.1381415572808695e-4, 1e-12);
  // Large n: the finite-n correction vanishes like 1/n.
  EXPECT_NEAR(st::anderson_darling_p(2.492, 1000000), 0.05, 1e-3);
  EXPECT_NEAR(st::anderson_darling_p(3.857, 1000000), 0.01, 1e-3);
  EXPECT_NEAR(st::anderson_darling_p(3.857, 1000000000), st::anderson_darling_asymptotic_p(3.857),
              1e-9);
}

TEST(StatsAndersonDarling, AsymptoticTail) {
  // A^2_inf = sum_j Z_j^2 / (j (j+1)) is dominated by Z_1^2 / 2: as z -> inf,
  // P(A^2 > z) ~ E[exp(R)] P(Z_1^2 / 2 > z) = sqrt(3) erfc(sqrt(z)) (1 + 11/(36 z) + O(1/z^2)),
  // with R the rest (E exp(R) = prod_{j>=2} (1 - 2/(j(j+1)))^(-1/2) = sqrt(3)). Allow 1/z.
  for (double z : {20.0, 50.0, 100.0, 200.0, 600.0}) {
    const double leading = std::sqrt(3.0) * std::erfc(std::sqrt(z));
    EXPECT_NEAR(st::anderson_darling_asymptotic_p(z) / leading, 1.0, 1.0 / z) << z;
  }
  EXPECT_EQ(st::anderson_darling_asymptotic_p(0.0), 1.0);
  EXPECT_EQ(st::anderson_darling_asymptotic_p(1000.0), 0.0);  // below the smallest double
}

TEST(StatsAndersonDarling, FiniteNCorrection) {
  // The M&M correction is relative near p = 0: p_n / p_inf -> 1 + c/n with c ~ 0.47 (the slope
  // of their x > 0.8 piece at x = 1), so tiny p stay tiny (the published coefficients alone
  // would add a floor of 6e-4/n).
  for (int64_t n : {8, 10, 100}) {
    for (double z : {12.0, 30.0}) {
      const double ratio = st::anderson_darling_p(z, n) / st::anderson_darling_asymptotic_p(z);
      EXPECT_GT(ratio, 1.0);
      EXPECT_LT(ratio, 1.0 + 1.0 / static_cast<double>(n));
    }
  }
  // Non-increasing in a2 for each n.
  for (int64_t n : {1, 8, 50, 10000}) {
    double previous = 1.0;
    for (int i = 0; i <= 4000; ++i) {
      const double p = st::anderson_darling_p(i / 100.0, n);
      ASSERT_LE(p, previous) << "n=" << n << " a2=" << i / 100.0;
      previous = p;
    }
  }
}

TEST(StatsAndersonDarling, SizeAndPower) {
  const auto x = sorted_uniform(10000, 424242);
  // Under H0, P(p < 1e-4) = 1e-4.
  EXPECT_GT(st::anderson_darling_p(st::anderson_darling_statistic(x, uniform_cdf), 10000), 1e-4);
  // Against U(0.02, 1.02): the ~200 points below 0.02 have F = 0 (clamped to 1e-300), each
  // adding about (2i-1) 690 / n, so A^2 is in the thousands and p underflows.
  const auto shifted = [](double v) { return std::clamp(v - 0.02, 0.0, 1.0); };
  EXPECT_LT(st::anderson_darling_p(st::anderson_darling_statistic(x, shifted), 10000), 1e-6);
}

TEST(StatsAndersonDarling, CalibratedUnderH0) {
  // As for KS: #{p <= alpha} ~ Binomial(reps, alpha) at a 1e-6 level, for n = 10 where the
  // finite-n correction matters.
  const int64_t n = 10, reps = 20000;
  std::mt19937_64 rng(1618);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  int64_t below_05 = 0, below_01 = 0;
  std::vector<double> x(n);
  for (int64_t r = 0; r < reps; ++r) {
    for (double& v : x) v = u(rng);
    std::sort(x.begin(), x.end());
    const double p = st::anderson_darling_p(st::anderson_darling_statistic(x, uniform_cdf), n);
    below_05 += p <= 0.05;
    below_01 += p <= 0.01;
  }
  const auto [lo05, hi05] = st::binomial_interval(reps, 0.05, 1e-6);
  const auto [lo01, hi01] = st::binomial_interval(reps, 0.01, 1e-6);
  EXPECT_GE(below_05, lo05);
  EXPECT_LE(below_05, hi05);
  EXPECT_GE(below_01, lo01);
  EXPECT_LE(below_01, hi01);
}

TEST(StatsAndersonDarling, Errors) {
  EXPECT_THAT(invalid_argument_of([] {
                st::anderson_darling_statistic({0.3, 0.2}, uniform_cdf);
              }),
              StartsWith("torchinit::stats::anderson_darling_statistic: "));
  EXPECT_THAT(invalid_argument_of([] {
                st::anderson_darling_statistic({0.3}, [](double) { return std::nan(""); });
              }),
              StartsWith("torchinit::stats::anderson_darling_statistic: "));
  EXPECT_THAT(invalid_argument_of([] { st::anderson_darling_p(1.0, 0); }),
              StartsWith("torchinit::stats::anderson_darling_p: "));
}

// ---------------------------------------------------------------------------------------------
// Chi-square

TEST(StatsChiSquare, HandExample) {
  // O = (10, 20, 30, 40), E = 25 each: X^2 = (225 + 25 + 25 + 225) / 25 = 20.
  const std::vector<double> observed = {10, 20, 30, 40}, expected = {25, 25, 25, 25};
  const st::ChiSquare c = st::chi_square(observed, expected);
  EXPECT_DOUBLE_EQ(c.statistic, 20.0);
  EXPECT_EQ(c.df, 3);
  // df = 3: P(chi2_3 > x) = erfc(sqrt(x/2)) + sqrt(2x/pi) exp(-x/2) = 1.6974243555e-4.
  const double p3 = std::erfc(std::sqrt(10.0)) + 2 * std::sqrt(10.0 / kPi) * std::exp(-10.0);
  EXPECT_NEAR(c.p_value / p3, 1.0, 1e-13);
  // One fitted parameter: df = 2 and P(chi2_2 > x) = exp(-x/2) exactly.
  const st::ChiSquare c2 = st::chi_square(observed, expected, 1);
  EXPECT_EQ(c2.df, 2);
  EXPECT_NEAR(c2.p_value / std::exp(-10.0), 1.0, 1e-13);
  // Perfect fit.
  EXPECT_EQ(st::chi_square(expected, expected).p_value, 1.0);
}

TEST(StatsChiSquare, Errors) {
  EXPECT_THAT(invalid_argument_of([] {
                st::chi_square({1, 2}, {1, 2, 3});
              }),
              StartsWith("torchinit::stats::chi_square: "));
  EXPECT_THAT(invalid_argument_of([] {
                st::chi_square({1, 2}, {1, 2}, 1);
              }),
              StartsWith("torchinit::stats::chi_square: "));
  EXPECT_THAT(invalid_argument_of([] {
                st::chi_square({1, 2, 3}, {1, 0, 3});
              }),
              StartsWith("torchinit::stats::chi_square: "));
}

// ---------------------------------------------------------------------------------------------
// Binomial interval

// P(X = k) for X ~ Binomial(n, p), by lgamma: an independent reference for boost.
double binomial_pmf(int64_t n, double p, int64_t k) {
  return std::exp(std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) +
                  k * std::log(p) + (n - k) * std::log1p(-p));
}

TEST(StatsBinomial, HandExamples) {
  // n = 10, p = 1/2, alpha = .05: P(X <= 1) = 11/1024 = .0107 <= .025 < P(X <= 2) = 56/1024,
  // so [2, 8] by symmetry, with coverage 1 - 22/1024.
  EXPECT_EQ(st::binomial_interval(10, 0.5, 0.05), std::make_pair(int64_t{2}, int64_t{8}));
  // Both contain the mean (5 and 2).
  // n = 20, p = .1, alpha = .1: P(X = 0) = .9^20 = .1216 > .05, so lo = 0; P(X >= 5) = .0432 <=
  // .05 < P(X >= 4) = .1330, so hi = 4.
  EXPECT_EQ(st::binomial_interval(20, 0.1, 0.1), std::make_pair(int64_t{0}, int64_t{4}));
  EXPECT_EQ(st::binomial_interval(7, 0.0, 0.05), std::make_pair(int64_t{0}, int64_t{0}));
  EXPECT_EQ(st::binomial_interval(7, 1.0, 0.05), std::make_pair(int64_t{7}, int64_t{7}));
  EXPECT_EQ(st::binomial_interval(0, 0.3, 0.05), std::make_pair(int64_t{0}, int64_t{0}));
}

TEST(StatsBinomial, TailsAreBoundedAndTight) {
  for (int64_t n : {1, 10, 37, 500}) {
    for (double p : {0.01, 0.3, 0.5, 0.97}) {
      for (double alpha : {0.5, 0.05, 1e-6}) {
        const auto [lo, hi] = st::binomial_interval(n, p, alpha);
        double below = 0, below_next = 0, above = 0, above_prev = 0;  // P(X<lo), P(X<lo+1), ...
        for (int64_t k = 0; k <= n; ++k) {
          const double f = binomial_pmf(n, p, k);
          if (k < lo) below += f;
          if (k <= lo) below_next += f;
          if (k > hi) above += f;
          if (k >= hi) above_prev += f;
        }
        SCOPED_TRACE("n=" + std::to_string(n) + " p=" + std::to_string(p) +
                     " alpha=" + std::to_string(alpha));
        const double slack = 1e-12;  // rounding in the lgamma reference
        EXPECT_LE(below, alpha / 2 + slack);
        EXPECT_LE(above, alpha / 2 + slack);
        if (lo < n) {
          EXPECT_GT(below_next, alpha / 2 - slack);
        }
        if (hi > 0) {
          EXPECT_GT(above_prev, alpha / 2 - slack);
        }
        EXPECT_GE(1 - below - above, 1 - alpha - slack);
        // Both tails are < 1/2, so the interval holds the median, which is floor(np) or
        // ceil(np) (Kaas & Buhrman 1980); with a non-integer mean it need not hold n p itself.
        EXPECT_LE(static_cast<double>(lo), std::ceil(n * p));
        EXPECT_GE(static_cast<double>(hi), std::floor(n * p));
      }
    }
  }
}

TEST(StatsBinomial, Errors) {
  EXPECT_THAT(invalid_argument_of([] { st::binomial_interval(10, 1.5, 0.05); }),
              StartsWith("torchinit::stats::binomial_interval: "));
  EXPECT_THAT(invalid_argument_of([] { st::binomial_interval(10, 0.5, 0.0); }),
              StartsWith("torchinit::stats::binomial_interval: "));
  EXPECT_THAT(invalid_argument_of([] { st::binomial_interval(-1, 0.5, 0.05); }),
              StartsWith("torchinit::stats::binomial_interval: "));
}

}  // namespace
