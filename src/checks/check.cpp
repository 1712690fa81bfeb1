#include "torchinit/check.h"

#include <ATen/Parallel.h>
#include <ATen/ops/zeros.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <type_traits>
#include <variant>

#include "checks/marginal_tests.h"
#include "checks/structure_check.h"
#include "torchinit/init.h"
#include "torchinit/merged_check.h"

namespace torchinit {
namespace {

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

// The moments of each kMomentChunk elements of data[0, n), into parts[0, …).
template <typename T>
void chunk_moments(const T* data, int64_t n, stats::Moments* parts) {
  const int64_t chunks = (n + kMomentChunk - 1) / kMomentChunk;
  at::parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t begin = c * kMomentChunk;
      parts[c] = stats::moments(data + begin, std::min(kMomentChunk, n - begin));
    }
  });
}

void chunk_moments(const at::Tensor& c, stats::Moments* parts) {
  if (c.scalar_type() == at::kFloat) return chunk_moments(c.data_ptr<float>(), c.numel(), parts);
  chunk_moments(c.data_ptr<double>(), c.numel(), parts);
}

// One pass of fixed-size chunks merged in a fixed order. Half types and other layouts are
// converted to float 64 chunks at a time: the same chunks and merge as one conversion, in
// bounded memory.
stats::Moments moments_of(const at::Tensor& t) {
  const int64_t n = t.numel();
  std::vector<stats::Moments> parts(size_t((n + kMomentChunk - 1) / kMomentChunk));
  at::Tensor c = t.detach();
  if (!c.device().is_cpu()) c = c.cpu();
  const bool direct =
      (c.scalar_type() == at::kFloat || c.scalar_type() == at::kDouble) && c.is_contiguous();
  if (direct) {
    chunk_moments(c, parts.data());
  } else {
    const at::Tensor flat = c.reshape({-1});
    const int64_t step = 64 * kMomentChunk;
    for (int64_t b = 0; b < n; b += step) {
      const at::Tensor piece = flat.slice(0, b, std::min(n, b + step)).to(at::kFloat).contiguous();
      chunk_moments(piece, parts.data() + b / kMomentChunk);
    }
  }
  stats::Moments total;
  for (const auto& p : parts) total = stats::Moments::merge(total, p);  // fixed order
  return total;
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

// The constant families: every element equals the constant as stored in the tensor's dtype.
void check_constant(const StructureCheck& in) {
  const Distribution& d = in.theory;
  TORCH_CHECK(d.kind() == Distribution::Kind::Constant, "torchinit::check: cannot check ",
              d.family(), " exactly");
  const at::Tensor& c = in.values;
  const at::Tensor expected =
      at::zeros(c.sizes(), c.options().dtype(in.dtype)).fill_(d.mean()).to(c.scalar_type());
  add_exact_comparison(in, expected, "the constant " + num(d.mean()));
}

// A general mixture: moments only (its CDF may have jumps).
void check_mixture_moments(const StructureCheck& in) {
  const Distribution& d = in.theory;
  const stats::Moments& m = in.moments;
  const double alpha = in.options.alpha();
  in.result.add(
      z_statistic("mean", m.mean, d.mean(), d.std() / std::sqrt(double(m.n)), alpha / 2, m.n));
  if (m.n >= 2)
    in.result.add(z_statistic(
        "variance", m.sample_variance(), d.variance(),
        std::sqrt(stats::variance_of_sample_variance(m.n, d.variance(), d.fourth_central_moment())),
        alpha / 2, m.n));
}

// structure::None: the marginal is the whole promise.
void check_unstructured(const StructureCheck& in) {
  if (in.theory.is_exact()) {
    check_constant(in);
  } else if (in.theory.kind() == Distribution::Kind::Mixture) {
    check_mixture_moments(in);
  } else {
    test_tensor_marginal(in.result, in.values, in.moments, in.theory, in.options.alpha() / 4,
                         in.options, true, in.dtype);
  }
}

}  // namespace

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

void add_exact_comparison(const StructureCheck& in, const at::Tensor& expected,
                          const std::string& what) {
  const int64_t bad = in.values.reshape(expected.sizes()).ne(expected).sum().item<int64_t>();
  in.result.add(exact_statistic("exact", bad, in.values.numel(), what));
}

void test_tensor_marginal(CheckResult& r, const at::Tensor& values, const stats::Moments& m,
                          const Distribution& d, double alpha_each, const CheckOptions& o,
                          bool moments_independent, at::ScalarType dtype) {
  detail::test_marginal(r, sorted_sample(values, o.shape_sample()), m, d, alpha_each, o,
                        moments_independent, dtype);
}

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

stats::Moments tensor_moments(const at::Tensor& tensor) { return moments_of(tensor); }

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
  const StructureCheck in{r, c, m, tensor.scalar_type(), theory, options};
  std::visit(
      [&in](const auto& structure) {
        using S = std::decay_t<decltype(structure)>;
        if constexpr (std::is_same_v<S, structure::None>) {
          check_unstructured(in);
        } else if constexpr (std::is_same_v<S, std::shared_ptr<const structure::Custom>>) {
          structure->check(in);
        } else {
          detail::check_structure(structure, in);
        }
      },
      theory.typed_structure());
  return r;
}

bool constant_from_shards(const Distribution& theory) {
  return theory.is_exact() && theory.kind() == Distribution::Kind::Constant &&
         std::holds_alternative<structure::None>(theory.typed_structure());
}

int64_t count_not_constant(const at::Tensor& shard, const Distribution& theory) {
  TORCH_CHECK(constant_from_shards(theory), "torchinit::count_not_constant: ", theory.family(),
              " is not a constant");
  // In the shard's own dtype: the constant as stored, compared element by element, no copy.
  const at::Tensor expected =
      at::zeros({}, shard.options().device(at::kCPU)).fill_(theory.mean()).to(shard.device());
  return shard.ne(expected).sum().item<int64_t>();
}

// As check_constant on the whole tensor.
CheckResult check_constant_merged(const Distribution& theory, int64_t n, int64_t differing,
                                  const CheckOptions& options) {
  TORCH_CHECK(constant_from_shards(theory), "torchinit::check_constant_merged: ", theory.family(),
              " is not a constant");
  validate_check_options(options);
  CheckResult r(theory, n, options.alpha());
  r.add(exact_statistic("exact", differing, n, "the constant " + num(theory.mean())));
  return r;
}

CheckResult check(const at::Tensor& tensor, std::string_view spec, const CheckOptions& options) {
  validate_check_options(options);
  TORCH_CHECK(tensor.defined(), "torchinit::check: undefined tensor");
  return check(tensor, theory(spec, tensor.sizes()), options);
}

}  // namespace torchinit
