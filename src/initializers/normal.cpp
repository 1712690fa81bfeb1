// normal(mean, std): N(mean, std^2).
#include <cmath>

#include "initializers/builtins.h"
#include "torchinit/elementwise_initializer.h"
#include "torchinit/registry.h"

namespace torchinit::detail {
namespace {

class Normal final : public ElementwiseInitializer {
 public:
  Normal(double mean, double std) : mean_(mean), std_(std) {}
  Distribution theory(const ParamInfo&) const override { return Distribution::normal(mean_, std_); }
  ElementFill element_fill(const ParamInfo&) const override { return normal_elements(mean_, std_); }
  void fill_torch(at::Tensor& t, const ParamInfo&) const override { t.normal_(mean_, std_); }

 private:
  double mean_, std_;
};

}  // namespace

ElementFill normal_elements(double mean, double std) {
  return [mean, std](auto* out, int64_t first, int64_t count, const Stream& s) {
    fill_normal(out, first, count, s, mean, std);
  };
}

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
