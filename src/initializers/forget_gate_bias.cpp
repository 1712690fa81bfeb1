// forget_gate_bias(value): an LSTM bias [4·hidden] that is `value` on the forget gate and 0 on
// the input, cell and output gates (PyTorch's gate order i, f, g, o), so that early in training
// the cell remembers (Gers et al. 2000; Jozefowicz et al. 2015). PyTorch adds bias_ih and
// bias_hh: give this to one of them and zeros to the other.
#include <ATen/ops/zeros.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "checks/structure_check.h"
#include "initializers/builtins.h"
#include "initializers/fill_helpers.h"
#include "torchinit/registry.h"

namespace torchinit::detail {
namespace {

constexpr int64_t kGates = 4;
constexpr int64_t kForget = 1;

class ForgetGateBias final : public Initializer {
 public:
  explicit ForgetGateBias(double value) : value_(value) {}
  void validate(const ParamInfo& p) const override {
    require_dims(p, 1, 1, "forget_gate_bias", "it is for LSTM biases [4·hidden]");
    TORCH_CHECK(p.shape[0] % kGates == 0, "torchinit::forget_gate_bias: size ", p.shape[0],
                " of shape ", p.shape_str(),
                " is not 4·hidden; apply it to an LSTM's bias_ih/bias_hh");
  }
  Distribution theory(const ParamInfo&) const override {
    std::vector<double> values(kGates, 0.0);
    values[kForget] = value_;
    return Distribution::block_constant(values);
  }
  void fill(at::Tensor& t, const ParamInfo& p, const Stream&) const override { fill_torch(t, p); }
  // A shard: each element's gate gives its value, nothing else is computed.
  void fill_runs(at::Tensor& out, const std::vector<ElementRun>& runs, const ParamInfo& p,
                 const Stream&) const override {
    const int64_t hidden = p.shape[0] / kGates;
    int64_t pos = 0;
    for (const auto& run : runs) {
      for (int64_t e = run.first; e < run.first + run.count;) {
        const int64_t gate = e / hidden, end = std::min(run.first + run.count, (gate + 1) * hidden);
        out.view({-1}).narrow(0, pos, end - e).fill_(gate == kForget ? value_ : 0.0);
        pos += end - e;
        e = end;
      }
    }
  }
  void fill_torch(at::Tensor& t, const ParamInfo& p) const override {
    const int64_t hidden = p.shape[0] / kGates;
    t.zero_();
    t.narrow(0, kForget * hidden, hidden).fill_(value_);
  }

 private:
  double value_;
};

}  // namespace

// Equal blocks along dim 0, every element of block b exactly values[b].
void check_structure(const structure::BlockConstant& st, const StructureCheck& in) {
  const at::Tensor& c = in.values;
  const int64_t k = int64_t(st.values.size());
  TORCH_CHECK(c.dim() >= 1 && c.size(0) % k == 0, "torchinit::check: ", c.sizes(),
              " does not split into ", k, " blocks along dim 0");
  at::Tensor expected = at::zeros(c.sizes(), c.options());
  for (int64_t b = 0; b < k; ++b)
    expected.narrow(0, b * (c.size(0) / k), c.size(0) / k).fill_(st.values[b]);
  add_exact_comparison(in, expected, in.theory.str() + " by block");
}

void register_forget_gate_bias(Registry& r) {
  r.add({"forget_gate_bias",
         {"lstm_forget_bias"},
         {{"value", ArgType::Number, "1", "forget-gate bias"}},
         {"LSTM bias with the forget gate at value, other gates 0.",
          "b[h:2h] = value, else 0 (gates i, f, g, o)",
          "Gers et al. 2000; Jozefowicz et al. 2015, An empirical exploration of recurrent "
          "network architectures"},
         [](const Args& a) {
           const double v = a.number("value");
           a.check(std::isfinite(v), "value", "value must be finite, got ", v);
           return std::make_shared<ForgetGateBias>(v);
         }});
}

}  // namespace torchinit::detail
