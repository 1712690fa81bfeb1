#include "torchinit/check.h"

#include <ATen/Parallel.h>
#include <ATen/ops/eye.h>
#include <ATen/ops/zeros.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <algorithm>
#include <boost/math/distributions/binomial.hpp>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "checks/marginal_tests.h"
#include "torchinit/init.h"

namespace torchinit {
namespace {

using detail::mantissa_bits;
using detail::p_statistic;
using detail::z_statistic;

constexpr int64_t kMomentChunk = int64_t(1) << 16;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// The tensor as contiguous CPU float32 or float64 (a copy only when it is not already).
at::Tensor readable(const at::Tensor& t) {
  at::Tensor c = t.detach();
  if (!c.device().is_cpu()) c = c.cpu();
  if (c.scalar_type() != at::kFloat && c.scalar_type() != at::kDouble) c = c.to(at::kFloat);
  return c.contiguous();
}

template <typename T>
stats::Moments moments_of(const T* data, int64_t n) {
  const int64_t chunks = (n + kMomentChunk - 1) / kMomentChunk;
  std::vector<stats::Moments> parts(chunks);
  at::parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t begin = c * kMomentChunk;
      parts[c] = stats::moments(data + begin, std::min(kMomentChunk, n - begin));
    }
  });
  stats::Moments total;
  for (const auto& p : parts) total = stats::Moments::merge(total, p);  // fixed order
  return total;
}

stats::Moments moments_of(const at::Tensor& c) {
  if (c.scalar_type() == at::kFloat) return moments_of(c.data_ptr<float>(), c.numel());
  return moments_of(c.data_ptr<double>(), c.numel());
}

