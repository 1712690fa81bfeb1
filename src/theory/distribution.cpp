#include "torchinit/distribution.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <boost/math/special_functions/beta.hpp>
#include <cmath>
#include <limits>
#include <type_traits>
#include <variant>

#include "theory/gaussian.h"

namespace torchinit {
namespace {

using detail::kSqrt2;
using detail::normal_cdf;
using detail::normal_pdf;

// Raw moments E[Z^k], k = 0..4, of N(0,1) truncated to [alpha, beta], by the recursion
// m_k = (k-1) m_{k-2} + (alpha^{k-1} phi(alpha) - beta^{k-1} phi(beta)) / Z
// (Johnson, Kotz & Balakrishnan, Continuous Univariate Distributions vol. 1, 13.10).
std::array<double, 5> truncated_standard_raw_moments(double alpha, double beta) {
  // Mass computed from the side with the smaller tail to keep precision.
  const double mass =
      alpha >= 0 ? normal_cdf(-alpha) - normal_cdf(-beta) : normal_cdf(beta) - normal_cdf(alpha);
  auto edge = [](double x, int power) {  // x^power * phi(x), zero at infinity
    return std::isinf(x) ? 0.0 : std::pow(x, power) * normal_pdf(x);
  };
  std::array<double, 5> m{};
  m[0] = 1.0;
  m[1] = (edge(alpha, 0) - edge(beta, 0)) / mass;
  for (int k = 2; k <= 4; ++k)
    m[k] = (k - 1) * m[k - 2] + (edge(alpha, k - 1) - edge(beta, k - 1)) / mass;
  return m;
}

// Central moments (mu2, mu3, mu4) from raw moments r1..r4.
std::array<double, 3> central_from_raw(double r1, double r2, double r3, double r4) {
  const double m = r1;
  return {r2 - m * m, r3 - 3 * m * r2 + 2 * m * m * m,
          r4 - 4 * m * r3 + 6 * m * m * r2 - 3 * m * m * m * m};
}

// Mean and central moments (mu2, mu3, mu4) of N(0,1) truncated to [alpha, beta]. Near the
// center the raw-moment recursion is exact enough; in a far tail (alpha >= 3, or mirrored
// beta <= -3) raw moments ~alpha^4 would cancel to nothing in mu4 ~ alpha^-4, so there the
// density is integrated in the shifted variable t = z - alpha, where it is
// exp(-alpha t - t^2/2): smooth, with every moment of order one.
std::array<double, 4> truncated_standard_moments(double alpha, double beta) {
  const bool mirror = beta <= -3;
  if (mirror) {
    const double a = -beta;
    beta = -alpha;
    alpha = a;
  }
  std::array<double, 4> out{};
  if (alpha < 3) {
    const auto m = truncated_standard_raw_moments(alpha, beta);
    const auto c = central_from_raw(m[1], m[2], m[3], m[4]);
    out = {m[1], c[0], c[1], c[2]};
  } else {
    // exp(-alpha t - t^2/2) < e^-80 past this t: the rest of the interval carries no mass.
    const double end = std::min(beta - alpha, -alpha + std::sqrt(alpha * alpha + 160));
    auto integrate = [&](auto f) {
      return boost::math::quadrature::gauss_kronrod<double, 61>::integrate(
          [&](double t) { return f(t) * std::exp(-alpha * t - 0.5 * t * t); }, 0.0, end, 15, 1e-15);
    };
    const double mass = integrate([](double) { return 1.0; });
    const double t_mean = integrate([](double t) { return t; }) / mass;
    auto central = [&](int k) {
      return integrate([&](double t) { return std::pow(t - t_mean, k); }) / mass;
    };
    out = {alpha + t_mean, central(2), central(3), central(4)};
  }
  if (mirror) {
    out[0] = -out[0];
    out[2] = -out[2];
  }
  return out;
}

std::string six_digits(double x) { return fmt::format("{:.6g}", x); }

}  // namespace

Distribution::Distribution(Kind kind, std::string family)
    : kind_(kind), family_(std::move(family)) {}

void Distribution::set_moments(double mean, double mu2, double mu3, double mu4, double sd) {
  mean_ = mean;
  mu2_ = std::max(mu2, 0.0);
  // Below DBL_MIN the variance has lost precision or underflowed to 0 (normal(std=1e-200)):
  // the standard deviation computed without squaring stays exact.
  sd_ = mu2_ >= std::numeric_limits<double>::min() || std::isnan(sd) ? std::sqrt(mu2_) : sd;
  mu3_ = mu3;
  mu4_ = std::max(mu4, 0.0);
}

void Distribution::set_structure(TypedStructure s) {
  typed_structure_ = std::move(s);
  // The compatibility view: each structure's numbers in the fields that named them before.
  Structure& v = structure_;
  v = Structure{};
  std::visit(
      [&v](const auto& st) {
        using S = std::decay_t<decltype(st)>;
        if constexpr (std::is_same_v<S, structure::Orthogonal>) {
          v.rows = st.rows;
          v.cols = st.cols;
          v.gain = st.gain;
        } else if constexpr (std::is_same_v<S, structure::Sparse>) {
          v.rows = st.rows;
          v.cols = st.cols;
          v.zeros_per_column = st.zeros_per_column;
        } else if constexpr (std::is_same_v<S, structure::Eye>) {
          v.rows = st.rows;
          v.cols = st.cols;
        } else if constexpr (std::is_same_v<S, structure::Dirac>) {
          v.groups = st.groups;
          v.shape = st.shape;
        } else if constexpr (std::is_same_v<S, structure::DeltaOrthogonal>) {
          v.rows = st.shape[0];
          v.cols = st.shape[1];
          v.gain = st.gain;
          v.shape = st.shape;
        } else if constexpr (std::is_same_v<S, structure::BlockConstant>) {
          v.block_values = st.values;
        }
        // None and Chrono have no fields in the view.
      },
      typed_structure_);
}

Distribution Distribution::with_structure(std::shared_ptr<const structure::Custom> structure,
                                          std::string family) const {
  TORCH_CHECK(structure != nullptr, "torchinit::Distribution::with_structure: the structure of '",
              family, "' is null");
  TORCH_CHECK(!family.empty(), "torchinit::Distribution::with_structure: empty family name");
  TORCH_CHECK(std::holds_alternative<structure::None>(typed_structure_),
              "torchinit::Distribution::with_structure: ", str(),
              " already has a structure; give '", family, "' an unstructured marginal");
  Distribution d = *this;
  d.family_ = std::move(family);
  d.set_structure(std::move(structure));
  return d;
}

Distribution Distribution::constant(double value) {
  TORCH_CHECK(std::isfinite(value), "torchinit::Distribution::constant: value must be finite, got ",
              value);
  Distribution d(Kind::Constant, "constant");
  d.params_ = {{"value", value}};
  d.set_moments(value, 0, 0, 0);
  return d;
}

Distribution Distribution::uniform(double a, double b) {
  TORCH_CHECK(std::isfinite(a) && std::isfinite(b) && a < b,
              "torchinit::Distribution::uniform: expected finite a < b, got a=", a, ", b=", b);
  Distribution d(Kind::Uniform, "uniform");
  d.params_ = {{"a", a}, {"b", b}};
  const double w = b - a;
  d.set_moments((a + b) / 2, w * w / 12, 0, w * w * w * w / 80, w / std::sqrt(12.0));
  return d;
}

Distribution Distribution::normal(double mean, double std) {
  TORCH_CHECK(std::isfinite(mean) && std::isfinite(std) && std > 0,
              "torchinit::Distribution::normal: expected finite mean and std > 0, got mean=", mean,
              ", std=", std);
  Distribution d(Kind::Normal, "normal");
  d.params_ = {{"mean", mean}, {"std", std}};
  const double v = std * std;
  d.set_moments(mean, v, 0, 3 * v * v, std);
  return d;
}

Distribution Distribution::truncated_normal(double mean, double std, double a, double b) {
  TORCH_CHECK(std::isfinite(mean) && std::isfinite(std) && std > 0 && !std::isnan(a) &&
                  !std::isnan(b) && a < b,
              "torchinit::Distribution::truncated_normal: expected finite mean, std > 0 and a < b, "
              "got mean=",
              mean, ", std=", std, ", a=", a, ", b=", b);
  const double alpha = (a - mean) / std, beta = (b - mean) / std;
  // Beyond ~37 std the normal mass underflows in double: there is no distribution to describe.
  TORCH_CHECK(alpha < 37 && beta > -37, "torchinit::Distribution::truncated_normal: [a, b] = [", a,
              ", ", b, "] lies more than 37 std from the mean ", mean, " (std ", std,
              "); its probability underflows in double. Move the bounds or the mean");
  Distribution d(Kind::TruncatedNormal, "truncated_normal");
  d.params_ = {{"mean", mean}, {"std", std}, {"a", a}, {"b", b}};
  // A bound beyond 40 std cuts no mass in double: the moments are those of an infinite bound
  // (and z^3 * pdf(z) would be inf * 0 for a bound like -1e300).
  const double za = alpha < -40 ? -INFINITY : alpha, zb = beta > 40 ? INFINITY : beta;
  const auto z = truncated_standard_moments(za, zb);  // mean, mu2, mu3, mu4 of Z
  const double s2 = std * std;
  d.set_moments(mean + std * z[0], s2 * z[1], s2 * std * z[2], s2 * s2 * z[3],
                std * std::sqrt(z[1]));
  return d;
}

Distribution Distribution::orthogonal(int64_t rows, int64_t cols, double gain) {
  TORCH_CHECK(
      rows > 0 && cols > 0 && std::isfinite(gain) && gain > 0,
      "torchinit::Distribution::orthogonal: expected rows, cols > 0 and gain > 0, got rows=", rows,
      ", cols=", cols, ", gain=", gain);
  Distribution d(Kind::Orthogonal, "orthogonal");
  d.params_ = {{"rows", double(rows)}, {"cols", double(cols)}, {"gain", gain}};
  d.set_structure(structure::Orthogonal{rows, cols, gain});
  // Coordinate of a uniform unit vector in R^n: E[x^2] = 1/n, E[x^4] = 3/(n(n+2)).
  const double n = double(std::max(rows, cols)), g2 = gain * gain;
  d.set_moments(0, g2 / n, 0, g2 * g2 * 3 / (n * (n + 2)), gain / std::sqrt(n));
  return d;
}

Distribution Distribution::mixture(std::vector<std::pair<double, Distribution>> components,
                                   std::string family) {
  TORCH_CHECK(!components.empty(), "torchinit::Distribution::mixture: no components");
  double total = 0, r[5] = {0, 0, 0, 0, 0};
  for (const auto& [w, c] : components) {
    TORCH_CHECK(w >= 0, "torchinit::Distribution::mixture: negative weight ", w);
    total += w;
    // Raw moments of the component from its central ones.
    const double m = c.mean(), v = c.variance(), m3 = c.third_central_moment(),
                 m4 = c.fourth_central_moment();
    r[1] += w * m;
    r[2] += w * (v + m * m);
    r[3] += w * (m3 + 3 * m * v + m * m * m);
    r[4] += w * (m4 + 4 * m * m3 + 6 * m * m * v + m * m * m * m);
  }
  TORCH_CHECK(std::abs(total - 1) < 1e-9,
              "torchinit::Distribution::mixture: weights must sum to 1, got ", total);
  Distribution d(Kind::Mixture, std::move(family));
  const auto c = central_from_raw(r[1], r[2], r[3], r[4]);
  d.set_moments(r[1], c[0], c[1], c[2]);
  d.components_ = std::move(components);
  return d;
}

Distribution Distribution::sparse(int64_t rows, int64_t cols, int64_t zeros_per_column,
                                  double std) {
  TORCH_CHECK(rows > 0 && cols > 0 && zeros_per_column >= 0 && zeros_per_column <= rows,
              "torchinit::Distribution::sparse: expected 0 <= zeros_per_column <= rows, got rows=",
              rows, ", zeros_per_column=", zeros_per_column);
  const double p0 = double(zeros_per_column) / double(rows);
  std::vector<std::pair<double, Distribution>> parts;
  if (p0 > 0) parts.emplace_back(p0, constant(0));
  if (p0 < 1) parts.emplace_back(1 - p0, normal(0, std));
  Distribution d = mixture(std::move(parts), "sparse");
  d.params_ = {{"zeros_per_column", double(zeros_per_column)}, {"std", std}};
  d.set_structure(structure::Sparse{rows, cols, zeros_per_column, std});
  return d;
}

namespace {
// Two-point 0/1 distribution with `ones` ones among `total` elements.
Distribution zero_one(int64_t ones, int64_t total, std::string family) {
  const double p1 = double(ones) / double(total);
  std::vector<std::pair<double, Distribution>> parts;
  if (p1 > 0) parts.emplace_back(p1, Distribution::constant(1));
  if (p1 < 1) parts.emplace_back(1 - p1, Distribution::constant(0));
  return Distribution::mixture(std::move(parts), std::move(family));
}
}  // namespace

Distribution Distribution::eye(int64_t rows, int64_t cols) {
  TORCH_CHECK(rows > 0 && cols > 0, "torchinit::Distribution::eye: expected rows, cols > 0, got ",
              rows, "x", cols);
  Distribution d = zero_one(std::min(rows, cols), rows * cols, "eye");
  d.params_ = {{"rows", double(rows)}, {"cols", double(cols)}};
  d.set_structure(structure::Eye{rows, cols});
  return d;
}

Distribution Distribution::dirac(std::vector<int64_t> shape, int64_t groups) {
  TORCH_CHECK(shape.size() >= 3 && groups > 0 && shape[0] % groups == 0,
              "torchinit::Distribution::dirac: expected a 3-5 dim shape with size(0) divisible by "
              "groups, got ",
              shape.size(), " dims and groups=", groups);
  int64_t total = 1;
  for (int64_t s : shape) total *= s;
  TORCH_CHECK(total > 0, "torchinit::Distribution::dirac: zero-element shape");
  const int64_t ones = groups * std::min(shape[0] / groups, shape[1]);
  Distribution d = zero_one(ones, total, "dirac");
  d.params_ = {{"groups", double(groups)}};
  d.set_structure(structure::Dirac{std::move(shape), groups});
  return d;
}

Distribution Distribution::log_uniform(double lo, double hi, double sign) {
  TORCH_CHECK(
      std::isfinite(lo) && std::isfinite(hi) && lo > 0 && lo < hi && (sign == 1 || sign == -1),
      "torchinit::Distribution::log_uniform: expected 0 < lo < hi and sign = +-1, got lo=", lo,
      ", hi=", hi, ", sign=", sign);
  Distribution d(Kind::LogUniform, "log_uniform");
  d.params_ = {{"lo", lo}, {"hi", hi}, {"sign", sign}};
  // E[(ln U)^k] = [u sum_j (-1)^(k-j) k!/j! (ln u)^j]_lo^hi / (hi - lo).
  auto antiderivative = [](double u, int k) {
    double sum = 0, factorial_ratio = 1;  // k!/j! for j = k, k-1, ...
    for (int j = k; j >= 0; --j) {
      sum += ((k - j) % 2 ? -1.0 : 1.0) * factorial_ratio * std::pow(std::log(u), j);
      factorial_ratio *= j;
    }
    return u * sum;
  };
  double r[5];
  for (int k = 1; k <= 4; ++k) r[k] = (antiderivative(hi, k) - antiderivative(lo, k)) / (hi - lo);
  const auto c = central_from_raw(r[1], r[2], r[3], r[4]);
  d.set_moments(sign * r[1], c[0], sign * c[1], c[2]);
  return d;
}

Distribution Distribution::chrono(double t_max) {
  TORCH_CHECK(std::isfinite(t_max) && t_max > 2,
              "torchinit::Distribution::chrono: t_max must be > 2, got ", t_max);
  Distribution d = mixture({{0.25, log_uniform(1, t_max - 1, -1)},
                            {0.25, log_uniform(1, t_max - 1, 1)},
                            {0.5, constant(0)}},
                           "chrono");
  d.params_ = {{"t_max", t_max}};
  d.set_structure(structure::Chrono{t_max});
  return d;
}

Distribution Distribution::block_constant(std::vector<double> values) {
  TORCH_CHECK(!values.empty(), "torchinit::Distribution::block_constant: no blocks");
  std::vector<std::pair<double, Distribution>> parts;
  for (double v : values) parts.emplace_back(1.0 / double(values.size()), constant(v));
  Distribution d = mixture(std::move(parts), "block_constant");
  d.set_structure(structure::BlockConstant{std::move(values)});
  return d;
}

Distribution Distribution::delta_orthogonal(std::vector<int64_t> shape, double gain) {
  TORCH_CHECK(shape.size() >= 3, "torchinit::Distribution::delta_orthogonal: needs [out, in, k…]");
  int64_t taps = 1;
  for (size_t i = 2; i < shape.size(); ++i) taps *= shape[i];
  const double center = 1.0 / double(taps);
  std::vector<std::pair<double, Distribution>> parts = {
      {center, orthogonal(shape[0], shape[1], gain)}};
  if (taps > 1) parts.emplace_back(1 - center, constant(0));
  Distribution d = mixture(std::move(parts), "delta_orthogonal");
  d.params_ = {{"gain", gain}};
  d.set_structure(structure::DeltaOrthogonal{std::move(shape), gain});
  return d;
}

double Distribution::std() const { return sd_; }

bool Distribution::is_exact() const {
  if (kind_ == Kind::Constant) return true;
  if (kind_ != Kind::Mixture) return false;
  return std::all_of(components_.begin(), components_.end(),
                     [](const auto& c) { return c.second.is_exact(); });
}

double Distribution::cdf(double x) const {
  if (std::isnan(x)) return std::numeric_limits<double>::quiet_NaN();
  switch (kind_) {
    case Kind::Constant:
      return x >= mean_ ? 1.0 : 0.0;
    case Kind::Uniform: {
      const double a = params_[0].second, b = params_[1].second;
      return std::clamp((x - a) / (b - a), 0.0, 1.0);
    }
    case Kind::Normal:
      return normal_cdf((x - params_[0].second) / params_[1].second);
    case Kind::TruncatedNormal: {
      const double mean = params_[0].second, s = params_[1].second;
      const double a = params_[2].second, b = params_[3].second;
      if (x <= a) return 0.0;
      if (x >= b) return 1.0;
      const double alpha = (a - mean) / s, beta = (b - mean) / s, z = (x - mean) / s;
      if (alpha >= 0)  // upper tail: work with survival functions for precision
        return (normal_cdf(-alpha) - normal_cdf(-z)) / (normal_cdf(-alpha) - normal_cdf(-beta));
      return (normal_cdf(z) - normal_cdf(alpha)) / (normal_cdf(beta) - normal_cdf(alpha));
    }
    case Kind::Orthogonal: {
      const auto& o = std::get<structure::Orthogonal>(typed_structure_);
      const double y = x / o.gain;
      const double n = double(std::max(o.rows, o.cols));
      if (y <= -1) return 0.0;
      if (y >= 1) return 1.0;
      if (n == 1) return y >= 0 ? 0.5 : 0.0;  // the coordinate is +-1 with equal odds
      const double half = 0.5 * boost::math::ibeta(0.5, (n - 1) / 2, y * y);
      return y >= 0 ? 0.5 + half : 0.5 - half;
    }
    case Kind::LogUniform: {
      const double lo = params_[0].second, hi = params_[1].second, sign = params_[2].second;
      const double u = std::exp(sign * x);  // x = sign ln U  <=>  U = e^(sign x)
      const double below = std::clamp((u - lo) / (hi - lo), 0.0, 1.0);  // P(U <= u)
      return sign > 0 ? below : 1.0 - below;
    }
    case Kind::Mixture: {
      double p = 0;
      for (const auto& [w, c] : components_) p += w * c.cdf(x);
      return p;
    }
  }
  return 0.0;
}

double Distribution::param(const std::string& name) const {
  for (const auto& [k, v] : params_)
    if (k == name) return v;
  TORCH_CHECK(false, "torchinit::Distribution::param: ", family_, " has no parameter '", name, "'");
}

std::string Distribution::str() const {
  std::string out = family_ + "(";
  for (size_t i = 0; i < params_.size(); ++i)
    out += (i ? ", " : "") + params_[i].first + "=" + six_digits(params_[i].second);
  return out + ")";
}

}  // namespace torchinit
