#include "torchinit/stats.h"

#include <algorithm>
#include <array>
#include <boost/math/distributions/binomial.hpp>
#include <boost/math/special_functions/erf.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "theory/gaussian.h"

namespace torchinit {
namespace stats {
namespace {

using detail::kPi;

[[noreturn]] void fail(const char* function, const std::string& message) {
  throw std::invalid_argument(std::string("torchinit::stats::") + function + ": " + message);
}

// ---------------------------------------------------------------------------------------------
// Moments

// Independent accumulators per block: fixed-order lanes that the compiler turns into SIMD
// registers (no -ffast-math needed, and the lanes fix the summation order on every ISA).
constexpr int kLanes = 16;

// Clones for AVX-512 and AVX2 chosen at load time (ifunc); stats.cpp is compiled with
// -ffp-contract=off so every clone rounds exactly like the baseline.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define TORCHINIT_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TORCHINIT_SIMD_CLONES
#endif

// Moments of one block of y = x - shift: power sums of d = y - c around the block's mean c,
// then moved exactly to the true mean c + e, e = sum(d) / len (e is only the rounding of c).
// Two passes over the block, the second from cache: one read of memory.
template <typename T>
TORCHINIT_SIMD_CLONES Moments block_moments(const T* x, int64_t len, double shift) {
  const double n = static_cast<double>(len);
  const int64_t body = len - len % kLanes;
  double lane_sum[kLanes] = {};
  for (int64_t i = 0; i < body; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) lane_sum[j] += static_cast<double>(x[i + j]) - shift;
  }
  double sum = 0;
  for (int64_t i = body; i < len; ++i) sum += static_cast<double>(x[i]) - shift;
  for (double v : lane_sum) sum += v;
  const double c = sum / n;

  double a1[kLanes] = {}, a2[kLanes] = {}, a3[kLanes] = {}, a4[kLanes] = {};
  for (int64_t i = 0; i < body; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      const double d = (static_cast<double>(x[i + j]) - shift) - c;
      const double d2 = d * d;
      a1[j] += d;
      a2[j] += d2;
      a3[j] += d2 * d;
      a4[j] += d2 * d2;
    }
  }
  double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
  for (int64_t i = body; i < len; ++i) {
    const double d = (static_cast<double>(x[i]) - shift) - c;
    const double d2 = d * d;
    s1 += d;
    s2 += d2;
    s3 += d2 * d;
    s4 += d2 * d2;
  }
  for (int j = 0; j < kLanes; ++j) {
    s1 += a1[j];
    s2 += a2[j];
    s3 += a3[j];
    s4 += a4[j];
  }
  const double e = s1 / n;
  Moments m;
  m.n = len;
  m.mean = c + e;
  m.m2 = s2 - n * e * e;
  m.m3 = s3 - 3 * e * s2 + 2 * n * e * e * e;
  m.m4 = s4 - 4 * e * s3 + 6 * e * e * s2 - 3 * n * e * e * e * e;
  return m;
}

// All blocks work on y = x - x[0], so block means are small numbers kept to full relative
// precision however large the common offset (1e9 + noise); the offset is added back once.
template <typename T>
Moments moments_of(const T* x, int64_t n, const char* function) {
  if (n < 0) fail(function, "negative count " + std::to_string(n));
  if (n == 0) return Moments();
  if (x == nullptr) fail(function, "null data pointer");
  constexpr int64_t kBlock = 4096;  // 32 KiB of float64: the second pass hits L1/L2
  const double shift = static_cast<double>(x[0]);
  Moments total;
  for (int64_t start = 0; start < n; start += kBlock) {
    total = Moments::merge(total, block_moments(x + start, std::min(kBlock, n - start), shift));
  }
  total.mean += shift;
  return total;
}

// ---------------------------------------------------------------------------------------------
// Kolmogorov–Smirnov helpers

// Requires an ascending sample without NaN.
void check_sorted(const std::vector<double>& x, const char* function) {
  if (x.empty()) fail(function, "empty sample");
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i])) fail(function, "NaN at index " + std::to_string(i));
    if (i > 0 && x[i] < x[i - 1]) {
      fail(function, "sample is not sorted ascending (index " + std::to_string(i) + ")");
    }
  }
}

double cdf_at(const std::function<double(double)>& cdf, double x, const char* function) {
  const double f = cdf(x);
  if (std::isnan(f)) fail(function, "the CDF returned NaN at " + std::to_string(x));
  return std::clamp(f, 0.0, 1.0);
}

