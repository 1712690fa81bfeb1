// orthogonal(gain): a Haar-distributed (semi-)orthogonal matrix times gain (Saxe et al. 2014).
// The [size(0), numel/size(0)] view of a normal matrix is QR-factorized; multiplying Q's columns
// by sign(diag R) makes the factorization unique and Q Haar (Mezzadri 2007).
#include <ATen/ops/eye.h>
#include <ATen/ops/linalg_qr.h>
#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <boost/math/distributions/binomial.hpp>
#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "checks/marginal_tests.h"
#include "checks/structure_check.h"
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
// int MKL_Set_Num_Threads_Local(int): sets this thread's MKL thread count, returns the previous
// one. (The lowercase mkl_set_num_threads_local is the Fortran entry, taking int*.)
using SetLocalThreads = int (*)(int);
SetLocalThreads mkl_set_local_threads() {
  static const auto f =
      reinterpret_cast<SetLocalThreads>(dlsym(RTLD_DEFAULT, "MKL_Set_Num_Threads_Local"));
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

// LAPACK's QR (geqrf/orgqr) and LQ (gelqf/orglq) entry points, Fortran calling convention,
// resolved at run time from the LAPACK that LibTorch already loaded (OpenBLAS on Debian), so
// torchinit gains no link dependency; null when none is visible.
template <typename T>
struct Lapack {
  using Factor = void (*)(int*, int*, T*, int*, T*, T*, int*, int*);
  using Build = void (*)(int*, int*, int*, T*, int*, T*, T*, int*, int*);
  Factor geqrf = nullptr, gelqf = nullptr;
  Build orgqr = nullptr, orglq = nullptr;

  static const Lapack& get() {
    static const Lapack lapack = [] {
      const bool f = sizeof(T) == 4;
      Lapack l;
      l.geqrf = reinterpret_cast<Factor>(dlsym(RTLD_DEFAULT, f ? "sgeqrf_" : "dgeqrf_"));
      l.gelqf = reinterpret_cast<Factor>(dlsym(RTLD_DEFAULT, f ? "sgelqf_" : "dgelqf_"));
      l.orgqr = reinterpret_cast<Build>(dlsym(RTLD_DEFAULT, f ? "sorgqr_" : "dorgqr_"));
      l.orglq = reinterpret_cast<Build>(dlsym(RTLD_DEFAULT, f ? "sorglq_" : "dorglq_"));
      return l;
    }();
    return lapack;
  }
  bool ok() const { return geqrf && gelqf && orgqr && orglq; }
};

// orthogonalize_ in the tensor's own memory: the row-major [rows, cols] matrix A is, to LAPACK,
// the column-major matrix M = A^T (cols x rows). Tall A: M = L Q (gelqf), so A = Q^T L^T is A's
// QR and orglq leaves Q^T in place. Wide and square A: as torch for wide ones, A^T = M = Q R
// (geqrf) and orgqr leaves Q (= the result transposed, row-major) in place. Either way the sign of
// R's diagonal is read before the second call and applied with the gain in one pass; only LAPACK's
// workspace and tau are allocated. False (tensor untouched) when LAPACK is not available.
template <typename T>
bool orthogonalize_in_place(T* a, int64_t rows, int64_t cols, double gain) {
  const Lapack<T>& lapack = Lapack<T>::get();
  if (!lapack.ok() || rows > INT32_MAX || cols > INT32_MAX) return false;
  int m = static_cast<int>(cols), n = static_cast<int>(rows), lda = m, info = 0;
  int k = std::min(m, n);
  // Square A: A^T is as Gaussian as A and Q^T as Haar as Q, so the QR of A^T serves and avoids
  // LAPACK's LQ routines (slower than QR in OpenBLAS's reference-LAPACK build).
  const bool tall = rows > cols;
  std::vector<T> tau(k);
  T query = 0;
  int lwork = -1;
  (tall ? lapack.gelqf : lapack.geqrf)(&m, &n, a, &lda, tau.data(), &query, &lwork, &info);
  int build_lwork = -1;
  T build_query = 0;
  (tall ? lapack.orglq : lapack.orgqr)(&m, &n, &k, a, &lda, tau.data(), &build_query, &build_lwork,
                                       &info);
  lwork = static_cast<int>(std::max(query, build_query)) + 1;
  std::vector<T> work(lwork);
  (tall ? lapack.gelqf : lapack.geqrf)(&m, &n, a, &lda, tau.data(), work.data(), &lwork, &info);
  TORCH_CHECK(info == 0, "torchinit::orthogonal: internal error: LAPACK factorization info ", info);
  std::vector<T> scale(k);  // sign(diag) * gain, sign(0) = +1 as in orthogonalize_
  for (int j = 0; j < k; ++j)
    scale[j] = static_cast<T>(a[int64_t{j} * lda + j] >= 0 ? gain : -gain);
  (tall ? lapack.orglq : lapack.orgqr)(&m, &n, &k, a, &lda, tau.data(), work.data(), &lwork, &info);
  TORCH_CHECK(info == 0, "torchinit::orthogonal: internal error: LAPACK orthogonal factor info ",
              info);
  at::parallel_for(0, rows, 1 << 6, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      T* row = a + i * cols;
      if (tall) {
        for (int64_t j = 0; j < cols; ++j) row[j] *= scale[j];  // column j of Q^T
      } else {
        const T sj = scale[i];  // row i of the result is column i of Q
        for (int64_t j = 0; j < cols; ++j) row[j] *= sj;
      }
    }
  });
  return true;
}

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
    const int64_t rows = p.shape[0], cols = p.numel() / p.shape[0];
    const SerialMkl serial;
    bool done = false;
    if (t.is_contiguous()) {
      done = t.scalar_type() == at::kDouble
                 ? orthogonalize_in_place(t.data_ptr<double>(), rows, cols, gain_)
                 : orthogonalize_in_place(t.data_ptr<float>(), rows, cols, gain_);
    }
    if (!done) orthogonalize_(t, rows, cols, gain_);
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
