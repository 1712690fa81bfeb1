// Pure statistics for the checks layer: one-pass moments with pairwise merging, z-tests of the
// mean and variance against a theory, and goodness-of-fit tests (Kolmogorov–Smirnov,
// Anderson–Darling, chi-square). No torch headers: std and Boost.Math only.
//
// Invalid arguments throw std::invalid_argument with a message that starts with
// "torchinit::stats::<function>: ".
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace torchinit {
namespace stats {

// ---------------------------------------------------------------------------------------------
// Moments

// Count, mean and central sums m_k = sum_i (x_i - mean)^k for k = 2, 3, 4, all in double.
struct Moments {
  int64_t n = 0;
  double mean = 0, m2 = 0, m3 = 0, m4 = 0;

  // Adds one value: Welford (1962) updating, extended to the 3rd and 4th order by Terriberry
  // (2007), i.e. Pébay (2008) eq. 2.1 with one side of size 1. Like every update that stores
  // the mean in a double, relative error grows like kappa eps with kappa = |mean| / sigma:
  // prefer moments() for data far from zero.
  void add(double x);
  // Moments of the union of the two samples: Chan, Golub & LeVeque (1979) for m2, Pébay (2008)
  // "Formulas for robust, one-pass parallel computation of covariances and arbitrary-order
  // statistical moments" eqs. 2.1–2.3 for m3, m4. Exact up to rounding (of the two means,
  // among others: merging samples with |mean| >> sigma costs about kappa eps, as in add).
  static Moments merge(const Moments& a, const Moments& b);

  double sample_variance() const;      // m2 / (n - 1); needs n >= 2
  double central_moment(int k) const;  // m_k / n for k = 2, 3, 4; needs n >= 1
};

// Moments of x[0..n), one pass over memory: blocks of 4096 values of x - x[0] are summed
// two-pass (in cache) and merged with Moments::merge; x[0] is added back to the mean at the end,
// so central sums keep ~1e-15 relative precision whatever the offset (1e9 + N(0, 1) included).
// NaN and inf propagate into the result.
Moments moments(const float* x, int64_t n);
Moments moments(const double* x, int64_t n);

// ---------------------------------------------------------------------------------------------
// Normal tails and z-tests

// P(|Z| >= |z|) = erfc(|z| / sqrt(2)) for Z ~ N(0, 1); accurate down to the smallest doubles
// (relative error ~z^2 eps from rounding the argument). Throws on NaN.
double normal_two_sided_p(double z);
// z >= 0 with P(|Z| > z) = alpha, i.e. sqrt(2) erfc^-1(alpha); alpha in (0, 1].
double normal_quantile_two_sided(double alpha);

// z = (mean - mu) / (sigma / sqrt(n)): the mean of n iid draws with theoretical mean mu and
// standard deviation sigma, standardized (CLT). For sigma == 0: 0 if mean == mu, else ±inf.
double mean_z(const Moments& m, double mu, double sigma);
// z = (s^2 - sigma^2) / sqrt(Var(s^2)) with s^2 the sample variance and Var(s^2) from
// variance_of_sample_variance. For Var(s^2) == 0 (constant theory): 0 if s^2 == sigma^2, else
// ±inf.
double variance_z(const Moments& m, double sigma2, double mu4);
// Var(s^2) = (mu4 - sigma^4 (n - 3) / (n - 1)) / n for n iid draws with variance sigma2 and
// 4th central moment mu4 (Cramér 1946, §27.4; exact for any distribution with finite mu4).
double variance_of_sample_variance(int64_t n, double sigma2, double mu4);

// ---------------------------------------------------------------------------------------------
// Kolmogorov–Smirnov

// D_n = max(D+, D-), D+ = max_i (i/n - F(x_i)), D- = max_i (F(x_i) - (i-1)/n), for an
// ascending sample x_1 <= ... <= x_n and a continuous CDF F (values clamped to [0, 1]).
double ks_statistic(const std::vector<double>& sorted, const std::function<double(double)>& cdf);
// P(D_n >= d) under H0 (continuous F).
// - n <= 1000: exact in double precision. Marsaglia, Tsang & Wang (2003) "Evaluating
//   Kolmogorov's distribution" (Durbin matrix, without their right-tail shortcut) where
//   p >= 1e-3; below that 2 smirnov_p(d, n) (exact for d >= 1/2, otherwise relative error about
//   exp(-6 n d^2) < 1e-9), which keeps tiny p accurate where 1 - K(n, d) would cancel.
// - 1000 < n <= 1e6 and sqrt(n) d >= 1 (p below about 0.27): 2 smirnov_p(d, n) times the
//   asymptotic ratio Q(lambda) / (2 exp(-2 lambda^2)), lambda = sqrt(n) d. Against the exact
//   MTW values for n in [1001, 4000]: relative error below 2e-4, below 2e-6 for p < 0.05 and
//   1e-10 for p < 1e-3, where Stephens' formula is off by 1e-2 and growing.
// - otherwise: the asymptotic Q at Stephens' (1970) lambda = (sqrt(n) + 0.12 + 0.11/sqrt(n)) d.
//   Relative error below 7e-3 for n > 1000 with sqrt(n) d < 1; for n > 1e6 below 6e-4 for
//   p > 1e-4 and 5e-3 for p > 1e-14 (one O(n) sum would cost more than it gains there).
// Non-increasing in d up to relative jumps of 1e-9 where the n <= 1000 methods meet.
double kolmogorov_p(double d, int64_t n);
// One-sided P(D+_n >= d) (equally D-), exact: Birnbaum & Tingey (1951),
// d sum_{j=0}^{floor(n(1-d))} C(n, j) (1 - d - j/n)^(n-j) (d + j/n)^(j-1), summed in logs.
double smirnov_p(double d, int64_t n);
// Q(lambda) = P(sup |Brownian bridge| >= lambda) = 2 sum_{k>=1} (-1)^(k-1) exp(-2 k^2 lambda^2)
// (Kolmogorov 1933); for lambda < 1 via the theta-function form
// 1 - sqrt(2 pi)/lambda sum_{k>=1} exp(-(2k-1)^2 pi^2 / (8 lambda^2)).
double kolmogorov_asymptotic_p(double lambda);

// ---------------------------------------------------------------------------------------------
// Anderson–Darling

// A^2 = -n - (1/n) sum_i (2i-1) [ln F(x_i) + ln(1 - F(x_{n+1-i}))] for an ascending sample and a
// fully specified CDF (Anderson & Darling 1954). F is clamped to [1e-300, 1 - 2^-53] so a point
// outside the support gives a huge, finite A^2.
double anderson_darling_statistic(const std::vector<double>& sorted,
                                  const std::function<double(double)>& cdf);
// P(A^2_n >= a2) under H0: the limiting tail (anderson_darling_asymptotic_p) plus the finite-n
// correction errfix(n, x) of Marsaglia & Marsaglia (2004) "Evaluating the Anderson-Darling
// distribution", J. Stat. Software 9(2), a fit "off at the 5th, rarely at the 4th digit";
// its x > 0.8 piece is tilted linearly (by at most 6e-4/n) so that it vanishes at x = 1, where
// the published coefficients leave -6e-4/n: without that a floor of 6e-4/n would swamp tiny p.
double anderson_darling_p(double a2, int64_t n);
// P(A^2_inf >= z) for the limit A^2_inf = sum_j Z_j^2 / (j (j+1)). Smirnov's (1937) inversion
// for a quadratic form with the Fredholm determinant D(v (v+1)) = sin(pi v) / (pi v (v+1)):
// P = pi^-1/2 sum_{k>=1} (-1)^(k+1) int_0^1 exp(-z u/2) (2v+1) / sqrt(u sin(pi t)) dt with
// v = 2k-1+t, u = v (v+1), by a cosine substitution and the midpoint rule (geometric
// convergence). Agrees with Marsaglia & Marsaglia's full ADinf series to 1e-15 absolute while
// staying accurate relatively in the far tail, where their short adinf polynomial is 2x too
// small at p = 7e-6 and 100x at p = 2e-8. For z < 0.1 (p > 0.99997) their adinf is used.
double anderson_darling_asymptotic_p(double z);

// ---------------------------------------------------------------------------------------------
// Chi-square and binomial

struct ChiSquare {
  double statistic;
  int64_t df;
  double p_value;
};
// Pearson's X^2 = sum_i (O_i - E_i)^2 / E_i with df = bins - 1 - fitted_params and
// p = Q(df/2, X^2/2), the upper regularized incomplete gamma (boost::math::gamma_q). Needs equal
// sizes, E_i > 0, O_i >= 0, df >= 1.
ChiSquare chi_square(const std::vector<double>& observed, const std::vector<double>& expected,
                     int fitted_params = 0);

// [lo, hi] for X ~ Binomial(trials, p) with P(X < lo) <= alpha/2 and P(X > hi) <= alpha/2, each
// end as tight as that allows, so P(lo <= X <= hi) >= 1 - alpha. From boost::math binomial
// quantiles, confirmed against the CDF.
std::pair<int64_t, int64_t> binomial_interval(int64_t trials, double p, double alpha);

}  // namespace stats
}  // namespace torchinit
