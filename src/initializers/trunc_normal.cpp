// trunc_normal(mean, std, a, b): N(mean, std^2) conditioned on [a, b], sampled exactly by the
// inverse CDF in double (no erfinv of a float near ±1, cf. pytorch#155588, #145498).
#include <ATen/ops/empty_like.h>
#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/where.h>
#include <c10/util/Exception.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>

#include "initializers/builtins.h"
#include "torchinit/elementwise_initializer.h"
#include "torchinit/registry.h"

namespace torchinit::detail {
namespace {

class TruncNormal final : public ElementwiseInitializer {
 public:
  TruncNormal(double mean, double std, double a, double b) : mean_(mean), std_(std), a_(a), b_(b) {}
  Distribution theory(const ParamInfo&) const override {
    return Distribution::truncated_normal(mean_, std_, a_, b_);
  }
  ElementFill element_fill(const ParamInfo&) const override {
    return trunc_normal_elements(mean_, std_, a_, b_);
  }
  // torch.nn.init.trunc_normal_ of the PyTorch whose LibTorch this is built against: up to 2.11
  // the inverse CDF (uniform_ -> erfinv_ -> mul_ -> add_ -> clamp_); from 2.12 (pytorch#174997)
  // rejection sampling, from N(mean, std^2) when [a, b] holds more than 0.3 of its mass, else
  // from U(a, b) against the density. The same ATen calls in the same order, so the same bytes.
  void fill_torch(at::Tensor& t, const ParamInfo&) const override {
    auto norm_cdf = [](double x) { return (1. + std::erf(x / std::sqrt(2.))) / 2.; };
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 12)
    const double p = norm_cdf((b_ - mean_) / std_) - norm_cdf((a_ - mean_) / std_);
    if (p > 0.3) {
      // The bounds rounded to the tensor's dtype, as Python's tensor.new_tensor(a).item().
      const auto bound = [&](double x) {
        return at::scalar_tensor(x, t.options().device(at::kCPU)).item<double>();
      };
      const double lo = bound(a_), hi = bound(b_);
      at::Tensor result = t.normal_(mean_, std_);
      while (true) {
        const at::Tensor mask = result.lt(lo).logical_or_(result.gt(hi));
        if (!mask.any().item<bool>()) break;
        result = at::where(mask, at::empty_like(result).normal_(mean_, std_), result);
      }
      if (!result.is_same(t)) t.copy_(result);
      return;
    }
    const double mode = std::max(a_, std::min(mean_, b_));
    const double log_peak = -0.5 * std::pow((mode - mean_) / std_, 2);
    at::Tensor candidates = at::empty_like(t), accept = at::empty_like(t);
    auto log_density = [&](at::Tensor& c) {
      c.sub_(mean_).div_(std_).pow_(2).mul_(-0.5).sub_(log_peak);
    };
    t.uniform_(a_, b_);
    candidates.copy_(t);
    log_density(candidates);
    at::Tensor pending = accept.uniform_().log_().gt(candidates);
    if (!pending.any().item<bool>()) return;
    at::Tensor result = t;
    while (true) {
      candidates.uniform_(a_, b_);
      result = at::where(pending, candidates, result);
      log_density(candidates);
      pending = at::where(pending, accept.uniform_().log_().gt(candidates), pending);
      if (!pending.any().item<bool>()) break;
    }
    t.copy_(result);
#else
    const double l = norm_cdf((a_ - mean_) / std_), u = norm_cdf((b_ - mean_) / std_);
    t.uniform_(2 * l - 1, 2 * u - 1);
    t.erfinv_();
    t.mul_(std_ * std::sqrt(2.));
    t.add_(mean_);
    t.clamp_(a_, b_);
#endif
  }

 private:
  double mean_, std_, a_, b_;
};

}  // namespace

ElementFill trunc_normal_elements(double mean, double std, double a, double b) {
  return [mean, std, a, b](auto* out, int64_t first, int64_t count, const Stream& s) {
    fill_trunc_normal(out, first, count, s, mean, std, a, b);
  };
}

std::shared_ptr<Initializer> make_trunc_normal(double mean, double std, double a, double b) {
  TORCH_CHECK(std::isfinite(mean) && std::isfinite(std) && std > 0,
              "torchinit::trunc_normal: needs a finite mean and std > 0, got mean=", mean,
              ", std=", std);
  TORCH_CHECK(!std::isnan(a) && !std::isnan(b) && a < b,
              "torchinit::trunc_normal: needs a < b, got a=", a, ", b=", b);
  // Beyond ~37 std the normal mass underflows in double: nothing could be sampled there.
  TORCH_CHECK((a - mean) / std < 37 && (b - mean) / std > -37,
              "torchinit::trunc_normal: [a, b] = [", a, ", ", b,
              "] lies more than 37 std from the ", "mean ", mean, " (std ", std,
              "); its probability underflows. Move the bounds or the mean");
  return std::make_shared<TruncNormal>(mean, std, a, b);
}

void register_trunc_normal(Registry& r) {
  r.add({"trunc_normal",
         {"truncated_normal"},
         {{"mean", ArgType::Number, "0", "mean of the untruncated normal"},
          {"std", ArgType::Number, "1", "std of the untruncated normal"},
          {"a", ArgType::Number, "-2", "lower bound (absolute, as in PyTorch)"},
          {"b", ArgType::Number, "2", "upper bound (absolute)"}},
         {"Normal truncated to [a, b], exact in every dtype.",
          "N(mean, std^2) conditioned on a <= w <= b", "torch.nn.init.trunc_normal_"},
         [](const Args& args) {
           const double mean = args.number("mean"), std = args.number("std");
           const double a = args.number("a"), b = args.number("b");
           args.check(std::isfinite(mean), "mean", "needs a finite mean, got mean=", mean);
           args.check(std::isfinite(std) && std > 0, "std",
                      "needs a finite std > 0, got std=", std);
           args.check(a < b, args.given("b") ? "b" : "a", "needs a < b, got a=", a, ", b=", b,
                      "; swap them");
           // The argument that moved [a, b] away from the mean: the first one given.
           const char* far = args.given("mean")  ? "mean"
                             : args.given("std") ? "std"
                             : args.given("a")   ? "a"
                                                 : "b";
           args.check((a - mean) / std < 37 && (b - mean) / std > -37, far, "[a, b] = [", a, ", ",
                      b, "] lies more than 37 std from the mean ", mean, " (std ", std,
                      "); its probability underflows. Move the bounds or the mean");
           return make_trunc_normal(mean, std, a, b);
         }});
}

}  // namespace torchinit::detail