// Evenly strided subsample (all elements when n <= m), sorted, in double.
std::vector<double> sorted_sample(const at::Tensor& c, int64_t m) {
  const int64_t n = c.numel();
  const int64_t k = std::min(n, m);
  std::vector<double> out(k);
  auto take = [&](const auto* data) {
    for (int64_t i = 0; i < k; ++i) out[i] = double(data[n <= m ? i : (i * n) / k]);
  };
  if (c.scalar_type() == at::kFloat) {
    take(c.data_ptr<float>());
  } else {
    take(c.data_ptr<double>());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string num(double x) { return fmt::format("{:.6g}", x); }

// Machine epsilon of a floating dtype.
double eps_of(at::ScalarType t) { return std::ldexp(1.0, -mantissa_bits(t)); }

Statistic exact_statistic(const std::string& name, int64_t mismatches, int64_t n,
                          const std::string& what) {
  Statistic s;
  s.name = name;
  s.value = double(mismatches);
  s.lo = s.hi = 0;
  s.p_value = kNaN;
  s.passed = mismatches == 0;
  s.detail = fmt::format("{}: {} of {} elements differ from {}", name, mismatches, n, what);
  return s;
}

// Moments and shape tests of `c` (flat) against a continuous distribution `d`.
void test_marginal(CheckResult& r, const at::Tensor& c, const stats::Moments& m,
                   const Distribution& d, double alpha_each, const CheckOptions& o,
                   bool moments_independent, at::ScalarType dtype) {
  detail::test_marginal(r, sorted_sample(c, o.shape_sample()), m, d, alpha_each, o,
                        moments_independent, dtype);
}

void check_orthogonal(CheckResult& r, const at::Tensor& c, const stats::Moments& m,
                      at::ScalarType dtype, const Distribution& d, const CheckOptions& o) {
  const Structure& st = d.structure();
  const double alpha_each = o.alpha() / 3;
  at::Tensor w = c.reshape({st.rows, st.cols}).to(at::kDouble);
  const bool wide = st.rows <= st.cols;
  const at::Tensor gram = (wide ? w.mm(w.t()) : w.t().mm(w)).div_(st.gain * st.gain);
  const int64_t k = std::min(st.rows, st.cols), big = std::max(st.rows, st.cols);
  const double err = gram.sub(at::eye(k, gram.options())).abs().max().item<double>();
  const double work_eps = dtype == at::kDouble ? eps_of(at::kDouble) : eps_of(at::kFloat);
  const double tol = 2 * eps_of(dtype) + 4 * double(big) * work_eps;
  Statistic s;
  s.name = "orthogonality";
  s.value = err;
  s.lo = 0;
  s.hi = tol;
  s.p_value = kNaN;
  s.passed = err <= tol;
  s.detail = fmt::format("orthogonality max|{}/gain^2 - I| = {:.3g} {} {:.3g}",
                         wide ? "W W^T" : "W^T W", err, s.passed ? "<=" : ">", tol);
  r.add(s);
  // Haar: the signs of the diagonal entries are independent fair coins.
  const int64_t positive = w.diagonal().gt(0).sum().item<int64_t>();
  boost::math::binomial_distribution<double> bin(double(k), 0.5);
  const double lower = boost::math::cdf(bin, double(positive));
  const double upper = positive > 0 ? boost::math::cdf(complement(bin, double(positive - 1))) : 1.0;
  const auto [lo, hi] = stats::binomial_interval(k, 0.5, alpha_each);
  Statistic sign;
  sign.name = "diag_sign";
  sign.value = double(positive);
  sign.lo = double(lo);
  sign.hi = double(hi);
  sign.p_value = std::min(1.0, 2 * std::min(lower, upper));
  sign.alpha = alpha_each;
  sign.passed = positive >= lo && positive <= hi;
  sign.detail =
      fmt::format("diag_sign {} of {} diagonal entries positive {} [{}, {}] (alpha={:.3g})",
                  positive, k, sign.passed ? "in" : "outside", lo, hi, alpha_each);
  r.add(sign);
  test_marginal(r, c, m, d, alpha_each, o, /*moments_independent=*/false, dtype);
}

void check_sparse(CheckResult& r, const at::Tensor& c, at::ScalarType dtype, const Distribution& d,
                  const CheckOptions& o) {
  const Structure& st = d.structure();
  const at::Tensor w = c.reshape({st.rows, st.cols});
  const at::Tensor zeros = w.eq(0).sum(0);
  const int64_t bad = zeros.ne(st.zeros_per_column).sum().item<int64_t>();
  Statistic s = exact_statistic("zeros_per_column", bad, st.cols,
                                fmt::format("{} zeros per column", st.zeros_per_column));
  s.detail = fmt::format("zeros_per_column: {} of {} columns do not have exactly {} zeros", bad,
                         st.cols, st.zeros_per_column);
  r.add(s);
  if (st.zeros_per_column == st.rows) return;
  const Distribution normal = Distribution::normal(0, d.param("std"));
  const at::Tensor nonzero = w.masked_select(w.ne(0)).contiguous();
  test_marginal(r, nonzero, moments_of(nonzero), normal, o.alpha() / 5, o, true, dtype);
}

// chrono: gates g, o zero; gate i exactly -f; gate f ~ ln U(1, t_max - 1).
void check_chrono(CheckResult& r, const at::Tensor& c, at::ScalarType dtype, const Distribution& d,
                  const CheckOptions& o) {
  TORCH_CHECK(c.dim() == 1 && c.size(0) % 4 == 0,
              "torchinit::check: chrono needs a [4H] bias, got ", c.sizes());
  const int64_t h = c.size(0) / 4;
  const at::Tensor i = c.narrow(0, 0, h), f = c.narrow(0, h, h), rest = c.narrow(0, 2 * h, 2 * h);
  r.add(exact_statistic("gates_g_o_zero", rest.ne(0).sum().item<int64_t>(), 2 * h, "0"));
  r.add(exact_statistic("gate_i_is_minus_f", i.add(f).ne(0).sum().item<int64_t>(), h, "-f"));
  const Distribution forget = d.components()[1].second;  // ln U(1, t_max - 1)
  const at::Tensor fc = f.contiguous();
  test_marginal(r, fc, moments_of(fc), forget, o.alpha() / 4, o, true, dtype);
}

// Zero off the center tap; the center tap checked as an orthogonal matrix.
void check_delta_orthogonal(CheckResult& r, const at::Tensor& c, at::ScalarType dtype,
                            const Distribution& d, const CheckOptions& o) {
  const Structure& st = d.structure();
  at::Tensor w = c.reshape(st.shape);
  at::Tensor center = w;
  for (size_t i = 2; i < st.shape.size(); ++i) center = center.select(2, st.shape[i] / 2);
  const int64_t nonzero = w.ne(0).sum().item<int64_t>() - center.ne(0).sum().item<int64_t>();
  r.add(exact_statistic("off_center_zero", nonzero, w.numel() - center.numel(),
                        "0 off the center tap"));
  const at::Tensor tap = center.contiguous();
  check_orthogonal(r, tap, moments_of(tap), dtype,
                   Distribution::orthogonal(st.rows, st.cols, st.gain), o);
}

void check_exact(CheckResult& r, const at::Tensor& c, at::ScalarType dtype, const Distribution& d) {
  at::Tensor expected;
  std::string what;
  if (d.family() == "block_constant") {
    const auto& values = d.structure().block_values;
    const int64_t k = int64_t(values.size());
    TORCH_CHECK(c.dim() >= 1 && c.size(0) % k == 0, "torchinit::check: ", c.sizes(),
                " does not split into ", k, " blocks along dim 0");
    expected = at::zeros(c.sizes(), c.options());
    for (int64_t b = 0; b < k; ++b)
      expected.narrow(0, b * (c.size(0) / k), c.size(0) / k).fill_(values[b]);
    what = d.str() + " by block";
  } else if (d.family() == "eye") {
    expected = at::eye(d.structure().rows, d.structure().cols, c.options());
    what = "the identity";
  } else if (d.family() == "dirac") {
    const auto& shape = d.structure().shape;
    const int64_t groups = d.structure().groups, per_group = shape[0] / groups;
    expected = at::zeros(shape, c.options());
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t i = 0; i < std::min(per_group, shape[1]); ++i) {
        at::Tensor kernel = expected.select(0, g * per_group + i).select(0, i);
        while (kernel.dim() > 0) kernel = kernel.select(0, kernel.size(0) / 2);
        kernel.fill_(1);
      }
    what = "the dirac delta";
  } else {
    TORCH_CHECK(d.kind() == Distribution::Kind::Constant, "torchinit::check: cannot check ",
                d.family(), " exactly");
    // The constant as stored in the tensor's dtype.
    expected = at::zeros(c.sizes(), c.options().dtype(dtype)).fill_(d.mean()).to(c.scalar_type());
    what = "the constant " + num(d.mean());
  }
  const int64_t bad = c.reshape(expected.sizes()).ne(expected).sum().item<int64_t>();
  r.add(exact_statistic("exact", bad, c.numel(), what));
}

}  // namespace

