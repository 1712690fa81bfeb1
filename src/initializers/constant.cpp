// constant(val), zeros, ones: every element equal to one value.
#include <cmath>

#include "initializers/builtins.h"
#include "torchinit/registry.h"

namespace torchinit::detail {
namespace {

class Constant final : public Initializer {
 public:
  explicit Constant(double value) : value_(value) {}
  Distribution theory(const ParamInfo&) const override { return Distribution::constant(value_); }
  void fill(at::Tensor& t, const ParamInfo&, const Stream&) const override { t.fill_(value_); }
  void fill_torch(at::Tensor& t, const ParamInfo&) const override { t.fill_(value_); }
  void fill_runs(at::Tensor& t, const std::vector<ElementRun>&, const ParamInfo&,
                 const Stream&) const override {
    t.fill_(value_);
  }

 private:
  double value_;
};

Factory constant_factory(std::optional<double> fixed) {
  return [fixed](const Args& args) {
    const double v = fixed ? *fixed : args.number("val");
    args.check(std::isfinite(v), "val", "val must be finite, got ", v,
               "; use a value your dtype holds");
    return std::make_shared<Constant>(v);
  };
}

}  // namespace

void register_constant(Registry& r) {
  r.add({"constant",
         {},
         {{"val", ArgType::Number, std::nullopt, "the value"}},
         {"Fills with val.", "w = val", "torch.nn.init.constant_"},
         constant_factory(std::nullopt)});
  r.add({"zeros",
         {"zero"},
         {},
         {"Fills with 0.", "w = 0", "torch.nn.init.zeros_"},
         constant_factory(0.0)});
  r.add({"ones",
         {"one"},
         {},
         {"Fills with 1.", "w = 1", "torch.nn.init.ones_"},
         constant_factory(1.0)});
}

}  // namespace torchinit::detail
