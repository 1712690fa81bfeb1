// Activations as functions of a real variable, with the Gaussian moments that mean-field theory
// (mean_field.h) needs: for a pre-activation u ~ N(0, q),
//
//   second_moment(q)            = E[phi(u)^2]
//   derivative_second_moment(q) = E[phi'(u)^2]
//   mean(q)                     = E[phi(u)]
// and, for (u1, u2) bivariate normal with variances q1, q2 and correlation c,
//   correlation_moment(q1, q2, c)            = E[phi(u1) phi(u2)]
//   derivative_correlation_moment(q1, q2, c) = E[phi'(u1) phi'(u2)]
//
//   torchinit::Activation a = torchinit::activation("leaky_relu(0.2)");
//   double m2 = a.second_moment(1.0);    // (1 + 0.2^2) / 2, closed form
//
// How each moment is computed:
//   - Exact closed forms where they exist:
//       identity;
//       relu: E[phi^2] = q/2, E[phi'^2] = 1/2, E[phi] = sqrt(q/(2 pi)), and the arc-cosine kernel
//         (Cho & Saul 2009) E[relu(u1) relu(u2)] = sqrt(q1 q2)/(2 pi) (sqrt(1-c^2) + (pi - acos c)
//         c), E[relu'(u1) relu'(u2)] = (pi - acos c)/(2 pi);
//       leaky_relu(a) = a x + (1-a) relu(x), which reduces to the relu forms;
//       elu(alpha) and selu (= lambda elu(alpha_selu)): E[phi^2], E[phi'^2], E[phi] from
//         E[e^{tZ}; Z<0] = e^{t^2/2} Phi(-t).
//   - Otherwise quadrature:
//       smooth activations (tanh, sigmoid, gelu, silu, mish, softplus) by Gauss–Hermite with 128
//         nodes (gauss_hermite.h), a 128 x 128 tensor-product rule for (z1, z2) with
//         u1 = sqrt(q1) z1, u2 = sqrt(q2) (c z1 + sqrt(1-c^2) z2) (Cholesky factor), while q is
//         small enough for the rule to be exact to ~1e-13 (tanh: q <= 0.5, mish: 1, sigmoid,
//         gelu, silu: 2, softplus: 2 / beta^2);
//       kinked activations (relu, leaky_relu, elu, selu: phi or phi' jumps at 0), and smooth ones
//         at larger q where they approach a step, by splitting at 0 and integrating each half
//         line [0, inf) with Boost's double-exponential exp_sinh rule; the bivariate moments
//         condition on z1 (split at 0) and integrate z2 on both sides of the point where u2 = 0.
//         Plain Gauss–Hermite converges only algebraically across a kink (at 128 nodes: 1e-3 for
//         E[relu(Z)], 3e-3 for E[elu'(Z)^2]); the split rule is accurate to ~1e-13 (softplus past
//         its threshold, where phi jumps by log1p(e^-threshold)/beta, to ~1e-10).
//   quadrature_only() gives the same activation with the closed forms switched off, so that each
//   closed form can be checked against the quadrature.
//
// phi'(0) at a kink follows LibTorch's autograd: relu'(0) = 0, leaky_relu'(0) = negative_slope,
// elu'(0) = alpha, selu'(0) = lambda alpha. A moment at q = 0 is its limit as q -> 0+ (for a kink,
// the average of the one-sided values: relu: E[phi'^2] = 1/2 at q = 0).
//
// This header includes no torch headers: the signal theory is pure math.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace torchinit {

class Spec;
namespace detail {
struct ActivationModel;
}

// An activation function with its Gaussian moments. A cheap-to-copy immutable value; build one
// with activation(spec).
class Activation {
 public:
  // Canonical name: identity, relu, leaky_relu, tanh, sigmoid, selu, elu, gelu, silu, mish,
  // softplus (aliases such as `linear` and `swish` resolve to their canonical name).
  const std::string& name() const;
  // The numeric parameter: negative_slope (leaky_relu), alpha (elu), beta (softplus); nullopt for
  // the activations without one.
  std::optional<double> parameter() const;
  // Canonical spec text that activation() parses back to this: `relu`, `leaky_relu(0.2)`,
  // `softplus(beta=2)`; arguments at their default are omitted.
  std::string str() const;

  // phi(x) and phi'(x), as LibTorch's module and autograd compute them (in double).
  double operator()(double x) const;
  double derivative(double x) const;

  // True when phi or phi' is not smooth at 0 (relu, leaky_relu, elu, selu).
  bool kinked() const;

  // Gaussian moments, for u ~ N(0, q), q >= 0 finite (see the header comment).
  double second_moment(double q) const;
  double derivative_second_moment(double q) const;
  double mean(double q) const;
  // For (u1, u2) bivariate normal: variances q1, q2 > 0, correlation c in [-1, 1].
  double correlation_moment(double q1, double q2, double c) const;
  double derivative_correlation_moment(double q1, double q2, double c) const;

  // This activation with every closed-form moment replaced by quadrature.
  Activation quadrature_only() const;
  // False for a quadrature_only() copy.
  bool uses_closed_forms() const { return closed_forms_; }

 private:
  friend Activation activation(const Spec& spec);
  explicit Activation(std::shared_ptr<const detail::ActivationModel> model);

  std::shared_ptr<const detail::ActivationModel> model_;
  bool closed_forms_ = true;
};

// The activation of a spec: `relu`, `leaky_relu(0.2)`, `leaky_relu(negative_slope=0.2)`,
// `elu(alpha=1)`, `gelu(approximate=tanh)`, `softplus(beta=2, threshold=20)`. The names and
// arguments are those of torchinit::nn::activation_module, with the same defaults:
//   identity (alias linear), relu, leaky_relu(negative_slope=0.01), tanh, sigmoid, selu,
//   elu(alpha=1), gelu(approximate=none|tanh), silu (alias swish), mish,
//   softplus(beta=1, threshold=20).
// Unknown names (with a did-you-mean), unknown or duplicate arguments, wrong types and
// out-of-range values throw c10::Error.
Activation activation(std::string_view spec);
Activation activation(const Spec& spec);

// Every name activation() accepts (canonical names first, then aliases).
std::vector<std::string> activation_names();

}  // namespace torchinit
