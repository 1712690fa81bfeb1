#include "torchinit/mean_field.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <sstream>

namespace torchinit {
namespace {

constexpr double kRtol = 1e-12;
constexpr double kStableSlack = 1e-7;  // slope <= 1 + this counts as stable (finite differences)
constexpr double kCriticalTol = 1e-9;

std::string fmt_num(double x) {
  std::ostringstream s;
  s.precision(6);
  s << x;
  return s.str();
}

void check_weights(const char* fn, double sigma_w2, double sigma_b2) {
  TORCH_CHECK(std::isfinite(sigma_w2) && sigma_w2 > 0, "torchinit::", fn,
              ": sigma_w2 (fan_in * Var(w), e.g. 2 for He init with relu) must be finite and > "
              "0, got ",
              sigma_w2);
  TORCH_CHECK(std::isfinite(sigma_b2) && sigma_b2 >= 0, "torchinit::", fn,
              ": sigma_b2 (the bias variance; 0 without biases) must be finite and >= 0, got ",
              sigma_b2);
}

void check_q(const char* fn, const char* name, double q) {
  TORCH_CHECK(std::isfinite(q) && q >= 0, "torchinit::", fn, ": ", name,
              " (a pre-activation variance) must be finite and >= 0, got ", q);
}

void check_c(const char* fn, const char* name, double c) {
  TORCH_CHECK(c >= -1 && c <= 1, "torchinit::", fn, ": ", name,
              " (a correlation) must be in [-1, 1], got ", c);
}

void check_depth(const char* fn, int depth) {
  TORCH_CHECK(depth >= 0, "torchinit::", fn, ": depth must be >= 0, got ", depth);
}

double q_map_unchecked(const Activation& act, double sigma_w2, double sigma_b2, double q) {
  return sigma_w2 * act.second_moment(q) + sigma_b2;
}

double c_map_unchecked(const Activation& act, double sigma_w2, double sigma_b2, double q,
                       double c) {
  const double next_q = q_map_unchecked(act, sigma_w2, sigma_b2, q);
  TORCH_CHECK(next_q > 0, "torchinit::c_map: the next layer's variance q_map(q) is 0 (", act.str(),
              " maps every input to 0 at q = ", q,
              " with sigma_b2 = 0), so the correlation is undefined; use sigma_b2 > 0");
  const double c12 = sigma_w2 * act.correlation_moment(q, q, c) + sigma_b2;
  return std::clamp(c12 / next_q, -1.0, 1.0);
}

// Iterates x <- f(x) from x0 within [lo, hi]. Each round takes two plain steps x -> f(x) ->
// f(f(x)); when they approach monotonically, the Aitken/Steffensen extrapolation p (clamped to
// [lo, hi]) replaces them if f(p) - p still points the same way (p lies before the limit);
// otherwise a fixed point lies between f(f(x)) and p and bisection finds it. When the two steps
// are equal to rounding (a tangential fixed point, where plain iteration crawls like 1/l, or a
// constant drift), the boundary ahead is tried as the far end of a bisection bracket. So the
// result is the fixed point plain iteration approaches: quadratically at a simple fixed point,
// by bisection at a tangential one.
FixedPoint iterate(const std::function<double(double)>& f, double x0, double lo, double hi,
                   double atol, double diverge_at, int max_evaluations) {
  constexpr double kEps = std::numeric_limits<double>::epsilon();
  FixedPoint r;
  int evals = 0;
  const auto F = [&](double x) {
    ++evals;
    return f(x);
  };
  const auto tol = [&](double x) { return kRtol * std::abs(x) + atol; };
  const auto finish = [&](double x) {
    r.value = x;
    r.converged = true;
    r.iterations = evals;
    r.message = "converged after " + std::to_string(evals) + " map evaluations";
    return r;
  };
  const auto diverged = [&](double x, double last) {
    r.value = x;
    r.iterations = evals;
    r.message = "the map diverges from " + fmt_num(x0) + ": it reached " + fmt_num(x) + " after " +
                std::to_string(evals) + " map evaluations (last step grew by a factor " +
                fmt_num(x / last) + ")";
    return r;
  };
  // A fixed point between `before` (where f(x) - x points along `dir`) and `after` (where it
  // does not); `after` stays put when it is the fixed point itself (a boundary such as q = 0).
  const auto bisect = [&](double before, double after, double dir) {
    const double start = after;
    while (std::abs(after - before) > tol(after) && evals < max_evaluations) {
      const double m = 0.5 * (before + after);
      ((F(m) - m) * dir > 0 ? before : after) = m;
    }
    return finish(after == start ? after : 0.5 * (before + after));
  };

  double x = x0;
  while (evals < max_evaluations) {
    const double fx = F(x);
    if (!std::isfinite(fx) || fx > diverge_at) return diverged(fx, x);
    const double d = fx - x;
    if (d == 0) return finish(x);
    const double ffx = F(fx);
    if (!std::isfinite(ffx) || ffx > diverge_at) return diverged(ffx, fx);
    const double d2 = ffx - fx;
    // Rounding level of the differences.
    const double noise = 64 * kEps * (std::abs(x) + std::abs(fx) + std::abs(ffx)) +
                         std::numeric_limits<double>::min();
    if (std::abs(d2) <= noise) return finish(ffx);
    double next = ffx;
    if (std::abs(d2 - d) <= noise) {
      // Equal steps: the ratio is unknown. Bracket with the boundary ahead if it lies past a
      // fixed point; else keep stepping (a drift with no fixed point runs out of evaluations).
      const double b = d < 0 ? lo : hi;
      if (std::isfinite(b) && b != ffx && (F(b) - b) * d <= 0) return bisect(ffx, b, d);
    } else {
      const double ratio = d2 / d;
      // Distance from ffx to the limit of a geometric sequence with this ratio; for an
      // alternating one the limit lies between fx and ffx.
      const double err =
          ratio >= 0 && ratio < 1 ? std::abs(d2) * ratio / (1 - ratio) : std::abs(d2);
      if (err <= tol(ffx)) return finish(ffx);
      if (ratio > 0 && ratio < 1) {
        const double p = std::clamp(x - d * d / (d2 - d), lo, hi);
        if ((p - ffx) * d > 0) {
          if ((F(p) - p) * d > 0) {
            next = p;
          } else {
            return bisect(ffx, p, d);
          }
        }
      }
    }
    x = next;
  }
  r.value = x;
  r.iterations = evals;
  r.message = "did not converge after " + std::to_string(evals) + " map evaluations: at " +
              fmt_num(x) + " it still moves by " + fmt_num(F(x) - x) + " per layer";
  return r;
}

double q_slope(const Activation& act, double sigma_w2, double sigma_b2, double q, double scale) {
  const double h = 1e-5 * (q > 0 ? q : scale);
  if (q - h < 0) {
    return (q_map_unchecked(act, sigma_w2, sigma_b2, q + h) -
            q_map_unchecked(act, sigma_w2, sigma_b2, q)) /
           h;
  }
  return (q_map_unchecked(act, sigma_w2, sigma_b2, q + h) -
          q_map_unchecked(act, sigma_w2, sigma_b2, q - h)) /
         (2 * h);
}

std::string context(const Activation& act, double sigma_w2, double sigma_b2) {
  return act.str() + ", sigma_w2 = " + fmt_num(sigma_w2) + ", sigma_b2 = " + fmt_num(sigma_b2);
}

FixedPoint q_fixed_point_impl(const char* fn, const Activation& act, double sigma_w2,
                              double sigma_b2, double q0, int max_evaluations) {
  check_weights(fn, sigma_w2, sigma_b2);
  check_q(fn, "q0", q0);
  TORCH_CHECK(max_evaluations > 0, "torchinit::", fn, ": max_evaluations must be > 0, got ",
              max_evaluations);
  const double scale = std::max({1.0, q0, sigma_b2});
  FixedPoint r = iterate([&](double q) { return q_map_unchecked(act, sigma_w2, sigma_b2, q); }, q0,
                         0, std::numeric_limits<double>::infinity(), 1e-15 * scale, 1e100 * scale,
                         max_evaluations);
  if (!r.converged) {
    r.message = "no fixed point of the q-map from q0 = " + fmt_num(q0) + " (" +
                context(act, sigma_w2, sigma_b2) + "): " + r.message +
                "; q grows without bound when sigma_w2 is too large for the activation (relu: "
                "sigma_w2 > 2, or sigma_w2 = 2 with sigma_b2 > 0); lower sigma_w2 or sigma_b2";
    return r;
  }
  r.slope = q_slope(act, sigma_w2, sigma_b2, r.value, scale);
  r.stable = r.slope <= 1 + kStableSlack;
  if (!r.stable) {
    r.message +=
        "; unstable fixed point (slope " + fmt_num(r.slope) + " > 1): a q0 off it moves away";
  }
  return r;
}

double q_star_impl(const char* fn, const Activation& act, double sigma_w2, double sigma_b2,
                   double q0) {
  const FixedPoint r = q_fixed_point_impl(fn, act, sigma_w2, sigma_b2, q0, 4000);
  TORCH_CHECK(r.converged, "torchinit::", fn, ": ", r.message);
  return r.value;
}

// c = 1 is a fixed point of the c-map at q* with slope chi1. With u1, u2 ~ N(0, q*), the c-map
// is a power series in c with coefficients >= 0 (the squared Hermite coefficients of phi, plus
// sigma_b2) summing to 1, so it is increasing and convex on [0, 1]: for chi1 <= 1 nothing in
// [0, 1) is fixed and c = 1 attracts; for chi1 > 1 exactly one c* in [0, 1) is fixed and
// attracts, where the iteration from c = 0 (an increasing sequence) converges quadratically.
FixedPoint c_fixed_point_at(const char* fn, const Activation& act, double sigma_w2, double sigma_b2,
                            double q) {
  TORCH_CHECK(q > 0, "torchinit::", fn, ": q* = 0 (", context(act, sigma_w2, sigma_b2),
              "): the signal vanishes, so correlations are undefined; use sigma_b2 > 0");
  const double chi = sigma_w2 * act.derivative_second_moment(q);
  FixedPoint r;
  if (chi <= 1) {
    r.value = 1;
    r.converged = true;
    r.message = "chi1 = " + fmt_num(chi) + " <= 1: c* = 1 (" +
                (chi < 1 ? std::string("ordered") : std::string("critical")) + " phase)";
  } else {
    r = iterate([&](double c) { return c_map_unchecked(act, sigma_w2, sigma_b2, q, c); }, 0, 0, 1,
                1e-14, std::numeric_limits<double>::infinity(), 4000);
    if (!r.converged) {
      r.message = "no fixed point of the c-map (" + context(act, sigma_w2, sigma_b2) +
                  ", q* = " + fmt_num(q) + "): " + r.message;
      return r;
    }
  }
  r.slope = sigma_w2 * act.derivative_correlation_moment(q, q, r.value);
  r.stable = r.slope <= 1 + kStableSlack;
  return r;
}

}  // namespace

double q_map(const Activation& act, double sigma_w2, double sigma_b2, double q) {
  check_weights("q_map", sigma_w2, sigma_b2);
  check_q("q_map", "q", q);
  return q_map_unchecked(act, sigma_w2, sigma_b2, q);
}

std::vector<double> q_sequence(const Activation& act, double sigma_w2, double sigma_b2, double q0,
                               int depth) {
  check_weights("q_sequence", sigma_w2, sigma_b2);
  check_q("q_sequence", "q0", q0);
  check_depth("q_sequence", depth);
  std::vector<double> q(static_cast<size_t>(depth) + 1);
  q[0] = q0;
  for (int l = 1; l <= depth; ++l) {
    q[l] = q_map_unchecked(act, sigma_w2, sigma_b2, q[l - 1]);
    TORCH_CHECK(std::isfinite(q[l]), "torchinit::q_sequence: q overflows at layer ", l, " (",
                context(act, sigma_w2, sigma_b2), "); lower sigma_w2 or the depth");
  }
  return q;
}

double relu_q(double sigma_w2, double sigma_b2, double q0, int depth) {
  check_weights("relu_q", sigma_w2, sigma_b2);
  check_q("relu_q", "q0", q0);
  check_depth("relu_q", depth);
  const double r = sigma_w2 / 2;
  if (r == 1) return q0 + depth * sigma_b2;
  const double rl = std::pow(r, depth);
  return rl * q0 + sigma_b2 * (1 - rl) / (1 - r);
}

FixedPoint q_fixed_point(const Activation& act, double sigma_w2, double sigma_b2, double q0,
                         int max_evaluations) {
  return q_fixed_point_impl("q_fixed_point", act, sigma_w2, sigma_b2, q0, max_evaluations);
}

double q_star(const Activation& act, double sigma_w2, double sigma_b2, double q0) {
  return q_star_impl("q_star", act, sigma_w2, sigma_b2, q0);
}

double chi1(const Activation& act, double sigma_w2, double sigma_b2, double q0) {
  const double q = q_star_impl("chi1", act, sigma_w2, sigma_b2, q0);
  return sigma_w2 * act.derivative_second_moment(q);
}

double c_map(const Activation& act, double sigma_w2, double sigma_b2, double q, double c) {
  check_weights("c_map", sigma_w2, sigma_b2);
  TORCH_CHECK(std::isfinite(q) && q > 0,
              "torchinit::c_map: q (the variance of each input's "
              "pre-activation) must be finite and > 0, got ",
              q);
  check_c("c_map", "c", c);
  return c_map_unchecked(act, sigma_w2, sigma_b2, q, c);
}

std::vector<double> c_sequence(const Activation& act, double sigma_w2, double sigma_b2, double q0,
                               double c0, int depth) {
  check_weights("c_sequence", sigma_w2, sigma_b2);
  TORCH_CHECK(std::isfinite(q0) && q0 > 0,
              "torchinit::c_sequence: q0 (the variance of each input's pre-activation) must be "
              "finite and > 0, got ",
              q0);
  check_c("c_sequence", "c0", c0);
  check_depth("c_sequence", depth);
  std::vector<double> c(static_cast<size_t>(depth) + 1);
  c[0] = c0;
  double q = q0;
  for (int l = 1; l <= depth; ++l) {
    c[l] = c_map_unchecked(act, sigma_w2, sigma_b2, q, c[l - 1]);
    q = q_map_unchecked(act, sigma_w2, sigma_b2, q);
    TORCH_CHECK(std::isfinite(q), "torchinit::c_sequence: q overflows at layer ", l, " (",
                context(act, sigma_w2, sigma_b2), "); lower sigma_w2 or the depth");
  }
  return c;
}

FixedPoint c_fixed_point(const Activation& act, double sigma_w2, double sigma_b2, double q0) {
  const double q = q_star_impl("c_fixed_point", act, sigma_w2, sigma_b2, q0);
  return c_fixed_point_at("c_fixed_point", act, sigma_w2, sigma_b2, q);
}

double c_star(const Activation& act, double sigma_w2, double sigma_b2, double q0) {
  const double q = q_star_impl("c_star", act, sigma_w2, sigma_b2, q0);
  const FixedPoint r = c_fixed_point_at("c_star", act, sigma_w2, sigma_b2, q);
  TORCH_CHECK(r.converged, "torchinit::c_star: ", r.message);
  return r.value;
}

double chi_c(const Activation& act, double sigma_w2, double sigma_b2, double q0) {
  const double q = q_star_impl("chi_c", act, sigma_w2, sigma_b2, q0);
  const FixedPoint r = c_fixed_point_at("chi_c", act, sigma_w2, sigma_b2, q);
  TORCH_CHECK(r.converged, "torchinit::chi_c: ", r.message);
  return r.slope;
}

namespace {
double depth_scale_of(double chi) {
  return chi >= 1 ? std::numeric_limits<double>::infinity() : -1 / std::log(chi);
}
}  // namespace

double depth_scale(const Activation& act, double sigma_w2, double sigma_b2, double q0) {
  const double q = q_star_impl("depth_scale", act, sigma_w2, sigma_b2, q0);
  const FixedPoint r = c_fixed_point_at("depth_scale", act, sigma_w2, sigma_b2, q);
  TORCH_CHECK(r.converged, "torchinit::depth_scale: ", r.message);
  return depth_scale_of(r.slope);
}

MeanField mean_field(const Activation& act, double sigma_w2, double sigma_b2, double q0) {
  MeanField m;
  m.q_star = q_star_impl("mean_field", act, sigma_w2, sigma_b2, q0);
  m.chi1 = sigma_w2 * act.derivative_second_moment(m.q_star);
  const FixedPoint r = c_fixed_point_at("mean_field", act, sigma_w2, sigma_b2, m.q_star);
  TORCH_CHECK(r.converged, "torchinit::mean_field: ", r.message);
  m.c_star = r.value;
  m.chi_c = r.slope;
  m.depth_scale = depth_scale_of(m.chi_c);
  m.phase = std::abs(m.chi1 - 1) <= kCriticalTol ? "critical" : m.chi1 < 1 ? "ordered" : "chaotic";
  return m;
}

}  // namespace torchinit
