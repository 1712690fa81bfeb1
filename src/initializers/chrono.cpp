// chrono(t_max): LSTM bias [4H] from Tallec & Ollivier 2018 (Can recurrent neural networks warp
// time?): forget-gate bias b_f = ln U, U ~ U(1, t_max - 1), input-gate bias b_i = -b_f, cell and
// output gates 0, so the memory time scales spread over [1, t_max]. PyTorch sums bias_ih and
// bias_hh: give chrono to one and zeros to the other.
#include <ATen/ops/empty.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "checks/structure_check.h"
#include "initializers/builtins.h"
#include "initializers/fill_helpers.h"
#include "torchinit/registry.h"

namespace torchinit::detail {
namespace {

class Chrono final : public Initializer {
 public:
  explicit Chrono(double t_max) : t_max_(t_max) {}
  void validate(const ParamInfo& p) const override {
    require_dims(p, 1, 1, "chrono", "it is for LSTM biases [4·hidden]");
    TORCH_CHECK(p.shape[0] % 4 == 0, "torchinit::chrono: size ", p.shape[0], " of shape ",
                p.shape_str(), " is not 4·hidden; apply it to an LSTM's bias_ih/bias_hh");
  }
  Distribution theory(const ParamInfo&) const override { return Distribution::chrono(t_max_); }
  void fill(at::Tensor& t, const ParamInfo& p, const Stream& s) const override {
    // ln u by libm in double (as the float64 normal fill), not by LibTorch's vectorized log:
    // its bytes differ between LibTorch versions (1.13 and 2.x).
    at::Tensor log_u = at::empty({p.shape[0] / 4}, t.options());
    parallel_fill(log_u, [&](auto* out, int64_t first, int64_t n) {
      fill_uniform(out, first, n, s, 1.0, t_max_ - 1);
      using T = std::remove_pointer_t<decltype(out)>;
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(std::log(double(out[i])));
    });
    place(t, log_u);
  }
  // A shard: element e of gate e / h is ±ln u_(e mod h) or 0, with u_j element j of the stream as
  // in fill(), so only the shard's own elements are computed.
  void fill_runs(at::Tensor& out, const std::vector<ElementRun>& runs, const ParamInfo& p,
                 const Stream& s) const override {
    if (out.scalar_type() == at::kFloat) {
      fill_runs_typed(out.data_ptr<float>(), runs, p.shape[0] / 4, s);
    } else {
      fill_runs_typed(out.data_ptr<double>(), runs, p.shape[0] / 4, s);
    }
  }
  void fill_torch(at::Tensor& t, const ParamInfo& p) const override {
    at::Tensor u = at::empty({p.shape[0] / 4}, t.options());
    u.uniform_(1.0, t_max_ - 1);
    place(t, u.log());
  }

 private:
  template <typename T>
  void fill_runs_typed(T* out, const std::vector<ElementRun>& runs, int64_t h,
                       const Stream& s) const {
    for (const auto& run : runs) {
      for (int64_t e = run.first; e < run.first + run.count;) {
        const int64_t gate = e / h, end = std::min(run.first + run.count, (gate + 1) * h);
        const int64_t n = end - e;
        if (gate >= 2) {
          std::fill(out, out + n, T(0));
        } else {
          fill_uniform(out, e - gate * h, n, s, 1.0, t_max_ - 1);
          for (int64_t i = 0; i < n; ++i) {
            const T log_u = static_cast<T>(std::log(double(out[i])));
            out[i] = gate == 0 ? -log_u : log_u;
          }
        }
        out += n;
        e = end;
      }
    }
  }
  // Gates i, f, g, o (PyTorch's order): -ln u, ln u, 0, 0.
  static void place(at::Tensor& t, const at::Tensor& log_u) {
    const int64_t h = log_u.size(0);
    t.zero_();
    t.narrow(0, h, h).copy_(log_u);
    t.narrow(0, 0, h).copy_(log_u.neg());
  }

  double t_max_;
};

}  // namespace

// Gates g, o zero; gate i exactly -f; gate f ~ ln U(1, t_max - 1).
void check_structure(const structure::Chrono& st, const StructureCheck& in) {
  const at::Tensor& c = in.values;
  TORCH_CHECK(c.dim() == 1 && c.size(0) % 4 == 0,
              "torchinit::check: chrono needs a [4H] bias, got ", c.sizes());
  const int64_t h = c.size(0) / 4;
  const at::Tensor i = c.narrow(0, 0, h), f = c.narrow(0, h, h), rest = c.narrow(0, 2 * h, 2 * h);
  in.result.add(exact_statistic("gates_g_o_zero", rest.ne(0).sum().item<int64_t>(), 2 * h, "0"));
  in.result.add(
      exact_statistic("gate_i_is_minus_f", i.add(f).ne(0).sum().item<int64_t>(), h, "-f"));
  const Distribution forget = Distribution::log_uniform(1, st.t_max - 1);
  const at::Tensor fc = f.contiguous();
  test_tensor_marginal(in.result, fc, tensor_moments(fc), forget, in.options.alpha() / 4,
                       in.options, true, in.dtype);
}

void register_chrono(Registry& r) {
  r.add({"chrono",
         {},
         {{"t_max", ArgType::Number, std::nullopt, "longest expected dependency, in time steps"}},
         {"Chrono LSTM bias: forget gate ln U(1, t_max-1), input gate its negative.",
          "b_f = ln u, u ~ U(1, t_max - 1); b_i = -b_f; b_g = b_o = 0",
          "Tallec & Ollivier 2018, Can recurrent neural networks warp time?"},
         [](const Args& a) {
           const double t_max = a.number("t_max");
           // u ~ U(1, t_max - 1) is drawn in float32 for float32 parameters: keep it finite.
           a.check(std::isfinite(t_max) && t_max > 2 && t_max <= 1e30, "t_max",
                   "t_max must be a number in (2, 1e30], got ", t_max,
                   "; it is the longest dependency in time steps");
           return std::make_shared<Chrono>(t_max);
         }});
}

}  // namespace torchinit::detail
