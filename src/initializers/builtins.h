// Registration of the built-in initializers (one function per file in src/initializers/).
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>

namespace torchinit {
class Registry;
class Initializer;
class ElementFill;
namespace detail {

void register_constant(Registry& r);          // constant, zeros, ones
void register_uniform(Registry& r);           // uniform
void register_normal(Registry& r);            // normal
void register_trunc_normal(Registry& r);      // trunc_normal
void register_variance_scaling(Registry& r);  // xavier_*, kaiming_*, lecun_*, variance_scaling
void register_orthogonal(Registry& r);        // orthogonal
void register_sparse(Registry& r);            // sparse
void register_eye(Registry& r);               // eye
void register_dirac(Registry& r);             // dirac
void register_forget_gate_bias(Registry& r);  // forget_gate_bias
void register_delta_orthogonal(Registry& r);  // delta_orthogonal
void register_chrono(Registry& r);            // chrono

// Replaces the normal matrix in t ([rows, cols] view) by gain·Q of its QR, Q·sign(diag R).
// Shared by orthogonal and delta_orthogonal.
void orthogonalize_(at::Tensor& t, int64_t rows, int64_t cols, double gain);

// A symbol of the BLAS/LAPACK that LibTorch loaded (OpenBLAS on Debian, MKL inside PyPI's
// wheel): first in the global scope, then in libtorch_cpu's own dependency tree, which is all
// there is when Python loaded LibTorch with RTLD_LOCAL. Null when neither has it.
void* blas_symbol(const char* name);

// While alive, MKL runs single-threaded on this thread: its QR gives other bytes at other thread
// counts (its conditional numerical reproducibility covers BLAS, not LAPACK), and upstream
// LibTorch links MKL. A no-op with any other LAPACK (Debian's OpenBLAS). The Philox fills of
// orthogonal and delta_orthogonal hold one; fill_torch does not, to stay torch's orthogonal_.
class SerialMkl {
 public:
  SerialMkl();
  ~SerialMkl();
  SerialMkl(const SerialMkl&) = delete;
  SerialMkl& operator=(const SerialMkl&) = delete;

 private:
  int previous_ = 0;  // MKL's thread-local setting before (0: follow the global one)
};

// Shared by trunc_normal and variance_scaling(distribution=truncated_normal).
std::shared_ptr<Initializer> make_trunc_normal(double mean, double std, double a, double b);

// Element values of U(a, b), N(mean, std^2) and its truncation to [a, b] (fill_uniform,
// fill_normal, fill_trunc_normal): shared by uniform, normal, trunc_normal and variance_scaling.
ElementFill uniform_elements(double a, double b);
ElementFill normal_elements(double mean, double std);
ElementFill trunc_normal_elements(double mean, double std, double a, double b);

inline void register_builtins(Registry& r) {
  register_constant(r);
  register_uniform(r);
  register_normal(r);
  register_trunc_normal(r);
  register_variance_scaling(r);
  register_orthogonal(r);
  register_sparse(r);
  register_eye(r);
  register_dirac(r);
  register_forget_gate_bias(r);
  register_delta_orthogonal(r);
  register_chrono(r);
}

}  // namespace detail
}  // namespace torchinit