bool CheckResult::rejected() const {
  return std::any_of(statistics_.begin(), statistics_.end(),
                     [](const Statistic& s) { return !s.passed; });
}

const Statistic* CheckResult::find(std::string_view name) const {
  for (const auto& s : statistics_)
    if (s.name == name) return &s;
  return nullptr;
}

std::string CheckResult::summary() const {
  const char* verdict = rejected() ? "FAIL" : underpowered_ ? "INCONCLUSIVE" : "PASS";
  std::string out = fmt::format("{} {} n={} alpha={:.3g}", verdict, theory_.str(), n_, alpha_);
  for (const auto& s : statistics_) out += "; " + s.detail;
  if (underpowered_) out += "; " + underpowered_why_;
  return out;
}

std::string CheckResult::json() const {
  nlohmann::json stats = nlohmann::json::array();
  auto number = [](double x) {
    return std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x);
  };
  for (const auto& s : statistics_)
    stats.push_back({{"name", s.name},
                     {"value", number(s.value)},
                     {"lo", number(s.lo)},
                     {"hi", number(s.hi)},
                     {"p_value", number(s.p_value)},
                     {"alpha", s.alpha},
                     {"passed", s.passed},
                     {"detail", s.detail}});
  nlohmann::json out = {{"passed", passed()},      {"inconclusive", inconclusive()},
                        {"theory", theory_.str()}, {"n", n_},
                        {"alpha", alpha_},         {"statistics", stats}};
  if (underpowered_) out["inconclusive_reason"] = underpowered_why_;
  return out.dump();
}