using Matrix = std::vector<double>;  // m x m, row-major

Matrix multiply(const Matrix& a, const Matrix& b, int m) {
  Matrix c(static_cast<size_t>(m) * m, 0.0);
  for (int i = 0; i < m; ++i) {
    for (int k = 0; k < m; ++k) {
      const double aik = a[i * m + k];
      if (aik == 0) continue;
      for (int j = 0; j < m; ++j) c[i * m + j] += aik * b[k * m + j];
    }
  }
  return c;
}

// v * 10^exponent = a^n, rescaled by 1e-140 whenever the centre entry passes 1e140 (MTW's mPower).
void matrix_power(const Matrix& a, int m, int64_t n, Matrix& v, int& exponent) {
  if (n == 1) {
    v = a;
    exponent = 0;
    return;
  }
  matrix_power(a, m, n / 2, v, exponent);
  Matrix b = multiply(v, v, m);
  exponent *= 2;
  v = (n % 2 == 0) ? std::move(b) : multiply(a, b, m);
  if (v[(m / 2) * m + m / 2] > 1e140) {
    for (double& e : v) e *= 1e-140;
    exponent += 140;
  }
}

// P(D_n < d), Marsaglia, Tsang & Wang (2003), J. Stat. Software 8(18): Durbin's (1973) matrix
// formula n!/n^n (H^n)_{kk}. Their optional right-tail shortcut is left out.
double mtw_cdf(int64_t n, double d) {
  const int k = static_cast<int>(static_cast<double>(n) * d) + 1;
  const int m = 2 * k - 1;
  const double h = k - static_cast<double>(n) * d;
  Matrix hm(static_cast<size_t>(m) * m);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < m; ++j) hm[i * m + j] = (i - j + 1 < 0) ? 0.0 : 1.0;
  }
  for (int i = 0; i < m; ++i) {
    hm[i * m] -= std::pow(h, i + 1);
    hm[(m - 1) * m + i] -= std::pow(h, m - i);
  }
  hm[(m - 1) * m] += (2 * h - 1 > 0) ? std::pow(2 * h - 1, m) : 0.0;
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < m; ++j) {
      for (int g = 1; g <= i - j + 1; ++g) hm[i * m + j] /= g;
    }
  }
  Matrix q;
  int exponent = 0;
  matrix_power(hm, m, n, q, exponent);
  double s = q[(k - 1) * m + k - 1];
  for (int64_t i = 1; i <= n; ++i) {
    s = s * static_cast<double>(i) / static_cast<double>(n);
    if (s < 1e-140) {
      s *= 1e140;
      exponent -= 140;
    }
  }
  return s * std::pow(10.0, exponent);
}

// ---------------------------------------------------------------------------------------------
// Anderson–Darling helpers (Marsaglia & Marsaglia 2004)

// Their short adinf(z) = P(A^2_inf < z), z < 2 piece; used below z = 0.1 only, where it is
// within 5e-9 of the exact value.
double mm_adinf_small(double z) {
  return std::exp(-1.2337141 / z) / std::sqrt(z) *
         (2.00012 +
          (.247105 - (.0649821 - (.0347962 - (.011672 - .00168691 * z) * z) * z) * z) * z);
}

// Their errfix(n, x) for x > 0.8 is g(x)/n with g(x) = sum_i a_i x^i. The published
// coefficients leave g(1) = -6e-4 instead of 0; tilted to g(x) - g(1) (x - 0.8) / 0.2, which
// vanishes at 1 (and is unchanged at 0.8), g = (x - 1) q(x) = -(1 - x) q(x). Returns q(x).
double mm_errfix_upper_q(double x) {
  static const std::array<double, 5> q = [] {
    std::array<double, 6> a = {-130.2137, 745.2337, -1705.091, 1950.646, -1116.360, 255.7844};
    double g1 = 0;
    for (double c : a) g1 += c;
    a[0] += 4 * g1;  // - g1 (x - 0.8) / 0.2 = 4 g1 - 5 g1 x
    a[1] -= 5 * g1;
    // Synthetic division by (x - 1); the remainder a[0] + q[0] is 0 up to rounding.
    std::array<double, 5> quotient{};
    quotient[4] = a[5];
    for (int i = 3; i >= 0; --i) quotient[i] = a[i + 1] + quotient[i + 1];
    return quotient;
  }();
  double r = 0;
  for (int i = 4; i >= 0; --i) r = r * x + q[i];
  return r;
}

