// Mean-field theory of signal propagation in wide random networks (Poole et al. 2016,
// "Exponential expressivity in deep neural networks through transient chaos"; Schoenholz et al.
// 2017, "Deep information propagation").
//
// A layer h^l = W^l phi(h^{l-1}) + b^l with W_ij ~ (0, sigma_w2 / fan_in) and b_i ~ (0, sigma_b2):
// in the wide limit each pre-activation is Gaussian with variance q^l, and two inputs' pre-
// activations are jointly Gaussian with correlation c^l. sigma_w2 = fan_in * Var(w) (2 for He
// init with relu, 1 for LeCun); sigma_b2 = Var(b). Both are variances.
//
//   q-map      q^l = sigma_w2 E[phi(sqrt(q^{l-1}) z)^2] + sigma_b2                  (Poole eq. 3)
//   c-map      c^l = (sigma_w2 E[phi(u1) phi(u2)] + sigma_b2) / q^l,  u1, u2 ~ N(0, q^{l-1}) with
//              correlation c^{l-1}                                                (Poole eq. 5)
//   chi1       sigma_w2 E[phi'(sqrt(q*) z)^2]: the slope of the c-map at c = 1 and the per-layer
//              growth of gradient variance; < 1 ordered, > 1 chaotic, = 1 critical
//   chi_c      sigma_w2 E[phi'(u1) phi'(u2)] at (q*, c*): the slope of the c-map at c*
//   depth scale xi_c = -1 / ln chi_c: correlations approach c* like e^{-l / xi_c}
//                                                                   (Schoenholz eqs. 8-9)
//
//   auto tanh = torchinit::activation("tanh");
//   double q = torchinit::q_star(tanh, 2.0, 0.0);   // 0.6180
//   double x = torchinit::chi1(tanh, 2.0, 0.0);     // 1.1055: chaotic
//
// Every function validates its arguments (c10::Error: sigma_w2 finite and > 0, sigma_b2 finite
// and >= 0, q finite and >= 0, c in [-1, 1], depth >= 0). This header includes no torch headers.
#pragma once

#include <string>
#include <vector>

#include "torchinit/activation.h"

namespace torchinit {

// One step of the q-map: sigma_w2 * E[phi(sqrt(q) z)^2] + sigma_b2.
double q_map(const Activation& act, double sigma_w2, double sigma_b2, double q);

// q^0 = q0, q^1, ..., q^depth (depth + 1 values): the pre-activation variance of every layer.
std::vector<double> q_sequence(const Activation& act, double sigma_w2, double sigma_b2, double q0,
                               int depth);

// The ReLU/He case in closed form: q^l = (sigma_w2 / 2) q^{l-1} + sigma_b2, so with r =
// sigma_w2 / 2, q^depth = r^depth q0 + sigma_b2 (1 - r^depth) / (1 - r) (q0 + depth sigma_b2 at
// r = 1). He init (sigma_w2 = 2, sigma_b2 = 0) keeps q constant.
double relu_q(double sigma_w2, double sigma_b2, double q0, int depth);

// The fixed point that iterating a map from a starting value reaches, or why it does not.
struct FixedPoint {
  double value = 0;  // the fixed point when converged, else the last iterate
  bool converged = false;
  bool stable = false;  // converged and slope <= 1 (an attractor of the iteration)
  double slope = 0;     // when converged: derivative of the map at `value` (c*: chi_c)
  int iterations = 0;   // map evaluations used
  std::string message;  // what happened, in words (why it failed, when it did)
};

// The fixed point of the q-map reached from q0: plain iteration accelerated by Steffensen's
// method, each accelerated step kept only while it stays on the side the iteration approaches
// from (a sign change is finished by bisection), so the result is the fixed point that plain
// iteration would reach, also at criticality where plain iteration converges like 1/l. Converges
// when the estimated distance to the limit is below 1e-12 relative (plus 1e-15 * max(1, q0,
// sigma_b2) absolute). Not converged: q grows past 1e100 (e.g. relu with sigma_w2 > 2), or
// max_evaluations map evaluations pass (relu with sigma_w2 = 2 and sigma_b2 > 0 grows linearly).
FixedPoint q_fixed_point(const Activation& act, double sigma_w2, double sigma_b2, double q0 = 1,
                         int max_evaluations = 4000);

// q*: q_fixed_point(...).value; throws c10::Error with its message when it does not converge.
// A scale-invariant map (relu with sigma_w2 = 2, sigma_b2 = 0) has every q as a fixed point and
// returns q0.
double q_star(const Activation& act, double sigma_w2, double sigma_b2, double q0 = 1);

// chi1 = sigma_w2 * E[phi'(sqrt(q*) z)^2], with q* = q_star(act, sigma_w2, sigma_b2, q0).
double chi1(const Activation& act, double sigma_w2, double sigma_b2, double q0 = 1);

// One step of the correlation map for two inputs whose pre-activations have variance q each and
// correlation c: (sigma_w2 E[phi(u1) phi(u2)] + sigma_b2) / q_map(q), clamped to [-1, 1]. At
// q = q* the denominator is q*, as in Poole et al. Needs q > 0 and q_map(q) > 0.
double c_map(const Activation& act, double sigma_w2, double sigma_b2, double q, double c);

// c^0 = c0, ..., c^depth for two inputs starting with variance q0 each and correlation c0; q
// follows the q-map layer by layer (at q0 = q* this is the c-map at the fixed point).
std::vector<double> c_sequence(const Activation& act, double sigma_w2, double sigma_b2, double q0,
                               double c0, int depth);

// The attracting fixed point of the c-map at q* = q_star(act, sigma_w2, sigma_b2, q0), in
// [0, 1]. c = 1 is always a fixed point, with slope chi1; the c-map is increasing and convex on
// [0, 1] (a power series in c with nonnegative coefficients), so for chi1 <= 1 (ordered,
// critical) c* = 1 attracts every c in [0, 1], and for chi1 > 1 (chaotic) the attractor is the
// one c* < 1, found by iterating from c = 0 (c* = 0 for an odd phi with sigma_b2 = 0). slope is
// chi_c. Throws when q* does not converge or is 0 (zero-variance signals have no correlation).
FixedPoint c_fixed_point(const Activation& act, double sigma_w2, double sigma_b2, double q0 = 1);

// c*: c_fixed_point(...).value; throws c10::Error when it does not converge.
double c_star(const Activation& act, double sigma_w2, double sigma_b2, double q0 = 1);

// chi_c = sigma_w2 E[phi'(u1) phi'(u2)] at (q*, c*).
double chi_c(const Activation& act, double sigma_w2, double sigma_b2, double q0 = 1);

// xi_c = -1 / ln chi_c: the depth over which correlations reach c*; +inf at criticality
// (chi_c = 1, e.g. relu with He init).
double depth_scale(const Activation& act, double sigma_w2, double sigma_b2, double q0 = 1);

// All of the above at once (one q* and one c* computation).
struct MeanField {
  double q_star = 0;
  double chi1 = 0;
  double c_star = 0;
  double chi_c = 0;
  double depth_scale = 0;
  std::string phase;  // "ordered" (chi1 < 1), "chaotic" (chi1 > 1), "critical" (|chi1 - 1| <= 1e-9)
};
MeanField mean_field(const Activation& act, double sigma_w2, double sigma_b2, double q0 = 1);

}  // namespace torchinit
