// delta_orthogonal(gain): a convolution kernel that is zero except at its center tap, which holds
// a (semi-)orthogonal [out, in] matrix times gain (Xiao et al. 2018, Dynamical isometry and a
// mean field theory of CNNs): the conv then acts as an orthogonal map, and deep vanilla CNNs
// reach dynamical isometry.
#include <ATen/ops/empty.h>

#include <algorithm>
#include <vector>

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
    const at::Tensor center = orthogonal_center(t.options(), p, s);
    t.zero_();
    center_tap(t).copy_(center);
  }
  // A shard: the [out, in] center (the orthogonal part, O(out·in) memory), then each of the
  // shard's elements is its center entry or 0, never the whole [out, in, k…] kernel.
  void fill_runs(at::Tensor& out, const std::vector<ElementRun>& runs, const ParamInfo& p,
                 const Stream& s) const override {
    const at::Tensor center = orthogonal_center(out.options(), p, s).contiguous();
    int64_t taps = 1, center_index = 0;  // the center tap's flat index among the taps
    for (size_t d = 2; d < p.shape.size(); ++d) {
      center_index = center_index * p.shape[d] + p.shape[d] / 2;
      taps *= p.shape[d];
    }
    if (out.scalar_type() == at::kFloat) {
      write_runs(out.data_ptr<float>(), center.data_ptr<float>(), runs, taps, center_index);
    } else {
      write_runs(out.data_ptr<double>(), center.data_ptr<double>(), runs, taps, center_index);
    }
  }
  void fill_torch(at::Tensor& t, const ParamInfo& p) const override {
    at::Tensor center = at::empty({p.shape[0], p.shape[1]}, t.options());
    center.normal_(0, 1);
    place(t, center, p);
  }

 private:
  // out[runs] of the kernel whose taps are zero but the center one, at flat index
  // (o·in + i)·taps + center_index, which holds center[o·in + i].
  template <typename T>
  static void write_runs(T* out, const T* center, const std::vector<ElementRun>& runs, int64_t taps,
                         int64_t center_index) {
    for (const auto& run : runs) {
      std::fill(out, out + run.count, T(0));
      const int64_t end = run.first + run.count;
      for (int64_t unit = std::max<int64_t>(0, (run.first - center_index + taps - 1) / taps);
           unit * taps + center_index < end; ++unit) {
        const int64_t e = unit * taps + center_index;
        if (e >= run.first) out[e - run.first] = center[unit];
      }
      out += run.count;
    }
  }
  // The orthogonal [out, in] center of the full kernel: normals of elements [0, out·in) of the
  // stream, orthogonalized (LAPACK's QR, serial so that the bytes do not depend on threads).
  at::Tensor orthogonal_center(const at::TensorOptions& options, const ParamInfo& p,
                               const Stream& s) const {
    at::Tensor center = at::empty({p.shape[0], p.shape[1]}, options);
    parallel_fill(
        center, [&](auto* out, int64_t first, int64_t n) { fill_normal(out, first, n, s, 0, 1); });
    const SerialMkl serial;
    orthogonalize_(center, p.shape[0], p.shape[1], gain_);
    return center;
  }
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