// Their errfix(n, x) for x <= 0.8, in CDF units: P(A^2_n < z) ~ x + errfix(n, x), x = ADinf(z).
double mm_errfix_lower(int64_t n_int, double x) {
  const double n = static_cast<double>(n_int);
  const double c = .01265 + .1757 / n;
  if (x < c) {
    double t = x / c;
    t = std::sqrt(t) * (1. - t) * (49 * t - 102);
    return t * (.0037 / (n * n) + .00078 / n + .00006) / n;
  }
  double t = (x - c) / (.8 - c);
  t = -.00022633 + (6.54034 - (14.6538 - (14.458 - (8.259 - 1.91864 * t) * t) * t) * t) * t;
  return t * (.04213 / n + .01365 / (n * n));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Moments

void Moments::add(double x) {
  const double n1 = static_cast<double>(n);
  ++n;
  const double nn = static_cast<double>(n);
  const double delta = x - mean;
  const double delta_n = delta / nn;
  const double delta_n2 = delta_n * delta_n;
  const double term1 = delta * delta_n * n1;
  mean += delta_n;
  m4 += term1 * delta_n2 * (nn * nn - 3 * nn + 3) + 6 * delta_n2 * m2 - 4 * delta_n * m3;
  m3 += term1 * delta_n * (nn - 2) - 3 * delta_n * m2;
  m2 += term1;
}

Moments Moments::merge(const Moments& a, const Moments& b) {
  if (a.n == 0) return b;
  if (b.n == 0) return a;
  const double na = static_cast<double>(a.n), nb = static_cast<double>(b.n);
  const double n = na + nb;
  const double delta = b.mean - a.mean;
  const double dn = delta / n;
  Moments r;
  r.n = a.n + b.n;
  r.mean = a.mean + nb * dn;
  r.m2 = a.m2 + b.m2 + delta * dn * na * nb;
  r.m3 = a.m3 + b.m3 + delta * dn * dn * na * nb * (na - nb) + 3 * dn * (na * b.m2 - nb * a.m2);
  r.m4 = a.m4 + b.m4 + delta * dn * dn * dn * na * nb * (na * na - na * nb + nb * nb) +
         6 * dn * dn * (na * na * b.m2 + nb * nb * a.m2) + 4 * dn * (na * b.m3 - nb * a.m3);
  return r;
}

double Moments::sample_variance() const {
  if (n < 2) fail("Moments::sample_variance", "needs n >= 2, got " + std::to_string(n));
  return m2 / static_cast<double>(n - 1);
}

double Moments::central_moment(int k) const {
  if (n < 1) fail("Moments::central_moment", "needs n >= 1, got 0");
  const double nn = static_cast<double>(n);
  switch (k) {
    case 2:
      return m2 / nn;
    case 3:
      return m3 / nn;
    case 4:
      return m4 / nn;
    default:
      fail("Moments::central_moment", "k must be 2, 3 or 4, got " + std::to_string(k));
  }
}

Moments moments(const float* x, int64_t n) { return moments_of(x, n, "moments"); }
Moments moments(const double* x, int64_t n) { return moments_of(x, n, "moments"); }

// ---------------------------------------------------------------------------------------------
// Normal tails and z-tests

double normal_two_sided_p(double z) {
  // A NaN z (say from NaN data) must not read as "no evidence against H0".
  if (std::isnan(z)) fail("normal_two_sided_p", "z is NaN");
  return std::erfc(std::fabs(z) / std::sqrt(2.0));
}

double normal_quantile_two_sided(double alpha) {
  if (!(alpha > 0 && alpha <= 1)) {
    fail("normal_quantile_two_sided", "alpha must be in (0, 1], got " + std::to_string(alpha));
  }
  return std::sqrt(2.0) * boost::math::erfc_inv(alpha);
}

double mean_z(const Moments& m, double mu, double sigma) {
  if (m.n < 1) fail("mean_z", "needs n >= 1, got 0");
  if (!(sigma >= 0) || std::isinf(sigma)) {
    fail("mean_z", "sigma must be finite and >= 0, got " + std::to_string(sigma));
  }
  const double diff = m.mean - mu;
  if (sigma == 0) return diff == 0 ? 0.0 : std::copysign(HUGE_VAL, diff);
  return diff / (sigma / std::sqrt(static_cast<double>(m.n)));
}

double variance_of_sample_variance(int64_t n, double sigma2, double mu4) {
  const char* fn = "variance_of_sample_variance";
  if (n < 2) fail(fn, "needs n >= 2, got " + std::to_string(n));
  if (!(sigma2 >= 0) || std::isinf(sigma2)) {
    fail(fn, "sigma2 must be finite and >= 0, got " + std::to_string(sigma2));
  }
  const double sigma4 = sigma2 * sigma2;
  // mu4 >= sigma^4 for every distribution (Jensen); allow rounding in the theory's values.
  if (!(mu4 >= sigma4 * (1 - 1e-9)) || std::isinf(mu4)) {
    fail(fn, "mu4 must be finite and >= sigma2^2, got mu4 = " + std::to_string(mu4) +
                 ", sigma2 = " + std::to_string(sigma2));
  }
  const double nn = static_cast<double>(n);
  return std::max(0.0, (mu4 - sigma4 * (nn - 3) / (nn - 1)) / nn);
}

double variance_z(const Moments& m, double sigma2, double mu4) {
  if (m.n < 2) fail("variance_z", "needs n >= 2, got " + std::to_string(m.n));
  const double var = variance_of_sample_variance(m.n, sigma2, mu4);
  const double diff = m.sample_variance() - sigma2;
  if (var == 0) return diff == 0 ? 0.0 : std::copysign(HUGE_VAL, diff);
  return diff / std::sqrt(var);
}

// ---------------------------------------------------------------------------------------------
// Kolmogorov–Smirnov

double ks_statistic(const std::vector<double>& sorted, const std::function<double(double)>& cdf) {
  check_sorted(sorted, "ks_statistic");
  const double n = static_cast<double>(sorted.size());
  double d_plus = 0, d_minus = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const double f = cdf_at(cdf, sorted[i], "ks_statistic");
    d_plus = std::max(d_plus, static_cast<double>(i + 1) / n - f);
    d_minus = std::max(d_minus, f - static_cast<double>(i) / n);
  }
  return std::max(d_plus, d_minus);
}

