// orthogonal(gain): a Haar-distributed (semi-)orthogonal matrix times gain (Saxe et al. 2014).
// The [size(0), numel/size(0)] view of a normal matrix is QR-factorized; multiplying Q's columns
// by sign(diag R) makes the factorization unique and Q Haar (Mezzadri 2007).
#include <ATen/ops/linalg_qr.h>

#include <cmath>

#include "initializers/builtins.h"
#include "initializers/fill_helpers.h"
#include "torchinit/registry.h"

namespace torchinit::detail {

void orthogonalize_(at::Tensor& t, int64_t rows, int64_t cols, double gain) {
  // LAPACK works in float32/float64: half types are factorized in float32.
  const auto work_type = t.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  at::Tensor m = t.reshape({rows, cols}).to(work_type);
  if (rows < cols) m = m.t();  // as torch.nn.init.orthogonal_: factorize wide matrices transposed
  auto [q, r] = at::linalg_qr(m);
  const at::Tensor d = r.diagonal();
  q.mul_(d.ge(0).to(work_type).mul_(2).sub_(1));  // sign(diag R), with sign(0) = +1
  if (rows < cols) q = q.t();
  t.copy_(q.reshape(t.sizes()).mul_(gain));
}

namespace {

class Orthogonal final : public Initializer {
 public:
  explicit Orthogonal(double gain) : gain_(gain) {}
  void validate(const ParamInfo& p) const override {
    require_dims(p, 2, 8, "orthogonal", "reshape the weight to [out, in] or use normal/uniform");
  }
  Distribution theory(const ParamInfo& p) const override {
    return Distribution::orthogonal(p.shape[0], p.numel() / p.shape[0], gain_);
  }
  void fill(at::Tensor& t, const ParamInfo& p, const Stream& s) const override {
    parallel_fill(
        t, [&](auto* out, int64_t first, int64_t n) { fill_normal(out, first, n, s, 0, 1); });
    orthogonalize_(t, p.shape[0], p.numel() / p.shape[0], gain_);
  }
  void fill_torch(at::Tensor& t, const ParamInfo& p) const override {
    t.normal_(0, 1);
    orthogonalize_(t, p.shape[0], p.numel() / p.shape[0], gain_);
  }

 private:
  double gain_;
};

}  // namespace

void register_orthogonal(Registry& r) {
  r.add({"orthogonal",
         {},
         {{"gain", ArgType::Gain, "1", "a number or a nonlinearity"}},
         {"(Semi-)orthogonal, Haar distributed.",
          "W = gain·Q, A = QR for A ~ N(0,1)^{rows x cols}, Q·diag(sign(diag R)); "
          "element variance gain^2/max(rows, cols)",
          "Saxe et al. 2014, Exact solutions to the nonlinear dynamics of learning in deep linear "
          "networks; Mezzadri 2007"},
         [](const Args& a) { return std::make_shared<Orthogonal>(a.gain("gain")); }});
}

}  // namespace torchinit::detail
