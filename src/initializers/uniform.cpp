// uniform(a, b): U(a, b).
#include <cmath>

#include "initializers/builtins.h"
#include "torchinit/elementwise_initializer.h"
#include "torchinit/registry.h"

namespace torchinit::detail {
namespace {

class Uniform final : public ElementwiseInitializer {
 public:
  Uniform(double a, double b) : a_(a), b_(b) {}
  Distribution theory(const ParamInfo&) const override { return Distribution::uniform(a_, b_); }
  ElementFill element_fill(const ParamInfo&) const override { return uniform_elements(a_, b_); }
  void fill_torch(at::Tensor& t, const ParamInfo&) const override { t.uniform_(a_, b_); }

 private:
  double a_, b_;
};

}  // namespace

ElementFill uniform_elements(double a, double b) {
  return [a, b](auto* out, int64_t first, int64_t count, const Stream& s) {
    fill_uniform(out, first, count, s, a, b);
  };
}

void register_uniform(Registry& r) {
  r.add({"uniform",
         {"random_uniform"},
         {{"a", ArgType::Number, "0", "lower bound"}, {"b", ArgType::Number, "1", "upper bound"}},
         {"Uniform on [a, b).", "U(a, b); mean (a+b)/2, variance (b-a)^2/12",
          "torch.nn.init.uniform_"},
         [](const Args& args) {
           const double a = args.number("a"), b = args.number("b");
           args.check(std::isfinite(a), "a", "needs a finite a, got a=", a);
           args.check(std::isfinite(b), "b", "needs a finite b, got b=", b);
           // Both given: point at b, the bound read second.
           const char* culprit = args.given("b") ? "b" : "a";
           args.check(a < b, culprit, "needs a < b, got a=", a, ", b=", b,
                      "; swap them or widen the interval");
           args.check(std::isfinite(b - a), culprit, "needs a finite b - a, got a=", a, ", b=", b,
                      "; narrow the interval");
           return std::make_shared<Uniform>(a, b);
         }});
}

}  // namespace torchinit::detail
