// normal(mean, std): N(mean, std^2).
#include <cmath>

#include "initializers/builtins.h"
#include "initializers/fill_helpers.h"
#include "initializers/run_fill.h"
#include "torchinit/registry.h"

namespace torchinit::detail {
namespace {

class Normal final : public Initializer {
 public:
  Normal(double mean, double std) : mean_(mean), std_(std) {}
  Distribution theory(const ParamInfo&) const override { return Distribution::normal(mean_, std_); }
  void fill(at::Tensor& t, const ParamInfo&, const Stream& s) const override {
    parallel_fill(t, [&](auto* out, int64_t first, int64_t n) {
      fill_normal(out, first, n, s, mean_, std_);
    });
  }
  void fill_torch(at::Tensor& t, const ParamInfo&) const override { t.normal_(mean_, std_); }
  void fill_runs(at::Tensor& t, const std::vector<ElementRun>& runs, const ParamInfo&,
                 const Stream& s) const override {
    parallel_fill_runs(t, runs, [&](auto* out, int64_t first, int64_t n) {
      fill_normal(out, first, n, s, mean_, std_);
    });
  }

 private:
  double mean_, std_;
};

}  // namespace

void register_normal(Registry& r) {
  r.add({"normal",
         {"random_normal"},
         {{"mean", ArgType::Number, "0", "mean"},
          {"std", ArgType::Number, "1", "standard deviation"}},
         {"Normal distribution.", "N(mean, std^2)", "torch.nn.init.normal_"},
         [](const Args& args) {
           const double mean = args.number("mean"), std = args.number("std");
           args.check(std::isfinite(mean), "mean", "needs a finite mean, got mean=", mean);
           args.check(std::isfinite(std) && std > 0, "std", "needs a finite std > 0, got std=", std,
                      "; for a constant use constant(val=...)");
           return std::make_shared<Normal>(mean, std);
         }});
}

}  // namespace torchinit::detail