double smirnov_p(double d, int64_t n) {
  if (n < 1) fail("smirnov_p", "needs n >= 1, got " + std::to_string(n));
  if (std::isnan(d)) fail("smirnov_p", "d is NaN");
  if (d <= 0) return 1;
  if (d >= 1) return 0;
  const double nn = static_cast<double>(n);
  const double nd = nn * d;
  // Terms j = 0 .. floor(n (1 - d)), all positive: log-sum-exp with a running maximum.
  double log_choose = 0;  // ln C(n, j), updated incrementally
  double max_log = -HUGE_VAL, sum = 0;
  for (int64_t j = 0; static_cast<double>(j) < nn - nd; ++j) {
    const double jj = static_cast<double>(j);
    const double a = (nn - jj - nd) / nn;  // 1 - d - j/n > 0
    const double b = (nd + jj) / nn;       // d + j/n
    const double t = log_choose + (nn - jj) * std::log(a) + (jj - 1) * std::log(b);
    if (t > max_log) {
      sum = sum * std::exp(max_log - t) + 1;
      max_log = t;
    } else {
      sum += std::exp(t - max_log);
    }
    log_choose += std::log((nn - jj) / (jj + 1));
  }
  if (sum == 0) return 0;
  return std::min(1.0, std::exp(std::log(d) + max_log + std::log(sum)));
}

double kolmogorov_asymptotic_p(double lambda) {
  if (std::isnan(lambda)) fail("kolmogorov_asymptotic_p", "lambda is NaN");
  if (lambda <= 0) return 1;
  if (lambda < 1) {
    // 1 - K(lambda) with K = sqrt(2 pi)/lambda sum exp(-(2k-1)^2 pi^2 / (8 lambda^2)).
    const double c = kPi * kPi / (8 * lambda * lambda);
    double sum = 0;
    for (int k = 1; k < 100; ++k) {
      const double term = std::exp(-(2 * k - 1) * (2 * k - 1) * c);
      sum += term;
      if (term <= 1e-17 * sum) break;
    }
    return 1 - std::sqrt(2 * kPi) / lambda * sum;
  }
  double sum = 0;
  for (int k = 1; k < 100; ++k) {
    const double term = std::exp(-2.0 * k * k * lambda * lambda);
    sum += (k % 2 == 1) ? term : -term;
    if (term <= 1e-17 * sum) break;
  }
  return std::clamp(2 * sum, 0.0, 1.0);
}

