// delta_orthogonal(gain): a convolution kernel that is zero except at its center tap, which holds
// a (semi-)orthogonal [out, in] matrix times gain (Xiao et al. 2018, Dynamical isometry and a
// mean field theory of CNNs): the conv then acts as an orthogonal map, and deep vanilla CNNs
// reach dynamical isometry.
#include <ATen/ops/empty.h>

#include "checks/structure_check.h"
#include "initializers/builtins.h"
#include "initializers/fill_helpers.h"
#include "torchinit/registry.h"

namespace torchinit::detail {
namespace {

// The center tap [out, in] of a kernel [out, in, k…] (a view).
at::Tensor center_tap(const at::Tensor& kernel) {
  at::Tensor tap = kernel;
  while (tap.dim() > 2) tap = tap.select(2, tap.size(2) / 2);
  return tap;
}

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
    const SerialMkl serial;
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
    center_tap(t).copy_(center);
  }

  double gain_;
};

}  // namespace

// Zero off the center tap; the center tap checked as an orthogonal matrix.
void check_structure(const structure::DeltaOrthogonal& st, const StructureCheck& in) {
  const at::Tensor w = in.values.reshape(st.shape);
  const at::Tensor center = center_tap(w);
  const int64_t nonzero = w.ne(0).sum().item<int64_t>() - center.ne(0).sum().item<int64_t>();
  in.result.add(exact_statistic("off_center_zero", nonzero, w.numel() - center.numel(),
                                "0 off the center tap"));
  const at::Tensor tap = center.contiguous();
  const stats::Moments tap_moments = tensor_moments(tap);
  const Distribution tap_theory = Distribution::orthogonal(st.shape[0], st.shape[1], st.gain);
  check_structure(std::get<structure::Orthogonal>(tap_theory.typed_structure()),
                  StructureCheck{in.result, tap, tap_moments, in.dtype, tap_theory, in.options});
}

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
