#include "torchinit/activation.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

#include <algorithm>
#include <boost/math/quadrature/exp_sinh.hpp>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <utility>

#include "signal/activation_table.h"
#include "spec/spec_args.h"
#include "theory/gaussian.h"
#include "torchinit/gauss_hermite.h"
#include "torchinit/spec.h"

namespace torchinit {
namespace detail {

// One activation with its parameters bound. Closed forms are empty where none is known.
struct ActivationModel {
  using Fn = std::function<double(double)>;
  using Fn3 = std::function<double(double, double, double)>;

  std::string name;
  std::string text;  // canonical spec
  std::optional<double> parameter;
  Fn phi, dphi;
  bool kinked = false;
  // Smooth activations use Gauss–Hermite while q <= gh_max_q, the split half-line rule beyond.
  double gh_max_q = 0;
  Fn second, dsecond, mean;
  Fn3 corr, dcorr;
};

}  // namespace detail

namespace {

using detail::ActivationModel;
using Fn = ActivationModel::Fn;

using detail::kInvSqrt2Pi;
using detail::kPi;
constexpr int kNodes = 128;  // Gauss–Hermite nodes
// exp(-t^2/2) underflows to 0 in double past t = 38.6; integrands are cut there (no inf * 0).
constexpr double kTail = 38.5;
// The inner split point is clamped to [-kSplitClamp, kSplitClamp]: a kink farther out sits where
// the Gaussian weight is below 1e-31 and cannot move a double result.
constexpr double kSplitClamp = 12;
// exp_sinh stops when successive levels differ by < kTol * L1; double-exponential convergence
// makes the error of the last level far smaller than that difference.
constexpr double kTol = 1e-11;
// One-sided limits at a kink.
constexpr double kTiny = std::numeric_limits<double>::min();

using detail::normal_cdf;
using detail::normal_pdf;

// E[e^{tZ}; Z < 0] = e^{t^2/2} Phi(-t) for t >= 0, without overflow: erfc directly while the
// product stays in range, else the Mills ratio Phi(-t)/phi(t) by its continued fraction
// 1/(t + 1/(t + 2/(t + 3/(t + ...)))) (Abramowitz & Stegun 26.2.14).
double exp_below_zero(double t) {
  if (t < 26) return std::exp(0.5 * t * t) * normal_cdf(-t);
  double r = 0;
  for (int k = 80; k >= 1; --k) r = k / (t + r);
  return kInvSqrt2Pi / (t + r);
}

double sigmoid(double x) {
  if (x >= 0) return 1 / (1 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1 + e);
}

// ∫_0^∞ f(t) dt for an f that decays like a Gaussian and is 0 past `cut`.
template <typename F>
double half_line(const F& f, double cut) {
  // Not const: Boost 1.74 declares integrate() const but defines it without. The rule's tables
  // grow under Boost's own lock, so sharing it between threads is safe.
  static boost::math::quadrature::exp_sinh<double> rule;
  try {
    return rule.integrate([&](double t) { return t > cut ? 0.0 : f(t); }, kTol);
  } catch (const std::exception& e) {  // Boost's evaluation_error: the integrand overflowed
    TORCH_CHECK(false, "torchinit::Activation: the Gaussian moment overflows double (", e.what(),
                "); use a smaller variance");
  }
}

// E[f(sqrt(q) Z)], Z ~ N(0, 1).
double expect_1d(const ActivationModel& m, const Fn& f, double q) {
  if (q == 0) return m.kinked ? 0.5 * (f(kTiny) + f(-kTiny)) : f(0);
  const double s = std::sqrt(q);
  if (!m.kinked && q <= m.gh_max_q) {
    return gaussian_expectation([&](double z) { return f(s * z); }, kNodes);
  }
  return half_line([&](double t) { return (f(s * t) + f(-s * t)) * normal_pdf(t); }, kTail);
}

// E[f(u1) f(u2)], u1 = sqrt(q1) z1, u2 = sqrt(q2) (c z1 + sqrt(1 - c^2) z2), z1, z2 iid N(0, 1).
double expect_2d(const ActivationModel& m, const Fn& f, double q1, double q2, double c) {
  const double a1 = std::sqrt(q1), a2 = std::sqrt(q2);
  const double s = std::sqrt(std::max(0.0, (1 - c) * (1 + c)));
  if (!m.kinked && std::max(q1, q2) <= m.gh_max_q) {
    return gaussian_expectation(
        [&](double z1) {
          const double f1 = f(a1 * z1);
          if (f1 == 0) return 0.0;
          return f1 *
                 gaussian_expectation([&](double z2) { return f(a2 * (c * z1 + s * z2)); }, kNodes);
        },
        kNodes);
  }
  // h(z1) = E[f(mu + sd Z)]: f is kinked (or steep) where mu + sd z = 0; split there.
  const auto h = [&](double z1) {
    const double mu = a2 * c * z1, sd = a2 * s;
    if (sd == 0) return f(mu);  // |c| = 1
    double split = -mu / sd, offset = 0;
    if (std::abs(split) > kSplitClamp) {
      split = std::copysign(kSplitClamp, split);
      offset = mu + sd * split;
    }
    return half_line(
        [&](double t) {
          return f(offset + sd * t) * normal_pdf(split + t) +
                 f(offset - sd * t) * normal_pdf(split - t);
        },
        kTail + std::abs(split));
  };
  // Outer: z1 on each side of 0, where f(u1) has its kink.
  return half_line(
      [&](double t) { return (f(a1 * t) * h(t) + f(-a1 * t) * h(-t)) * normal_pdf(t); }, kTail);
}

// ---- closed forms -----------------------------------------------------------------------------

// Arc-cosine kernels of degree 1 and 0 (Cho & Saul 2009), normalized: E[relu(u1) relu(u2)] =
// sqrt(q1 q2) k1(c), E[1{u1>0} 1{u2>0}] = k0(c).
double k1(double c) {
  return (std::sqrt((1 - c) * (1 + c)) + (kPi - std::acos(c)) * c) / (2 * kPi);
}
double k0(double c) { return (kPi - std::acos(c)) / (2 * kPi); }

// leaky_relu(a) = a x + (1 - a) relu(x); relu is a = 0, identity a = 1.
void set_leaky(ActivationModel& m, double a) {
  m.phi = [a](double x) { return x > 0 ? x : a * x; };
  m.dphi = [a](double x) { return x > 0 ? 1.0 : a; };
  m.second = [a](double q) { return 0.5 * (1 + a * a) * q; };
  m.dsecond = [a](double) { return 0.5 * (1 + a * a); };
  m.mean = [a](double q) { return (1 - a) * std::sqrt(q) * kInvSqrt2Pi; };
  // E[u1 relu(u2)] = c sqrt(q1 q2)/2 by the symmetry u -> -u.
  m.corr = [a](double q1, double q2, double c) {
    return std::sqrt(q1 * q2) * (a * c + (1 - a) * (1 - a) * k1(c));
  };
  m.dcorr = [a](double, double, double c) { return a + (1 - a) * (1 - a) * k0(c); };
}

// scale * elu_alpha. With E[e^{tZ}; Z<0] = M(t): E[elu^2] = q/2 + alpha^2 (M(2 sqrt q) -
// 2 M(sqrt q) + 1/2), E[elu'^2] = 1/2 + alpha^2 M(2 sqrt q), E[elu] = sqrt(q/(2 pi)) +
// alpha (M(sqrt q) - 1/2).
void set_elu(ActivationModel& m, double alpha, double scale) {
  m.phi = [alpha, scale](double x) { return scale * (x > 0 ? x : alpha * std::expm1(x)); };
  m.dphi = [alpha, scale](double x) { return scale * (x > 0 ? 1.0 : alpha * std::exp(x)); };
  const double s2 = scale * scale, a2 = alpha * alpha;
  m.second = [s2, a2](double q) {
    const double r = std::sqrt(q);
    return s2 * (0.5 * q + a2 * (exp_below_zero(2 * r) - 2 * exp_below_zero(r) + 0.5));
  };
  m.dsecond = [s2, a2](double q) { return s2 * (0.5 + a2 * exp_below_zero(2 * std::sqrt(q))); };
  m.mean = [alpha, scale](double q) {
    const double r = std::sqrt(q);
    return scale * (r * kInvSqrt2Pi + alpha * (exp_below_zero(r) - 0.5));
  };
  m.kinked = true;
}

double softplus(double x, double beta, double threshold) {
  const double bx = beta * x;
  return bx > threshold ? x : std::log1p(std::exp(bx)) / beta;
}

// ---- registry ---------------------------------------------------------------------------------

// One argument: a number (finite; > 0 when `positive`) or one identifier of `choices`.
using Param = detail::SpecParam;
using detail::where;

using Entry = detail::ActivationInfo;

Param number(std::string name, double default_value, bool positive = false) {
  return detail::number_param(std::move(name), default_value, positive);
}

Param choice(std::string name, std::string default_value, std::vector<std::string> choices) {
  return detail::choice_param(std::move(name), std::move(default_value), std::move(choices));
}

// Gauss–Hermite with 128 nodes is exact to ~1e-13 (all three moments; the derivative moment is
// the first to degrade) on these smooth activations up to the variances below, measured against
// the split rule (test/signal/activation_test.cpp checks both sides of each bound). Past them the
// functions turn from 0 to their asymptote faster than the node spacing resolves (the poles of
// tanh at ±i pi/2 approach the real axis in z as 1/sqrt(q)) and the split rule takes over.
constexpr double kGhMaxQTanh = 0.5;
constexpr double kGhMaxQSigmoid = 2;  // = tanh's bound times 4: tanh(x) = 2 sigmoid(2x) - 1
constexpr double kGhMaxQGelu = 2;
constexpr double kGhMaxQSilu = 2;
constexpr double kGhMaxQMish = 1;
constexpr double kGhMaxQSoftplus =
    2;  // divided by beta^2: softplus_beta(x) = softplus(beta x)/beta

// ---- gains (calculate_gain) --------------------------------------------------------------------

// The gain that keeps E[x^2] through a fan_in-scaled layer: 1/sqrt(E[phi(Z)^2]), Z ~ N(0, 1).
double gain_from_second_moment(double m2) { return 1.0 / std::sqrt(m2); }

// E[elu_alpha(Z)^2] in closed form: E[Z^2; Z>0] = 1/2 and, with E[e^{tZ}; Z<0] = e^{t^2/2} Phi(-t),
// E[alpha^2 (e^Z - 1)^2; Z<0] = alpha^2 (e^2 Phi(-2) - 2 e^{1/2} Phi(-1) + 1/2).
double elu_gain_second_moment(double alpha) {
  return 0.5 + alpha * alpha *
                   (std::exp(2.0) * normal_cdf(-2) - 2 * std::exp(0.5) * normal_cdf(-1) + 0.5);
}

// softplus_beta with the linear branch at beta x > 30 written as (beta x)/beta: the form the
// gains have always used (their bits are pinned by the golden digests).
double gain_softplus(double x, double beta) {
  const double bx = beta * x;
  return (bx > 30 ? bx : std::log1p(std::exp(bx))) / beta;
}

// A gain computed by Gauss–Hermite quadrature of phi(Z)^2.
double quadrature_gain(const std::function<double(double)>& phi) {
  return gain_from_second_moment(gaussian_expectation([&phi](double z) {
    const double y = phi(z);
    return y * y;
  }));
}

// SELU constants (Klambauer et al. 2017), as in torch.nn.SELU.
constexpr double kSeluLambda = 1.0507009873554804934193349852946;
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;

const std::vector<Entry>& entries() {
  static const std::vector<Entry>* table = [] {
    using V = std::vector<SpecValue>;
    using Gain = std::optional<double>;
    auto* t = new std::vector<Entry>{
        {"identity",
         {"linear"},
         {},
         [](ActivationModel& m, const V&) {
           set_leaky(m, 1.0);
           m.gh_max_q = std::numeric_limits<double>::infinity();  // polynomial: GH exact
         },
         nullptr},  // not a name of torch.nn.init.calculate_gain
        {"relu",
         {},
         {},
         [](ActivationModel& m, const V&) {
           set_leaky(m, 0.0);
           m.kinked = true;
         },
         [](Gain) { return std::sqrt(2.0); }},
        {"leaky_relu",
         {},
         {number("negative_slope", 0.01)},
         [](ActivationModel& m, const V& v) {
           set_leaky(m, v[0].number);
           m.kinked = v[0].number != 1;
           if (!m.kinked) m.gh_max_q = std::numeric_limits<double>::infinity();
           m.parameter = v[0].number;
         },
         [](Gain param) {
           const double slope = param.value_or(0.01);
           TORCH_CHECK(std::isfinite(slope),
                       "torchinit::calculate_gain: leaky_relu slope must be finite, got ", slope);
           return std::sqrt(2.0 / (1 + std::pow(slope, 2)));
         }},
        {"tanh",
         {},
         {},
         [](ActivationModel& m, const V&) {
           m.phi = [](double x) { return std::tanh(x); };
           m.dphi = [](double x) {
             const double t = std::tanh(x);
             return 1 - t * t;
           };
           m.gh_max_q = kGhMaxQTanh;
         },
         [](Gain) { return 5.0 / 3; }},
        {"sigmoid",
         {},
         {},
         [](ActivationModel& m, const V&) {
           m.phi = sigmoid;
           m.dphi = [](double x) {
             const double s = sigmoid(x);
             return s * (1 - s);
           };
           m.gh_max_q = kGhMaxQSigmoid;
         },
         [](Gain) { return 1.0; }},
        {"selu",
         {},
         {},
         [](ActivationModel& m, const V&) { set_elu(m, kSeluAlpha, kSeluLambda); },
         [](Gain) { return 3.0 / 4; }},
        {"elu",
         {},
         {number("alpha", 1.0)},
         [](ActivationModel& m, const V& v) {
           set_elu(m, v[0].number, 1.0);
           m.parameter = v[0].number;
         },
         [](Gain param) {
           const double alpha = param.value_or(1.0);
           TORCH_CHECK(std::isfinite(alpha) && alpha >= 0,
                       "torchinit::calculate_gain: elu alpha must be finite and >= 0, got ", alpha);
           return gain_from_second_moment(elu_gain_second_moment(alpha));
         }},
        {"gelu",
         {},
         {choice("approximate", "none", {"none", "tanh"})},
         [](ActivationModel& m, const V& v) {
           if (v[0].text == "tanh") {
             constexpr double kK = 0.79788456080286535588;  // sqrt(2/pi)
             constexpr double kC = 0.044715;
             m.phi = [](double x) { return 0.5 * x * (1 + std::tanh(kK * (x + kC * x * x * x))); };
             m.dphi = [](double x) {
               const double t = std::tanh(kK * (x + kC * x * x * x));
               return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * kK * (1 + 3 * kC * x * x);
             };
           } else {
             m.phi = [](double x) { return x * normal_cdf(x); };
             m.dphi = [](double x) { return normal_cdf(x) + x * normal_pdf(x); };
           }
           m.gh_max_q = kGhMaxQGelu;
         },
         // The exact gelu (approximate=none) for every spec, as calculate_gain always did.
         [](Gain) {
           return quadrature_gain(
               [](double z) { return 0.5 * z * std::erfc(-z / std::sqrt(2.0)); });
         }},
        {"silu",
         {"swish"},
         {},
         [](ActivationModel& m, const V&) {
           m.phi = [](double x) { return x * sigmoid(x); };
           m.dphi = [](double x) {
             const double s = sigmoid(x);
             return s * (1 + x * (1 - s));
           };
           m.gh_max_q = kGhMaxQSilu;
         },
         [](Gain) { return quadrature_gain([](double z) { return z / (1 + std::exp(-z)); }); }},
        {"mish",
         {},
         {},
         [](ActivationModel& m, const V&) {
           m.phi = [](double x) { return x * std::tanh(softplus(x, 1, 30)); };
           m.dphi = [](double x) {
             const double t = std::tanh(softplus(x, 1, 30));
             return t + x * (1 - t * t) * sigmoid(x);
           };
           m.gh_max_q = kGhMaxQMish;
         },
         [](Gain) {
           return quadrature_gain([](double z) { return z * std::tanh(gain_softplus(z, 1.0)); });
         }},
        {"softplus",
         {},
         {number("beta", 1.0, true), number("threshold", 20.0)},
         [](ActivationModel& m, const V& v) {
           const double beta = v[0].number, threshold = v[1].number;
           // As torch.nn.Softplus: linear where beta x > threshold (a jump of
           // log1p(e^-threshold)/beta, 2e-9 at the default, that the quadrature does not split).
           m.phi = [beta, threshold](double x) { return softplus(x, beta, threshold); };
           m.dphi = [beta, threshold](double x) {
             return beta * x > threshold ? 1.0 : sigmoid(beta * x);
           };
           m.gh_max_q = kGhMaxQSoftplus / (beta * beta);
           m.parameter = beta;
         },
         [](Gain param) {
           const double beta = param.value_or(1.0);
           TORCH_CHECK(std::isfinite(beta) && beta > 0,
                       "torchinit::calculate_gain: softplus beta must be > 0, got ", beta);
           return quadrature_gain([beta](double z) { return gain_softplus(z, beta); });
         }},
    };
    return t;
  }();
  return *table;
}

constexpr const char* kActivationWho = "torchinit::activation";

void check_q(double q, const char* fn) {
  TORCH_CHECK(std::isfinite(q) && q >= 0, "torchinit::Activation::", fn,
              ": q (the variance of the pre-activation) must be finite and >= 0, got ", q);
}

void check_bivariate(double q1, double q2, double c, const char* fn) {
  TORCH_CHECK(std::isfinite(q1) && q1 > 0 && std::isfinite(q2) && q2 > 0,
              "torchinit::Activation::", fn,
              ": the variances q1, q2 must be finite and > 0, got q1 = ", q1, ", q2 = ", q2);
  TORCH_CHECK(c >= -1 && c <= 1, "torchinit::Activation::", fn,
              ": the correlation c must be in [-1, 1], got ", c);
}

}  // namespace

Activation::Activation(std::shared_ptr<const detail::ActivationModel> model)
    : model_(std::move(model)) {}

const std::string& Activation::name() const { return model_->name; }
std::optional<double> Activation::parameter() const { return model_->parameter; }
std::string Activation::str() const { return model_->text; }
double Activation::operator()(double x) const { return model_->phi(x); }
double Activation::derivative(double x) const { return model_->dphi(x); }
bool Activation::kinked() const { return model_->kinked; }

double Activation::second_moment(double q) const {
  check_q(q, "second_moment");
  const auto& m = *model_;
  if (closed_forms_ && m.second) return m.second(q);
  const Fn& phi = m.phi;
  return expect_1d(
      m, [&phi](double x) { return phi(x) * phi(x); }, q);
}

double Activation::derivative_second_moment(double q) const {
  check_q(q, "derivative_second_moment");
  const auto& m = *model_;
  if (closed_forms_ && m.dsecond) return m.dsecond(q);
  const Fn& dphi = m.dphi;
  return expect_1d(
      m, [&dphi](double x) { return dphi(x) * dphi(x); }, q);
}

double Activation::mean(double q) const {
  check_q(q, "mean");
  const auto& m = *model_;
  if (closed_forms_ && m.mean) return m.mean(q);
  return expect_1d(m, m.phi, q);
}

double Activation::correlation_moment(double q1, double q2, double c) const {
  check_bivariate(q1, q2, c, "correlation_moment");
  const auto& m = *model_;
  if (closed_forms_ && m.corr) return m.corr(q1, q2, c);
  return expect_2d(m, m.phi, q1, q2, c);
}

double Activation::derivative_correlation_moment(double q1, double q2, double c) const {
  check_bivariate(q1, q2, c, "derivative_correlation_moment");
  const auto& m = *model_;
  if (closed_forms_ && m.dcorr) return m.dcorr(q1, q2, c);
  return expect_2d(m, m.dphi, q1, q2, c);
}

Activation Activation::quadrature_only() const {
  Activation copy = *this;
  copy.closed_forms_ = false;
  return copy;
}

namespace detail {

const std::vector<ActivationInfo>& activation_table() { return entries(); }

const ActivationInfo* find_activation(std::string_view name) {
  for (const ActivationInfo& e : entries()) {
    if (e.name == name || std::find(e.aliases.begin(), e.aliases.end(), name) != e.aliases.end())
      return &e;
  }
  return nullptr;
}

std::pair<const ActivationInfo*, std::vector<SpecValue>> bind_activation(const Spec& spec,
                                                                         std::string_view who) {
  const ActivationInfo* e = find_activation(spec.name());
  TORCH_CHECK(e, who, ": unknown activation '", spec.name(), "';",
              did_you_mean(spec.name(), activation_names()), " expected one of ",
              c10::Join(", ", activation_names()), where(spec, spec.column()));
  return {e, bind(spec, who, e->name, e->params).values};
}

}  // namespace detail

Activation activation(std::string_view spec) { return activation(Spec::parse(spec)); }

Activation activation(const Spec& spec) {
  const auto [e, bound] = detail::bind_activation(spec, kActivationWho);
  std::vector<SpecValue> values;
  std::vector<SpecArg> canonical;  // the arguments that differ from their default
  for (size_t i = 0; i < e->params.size(); ++i) {
    const Param& p = e->params[i];
    const SpecValue& b = bound[i];
    SpecValue v = b.kind == SpecValue::Kind::Number ? SpecValue::of_number(b.number)
                                                    : SpecValue::of_identifier(b.text);
    if (v != *p.default_value) canonical.push_back(SpecArg{p.name, v, 0});
    values.push_back(std::move(v));
  }
  // A single numeric first argument prints positionally: leaky_relu(0.2), elu(0.5).
  if (canonical.size() == 1 && canonical[0].key == e->params[0].name &&
      e->params[0].default_value->kind == SpecValue::Kind::Number) {
    canonical[0].key.clear();
  }

  auto model = std::make_shared<detail::ActivationModel>();
  model->name = e->name;
  model->text = Spec(e->name, canonical).str();
  e->build(*model, values);
  return Activation(std::move(model));
}

// The canonical list of activation names (nn::activation_names() returns this one).
std::vector<std::string> activation_names() {
  std::vector<std::string> names;
  for (const Entry& e : entries()) names.push_back(e.name);
  for (const Entry& e : entries()) names.insert(names.end(), e.aliases.begin(), e.aliases.end());
  return names;
}

}  // namespace torchinit