double kolmogorov_p(double d, int64_t n) {
  if (n < 1) fail("kolmogorov_p", "needs n >= 1, got " + std::to_string(n));
  if (std::isnan(d)) fail("kolmogorov_p", "d is NaN");
  const double nn = static_cast<double>(n);
  if (d <= 0.5 / nn) return 1;  // D_n >= 1/(2n) always
  if (d >= 1) return 0;
  if (n <= 1000) {
    // P(D >= d) = 2 P(D+ >= d) - P(D+ >= d and D- >= d). The joint term is 0 for d >= 1/2 and
    // relatively about exp(-6 n d^2) otherwise, below 1e-9 wherever 2 P(D+ >= d) < 1e-3.
    const double two_one_sided = 2 * smirnov_p(d, n);
    if (two_one_sided < 1e-3) return two_one_sided;
    return std::clamp(1 - mtw_cdf(n, d), 0.0, 1.0);
  }
  const double sqrt_n = std::sqrt(nn);
  const double lambda = sqrt_n * d;
  if (n <= 1000000 && lambda >= 1) {
    // Exact one-sided law times the asymptotic two-sided/one-sided ratio
    // R = Q(lambda) / (2 exp(-2 lambda^2)) = sum_k (-1)^(k-1) exp(-2 (k^2 - 1) lambda^2): exact
    // in the right tail, where R -> 1. O(n), cheaper than sorting the sample.
    double ratio = 0;
    for (int k = 1; k < 100; ++k) {
      const double term = std::exp(-2.0 * (k * k - 1) * lambda * lambda);
      ratio += (k % 2 == 1) ? term : -term;
      if (term <= 1e-17) break;
    }
    return std::clamp(2 * smirnov_p(d, n) * ratio, 0.0, 1.0);
  }
  return kolmogorov_asymptotic_p((sqrt_n + 0.12 + 0.11 / sqrt_n) * d);
}

// ---------------------------------------------------------------------------------------------
// Anderson–Darling

double anderson_darling_statistic(const std::vector<double>& sorted,
                                  const std::function<double(double)>& cdf) {
  check_sorted(sorted, "anderson_darling_statistic");
  const double lo = 1e-300, hi = std::nextafter(1.0, 0.0);
  const int64_t n = static_cast<int64_t>(sorted.size());
  // Each F(x_i) is used twice: (2i-1) ln F(x_i) and, as x_{n+1-j} for j = n+1-i,
  // (2(n-i)+1) ln(1 - F(x_i)).
  double sum = 0;
  for (int64_t i = 1; i <= n; ++i) {
    const double f = std::clamp(cdf_at(cdf, sorted[i - 1], "anderson_darling_statistic"), lo, hi);
    sum += static_cast<double>(2 * i - 1) * std::log(f) +
           static_cast<double>(2 * (n - i) + 1) * std::log1p(-f);
  }
  return -static_cast<double>(n) - sum / static_cast<double>(n);
}

double anderson_darling_asymptotic_p(double z) {
  if (std::isnan(z)) fail("anderson_darling_asymptotic_p", "z is NaN");
  if (z <= 0) return 1;
  if (z < 0.1) return 1 - mm_adinf_small(z);
  if (z > 800) return 0;  // p < exp(-z) underflows
  // Midpoint rule in phi, t = sin^2(phi/2): the integrand becomes smooth and even at both ends,
  // so the rule converges geometrically; the peak near phi = 0 narrows like 1/sqrt(z).
  const int nodes = 64 + static_cast<int>(8 * std::sqrt(z));
  double total = 0;
  for (int k = 1;; ++k) {
    double integral = 0;
    for (int i = 0; i < nodes; ++i) {
      const double half_phi = 0.5 * (i + 0.5) * kPi / nodes;
      const double s = std::sin(half_phi), c = std::cos(half_phi);
      const double t = s * s, one_minus_t = c * c;
      const double v = 2 * k - 1 + t, u = v * (v + 1);
      // dt = sin(phi)/2 dphi = s c dphi; sin(pi t) = sin(pi (1 - t)), use the smaller argument.
      const double sin_pi_t = std::sin(kPi * std::min(t, one_minus_t));
      integral += std::exp(-z * u / 2) * (2 * v + 1) / std::sqrt(u) * (s * c) / std::sqrt(sin_pi_t);
    }
    integral *= kPi / nodes;
    total += (k % 2 == 1) ? integral : -integral;
    // The next block starts at u = (2k+1)(2k+2); its weight relative to the first is below
    // exp(-z (u - 2) / 2).
    const double next_u = (2.0 * k + 1) * (2.0 * k + 2);
    if (z * (next_u - 2) / 2 > 42) break;
  }
  return std::clamp(total / std::sqrt(kPi), 0.0, 1.0);
}

