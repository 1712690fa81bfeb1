// orthogonal(gain): a Haar-distributed (semi-)orthogonal matrix times gain (Saxe et al. 2014).
// The [size(0), numel/size(0)] view of a normal matrix is QR-factorized with sign(diag R) = +1,
// which makes the factorization unique and Q Haar (Mezzadri 2007). Backend::Philox factorizes by
// tiled CholeskyQR2 (cholesky_qr.h), so that a shard computes its part alone; Backend::Torch by
// LibTorch's QR, as torch.nn.init.orthogonal_.
#include <ATen/Parallel.h>
#include <ATen/ops/eye.h>
#include <ATen/ops/linalg_qr.h>
#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <boost/math/distributions/binomial.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "checks/marginal_tests.h"
#include "checks/structure_check.h"
#include "initializers/builtins.h"
#include "initializers/cholesky_qr.h"
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

void* blas_symbol(const char* name) {
  if (void* f = dlsym(RTLD_DEFAULT, name)) return f;
  static void* const libtorch = [] {
    Dl_info info{};
    void* handle = nullptr;
    if (dladdr(reinterpret_cast<void*>(&at::get_num_threads), &info) && info.dli_fname)
      handle = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    return handle;
  }();
  return libtorch ? dlsym(libtorch, name) : nullptr;
}

namespace {
// int MKL_Set_Num_Threads_Local(int): sets this thread's MKL thread count, returns the previous
// one. (The lowercase mkl_set_num_threads_local is the Fortran entry, taking int*.)
using SetLocalThreads = int (*)(int);
SetLocalThreads mkl_set_local_threads() {
  static const auto f = reinterpret_cast<SetLocalThreads>(blas_symbol("MKL_Set_Num_Threads_Local"));
  return f;
}
}  // namespace

SerialMkl::SerialMkl() {
  if (auto set = mkl_set_local_threads()) {
    // MKL sets up a thread's state at the thread's first call into it, which drops a local
    // thread count set before (measured with MKL 2024.2: the QRs of threads whose first call
    // came after the setting ran with the global count). So each thread makes one 2x2 QR first.
    thread_local const bool initialized = [] {
      (void)at::linalg_qr(at::eye(2, at::kDouble));
      return true;
    }();
    (void)initialized;
    previous_ = set(1);
  }
}
SerialMkl::~SerialMkl() {
  if (auto set = mkl_set_local_threads()) set(previous_);
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
    orthogonal_runs(t, {ElementRun{0, t.numel()}}, p.shape[0], p.numel() / p.shape[0], gain_, s);
  }
  // A shard: the same tiled factorization, then only the shard's rows of Q (cholesky_qr.h).
  void fill_runs(at::Tensor& out, const std::vector<ElementRun>& runs, const ParamInfo& p,
                 const Stream& s) const override {
    orthogonal_runs(out, runs, p.shape[0], p.numel() / p.shape[0], gain_, s);
  }
  void fill_torch(at::Tensor& t, const ParamInfo& p) const override {
    t.normal_(0, 1);
    orthogonalize_(t, p.shape[0], p.numel() / p.shape[0], gain_);
  }

 private:
  double gain_;
};

// Machine epsilon of a floating dtype.
double eps_of(at::ScalarType t) { return std::ldexp(1.0, -mantissa_bits(t)); }

}  // namespace

// W W^T (or W^T W) = gain^2 I to rounding, the diagonal's signs fair coins (Haar), and the
// marginal's shape (its moments are not independent draws: they are fixed by orthogonality).
void check_structure(const structure::Orthogonal& st, const StructureCheck& in) {
  const at::ScalarType dtype = in.dtype;
  const double alpha_each = in.options.alpha() / 3;
  at::Tensor w = in.values.reshape({st.rows, st.cols}).to(at::kDouble);
  const bool wide = st.rows <= st.cols;
  const at::Tensor gram = (wide ? w.mm(w.t()) : w.t().mm(w)).div_(st.gain * st.gain);
  const int64_t k = std::min(st.rows, st.cols), big = std::max(st.rows, st.cols);
  const double err = gram.sub(at::eye(k, gram.options())).abs().max().item<double>();
  const double work_eps = dtype == at::kDouble ? eps_of(at::kDouble) : eps_of(at::kFloat);
  const double tol = 2 * eps_of(dtype) + 4 * double(big) * work_eps;
  Statistic s;
  s.name = "orthogonality";
  s.value = err;
  s.lo = 0;
  s.hi = tol;
  s.p_value = std::numeric_limits<double>::quiet_NaN();
  s.passed = err <= tol;
  s.detail = fmt::format("orthogonality max|{}/gain^2 - I| = {:.3g} {} {:.3g}",
                         wide ? "W W^T" : "W^T W", err, s.passed ? "<=" : ">", tol);
  in.result.add(s);
  // Haar: the signs of the diagonal entries are independent fair coins.
  const int64_t positive = w.diagonal().gt(0).sum().item<int64_t>();
  boost::math::binomial_distribution<double> bin(double(k), 0.5);
  const double lower = boost::math::cdf(bin, double(positive));
  const double upper = positive > 0 ? boost::math::cdf(complement(bin, double(positive - 1))) : 1.0;
  const auto [lo, hi] = stats::binomial_interval(k, 0.5, alpha_each);
  Statistic sign;
  sign.name = "diag_sign";
  sign.value = double(positive);
  sign.lo = double(lo);
  sign.hi = double(hi);
  sign.p_value = std::min(1.0, 2 * std::min(lower, upper));
  sign.alpha = alpha_each;
  sign.passed = positive >= lo && positive <= hi;
  sign.detail =
      fmt::format("diag_sign {} of {} diagonal entries positive {} [{}, {}] (alpha={:.3g})",
                  positive, k, sign.passed ? "in" : "outside", lo, hi, alpha_each);
  in.result.add(sign);
  test_tensor_marginal(in.result, in.values, in.moments, in.theory, alpha_each, in.options,
                       /*moments_independent=*/false, dtype);
}

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