stats::Moments tensor_moments(const at::Tensor& tensor) { return moments_of(readable(tensor)); }

void validate_check_options(const CheckOptions& o, std::string_view who) {
  TORCH_CHECK(o.alpha() > 0 && o.alpha() < 1, who, ": alpha must be in (0, 1), got ", o.alpha(),
              "; CheckOptions::alpha is the false-alarm probability of one check, e.g. 1e-6");
  TORCH_CHECK(o.shape_sample() >= 1 && o.shape_sample() <= (int64_t(1) << 31), who,
              ": shape_sample must be in [1, 2^31], got ", o.shape_sample(),
              "; CheckOptions::shape_sample is how many elements the KS and Anderson-Darling "
              "tests read, e.g. 131072");
  TORCH_CHECK(std::isfinite(o.detectable_variance_error()) && o.detectable_variance_error() > 0,
              who, ": detectable_variance_error must be a finite number > 0, got ",
              o.detectable_variance_error(),
              "; CheckOptions::detectable_variance_error is a relative error, e.g. 0.1 for 10%");
  TORCH_CHECK(o.power() >= 0.5 && o.power() < 1, who, ": power must be in [0.5, 1), got ",
              o.power(),
              "; CheckOptions::power is the probability of detecting that error, e.g. 0.99");
}

CheckResult check(const at::Tensor& tensor, const Distribution& theory,
                  const CheckOptions& options) {
  TORCH_CHECK(tensor.defined() && tensor.numel() > 0,
              "torchinit::check: needs a tensor with elements, got ",
              tensor.defined() ? "a zero-element tensor" : "an undefined tensor");
  TORCH_CHECK(at::isFloatingType(tensor.scalar_type()),
              "torchinit::check: needs a floating tensor, got ", tensor.scalar_type());
  validate_check_options(options);
  const at::Tensor c = readable(tensor);
  CheckResult r(theory, c.numel(), options.alpha());
  // One read for the moments; a nan or inf anywhere makes them non-finite.
  const stats::Moments m = moments_of(c);
  if (!std::isfinite(m.mean) || !std::isfinite(m.m2) || !std::isfinite(m.m4)) {
    const int64_t bad = c.isfinite().logical_not().sum().item<int64_t>();
    r.add(exact_statistic("finite", bad, c.numel(), "finite values"));
    return r;
  }
  if (theory.is_exact()) {
    check_exact(r, c, tensor.scalar_type(), theory);
  } else if (theory.family() == "chrono") {
    check_chrono(r, c, tensor.scalar_type(), theory, options);
  } else if (theory.family() == "delta_orthogonal") {
    check_delta_orthogonal(r, c, tensor.scalar_type(), theory, options);
  } else if (theory.kind() == Distribution::Kind::Orthogonal) {
    check_orthogonal(r, c, m, tensor.scalar_type(), theory, options);
  } else if (theory.family() == "sparse") {
    check_sparse(r, c, tensor.scalar_type(), theory, options);
  } else if (theory.kind() == Distribution::Kind::Mixture) {
    // A general mixture: moments only (its CDF may have jumps).
    r.add(z_statistic("mean", m.mean, theory.mean(), theory.std() / std::sqrt(double(m.n)),
                      options.alpha() / 2, m.n));
    if (m.n >= 2)
      r.add(z_statistic("variance", m.sample_variance(), theory.variance(),
                        std::sqrt(stats::variance_of_sample_variance(
                            m.n, theory.variance(), theory.fourth_central_moment())),
                        options.alpha() / 2, m.n));
  } else {
    test_marginal(r, c, m, theory, options.alpha() / 4, options, true, tensor.scalar_type());
  }
  return r;
}

CheckResult check(const at::Tensor& tensor, std::string_view spec, const CheckOptions& options) {
  validate_check_options(options);
  TORCH_CHECK(tensor.defined(), "torchinit::check: undefined tensor");
  return check(tensor, theory(spec, tensor.sizes()), options);
}

}  // namespace torchinit