double anderson_darling_p(double a2, int64_t n) {
  if (n < 1) fail("anderson_darling_p", "needs n >= 1, got " + std::to_string(n));
  if (std::isnan(a2)) fail("anderson_darling_p", "a2 is NaN");
  const double p_inf = anderson_darling_asymptotic_p(a2);
  const double x = 1 - p_inf;  // ADinf(a2)
  // P(A_n < z) ~ x + errfix(n, x), so p = p_inf - errfix(n, x). For x > 0.8, with the tilt,
  // errfix = -(1 - x) q(x) / n = -p_inf q(x) / n: a relative correction, exact near p = 0.
  double p;
  if (x > 0.8) {
    p = p_inf * (1 + mm_errfix_upper_q(x) / static_cast<double>(n));
  } else {
    p = p_inf - mm_errfix_lower(n, x);
  }
  return std::clamp(p, 0.0, 1.0);
}

// ---------------------------------------------------------------------------------------------
// Chi-square and binomial

ChiSquare chi_square(const std::vector<double>& observed, const std::vector<double>& expected,
                     int fitted_params) {
  const char* fn = "chi_square";
  if (observed.size() != expected.size()) {
    fail(fn, "observed has " + std::to_string(observed.size()) + " bins but expected has " +
                 std::to_string(expected.size()));
  }
  if (fitted_params < 0) fail(fn, "fitted_params must be >= 0");
  const int64_t df = static_cast<int64_t>(observed.size()) - 1 - fitted_params;
  if (df < 1) {
    fail(fn, "needs df = bins - 1 - fitted_params >= 1, got " + std::to_string(df));
  }
  double statistic = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    if (!(expected[i] > 0) || std::isinf(expected[i])) {
      fail(fn, "expected counts must be finite and > 0 (bin " + std::to_string(i) + ")");
    }
    if (!(observed[i] >= 0) || std::isinf(observed[i])) {
      fail(fn, "observed counts must be finite and >= 0 (bin " + std::to_string(i) + ")");
    }
    const double diff = observed[i] - expected[i];
    statistic += diff * diff / expected[i];
  }
  const double p = std::isinf(statistic)
                       ? 0.0
                       : boost::math::gamma_q(static_cast<double>(df) / 2, statistic / 2);
  return {statistic, df, p};
}

std::pair<int64_t, int64_t> binomial_interval(int64_t trials, double p, double alpha) {
  const char* fn = "binomial_interval";
  if (trials < 0) fail(fn, "trials must be >= 0, got " + std::to_string(trials));
  if (!(p >= 0 && p <= 1)) fail(fn, "p must be in [0, 1], got " + std::to_string(p));
  if (!(alpha > 0 && alpha < 1)) fail(fn, "alpha must be in (0, 1), got " + std::to_string(alpha));
  if (trials == 0 || p == 0) return {0, 0};
  if (p == 1) return {trials, trials};

  const boost::math::binomial_distribution<double> dist(static_cast<double>(trials), p);
  const double tail = alpha / 2;
  // P(X < k) and P(X > k).
  auto below = [&](int64_t k) { return k <= 0 ? 0.0 : cdf(dist, static_cast<double>(k - 1)); };
  auto above = [&](int64_t k) {
    return k >= trials ? 0.0 : cdf(complement(dist, static_cast<double>(k)));
  };
  // Boost's default discrete policy rounds these quantiles outwards; the loops make each end
  // the tightest one with its tail <= alpha/2, whatever the rounding.
  int64_t lo = std::llround(quantile(dist, tail));
  int64_t hi = std::llround(quantile(complement(dist, tail)));
  while (lo > 0 && below(lo) > tail) --lo;
  while (lo < trials && below(lo + 1) <= tail) ++lo;
  while (hi < trials && above(hi) > tail) ++hi;
  while (hi > 0 && above(hi - 1) <= tail) --hi;
  return {lo, hi};
}

}  // namespace stats
}  // namespace torchinit
