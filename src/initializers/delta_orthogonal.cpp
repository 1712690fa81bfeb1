// delta_orthogonal(gain): a convolution kernel that is zero except at its center tap, which holds
// a (semi-)orthogonal [out, in] matrix times gain (Xiao et al. 2018, Dynamical isometry and a
// mean field theory of CNNs): the conv then acts as an orthogonal map, and deep vanilla CNNs
// reach dynamical isometry.
#include <ATen/ops/empty.h>

#include "initializers/builtins.h"
#include "initializers/fill_helpers.h"
#include "torchinit/registry.h"

namespace torchinit::detail {
namespace {

class DeltaOrthogonal final : public Initializer {
 public:
  explicit DeltaOrthogonal(double gain) : gain_(gain) {}
  void validate(const ParamInfo& p) const override {
    require_dims(p, 3, 5, "delta_orthogonal", "it is for Conv1d/2d/3d weights [out, in, k…]");
  }
  Distribution theory(const ParamInfo& p) const override {
    return Distribution::delta_orthogonal(p.shape, gain_);
  }
  void fill(at::Tensor& t, const ParamInfo& p, const Stream& s) const override {
    at::Tensor center = at::empty({p.shape[0], p.shape[1]}, t.options());
    parallel_fill(
        center, [&](auto* out, int64_t first, int64_t n) { fill_normal(out, first, n, s, 0, 1); });
    place(t, center, p);
  }
  void fill_torch(at::Tensor& t, const ParamInfo& p) const override {
    at::Tensor center = at::empty({p.shape[0], p.shape[1]}, t.options());
    center.normal_(0, 1);
    place(t, center, p);
  }

 private:
  // Orthogonalizes `center` and writes it at the kernel's center tap of an otherwise zero t.
  void place(at::Tensor& t, at::Tensor& center, const ParamInfo& p) const {
    orthogonalize_(center, p.shape[0], p.shape[1], gain_);
    t.zero_();
    at::Tensor tap = t;
    for (int64_t d = 2; d < p.dim(); ++d) tap = tap.select(2, p.shape[d] / 2);
    tap.copy_(center);
  }

  double gain_;
};

}  // namespace

void register_delta_orthogonal(Registry& r) {
  r.add({"delta_orthogonal",
         {},
         {{"gain", ArgType::Gain, "1", "a number or a nonlinearity"}},
         {"Orthogonal center tap, zeros elsewhere (conv weights).",
          "W[:, :, k/2…] = gain·Q (Haar, [out, in]), 0 elsewhere",
          "Xiao et al. 2018, Dynamical isometry and a mean field theory of CNNs"},
         [](const Args& a) { return std::make_shared<DeltaOrthogonal>(a.gain("gain")); }});
}

}  // namespace torchinit::detail
