// Activations and their Gaussian moments: the registry and its errors, phi and phi' against
// known values and finite differences, closed forms against the split quadrature (1e-10),
// quadrature against an independent reference on both sides of the Gauss–Hermite bounds, and
// bivariate identities (c = 1, c = 0, Price's theorem) on every activation.
#include "torchinit/activation.h"

#include <c10/util/Exception.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <cmath>
#include <functional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "test_util.h"
#include "torchinit/gauss_hermite.h"

namespace {

using ::testing::HasSubstr;
using torchinit::Activation;
using torchinit::activation;

using torchinit::testutil::kPi;

using torchinit::testutil::error_of;

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// E[e^{tZ}; Z < 0] = e^{t^2/2} Phi(-t), straight from the formula (t small enough here).
double exp_below_zero(double t) { return std::exp(0.5 * t * t) * normal_cdf(-t); }

// Independent reference for E[f(sqrt(q) Z)]: adaptive Gauss–Kronrod (61 points) on [-38, 0]
// and [0, 38] in z.
double reference(const std::function<double(double)>& f, double q) {
  using Rule = boost::math::quadrature::gauss_kronrod<double, 61>;
  const double s = std::sqrt(q);
  const auto g = [&](double z) { return f(s * z) * std::exp(-0.5 * z * z) / std::sqrt(2 * kPi); };
  return Rule::integrate(g, -38.0, 0.0, 15, 1e-14) + Rule::integrate(g, 0.0, 38.0, 15, 1e-14);
}

const std::vector<std::string> kSpecs = {"identity",
                                         "relu",
                                         "leaky_relu(0.2)",
                                         "tanh",
                                         "sigmoid",
                                         "selu",
                                         "elu",
                                         "elu(0.5)",
                                         "gelu",
                                         "gelu(approximate=tanh)",
                                         "silu",
                                         "mish",
                                         "softplus",
                                         "softplus(beta=3)"};

// ---- registry ---------------------------------------------------------------------------------

TEST(ActivationRegistry, EveryNameBuildsAndAliasesResolve) {
  const std::vector<std::string> canonical = {"identity", "relu", "leaky_relu", "tanh",
                                              "sigmoid",  "selu", "elu",        "gelu",
                                              "silu",     "mish", "softplus"};
  const auto names = torchinit::activation_names();
  ASSERT_GE(names.size(), canonical.size());
  for (size_t i = 0; i < canonical.size(); ++i) EXPECT_EQ(names[i], canonical[i]);
  for (const auto& name : names) {
    const Activation a = activation(name);
    EXPECT_EQ(activation(a.str()).str(), a.str()) << name;
    EXPECT_TRUE(std::isfinite(a.second_moment(1))) << name;
  }
  EXPECT_EQ(activation("linear").name(), "identity");
  EXPECT_EQ(activation("swish").name(), "silu");
}

TEST(ActivationRegistry, ParametersAndCanonicalText) {
  EXPECT_EQ(activation("leaky_relu").parameter(), 0.01);  // torch's default slope
  EXPECT_EQ(activation("leaky_relu(0.2)").parameter(), 0.2);
  EXPECT_EQ(activation("leaky_relu(negative_slope=0.2)").str(), "leaky_relu(0.2)");
  EXPECT_EQ(activation("elu(alpha=1)").str(), "elu");
  EXPECT_EQ(activation("elu(alpha=1)").parameter(), 1.0);
  EXPECT_EQ(activation("elu(0.5)").parameter(), 0.5);
  EXPECT_EQ(activation("softplus(beta=2)").parameter(), 2.0);
  EXPECT_EQ(activation("softplus(2, threshold=10)").str(), "softplus(beta=2, threshold=10)");
  EXPECT_EQ(activation("gelu(approximate='tanh')").str(), "gelu(approximate=tanh)");
  EXPECT_EQ(activation("relu()").str(), "relu");
  EXPECT_FALSE(activation("tanh").parameter().has_value());
  EXPECT_TRUE(activation("relu").kinked());
  EXPECT_TRUE(activation("selu").kinked());
  EXPECT_FALSE(activation("tanh").kinked());
  EXPECT_FALSE(activation("leaky_relu(1)").kinked());  // the identity
}

TEST(ActivationRegistry, UnknownNameSuggestsTheClosest) {
  const std::string msg = error_of([] { activation("rleu"); });
  EXPECT_THAT(msg, HasSubstr("torchinit::activation: unknown activation 'rleu'"));
  EXPECT_THAT(msg, HasSubstr("did you mean 'relu'?"));
  EXPECT_THAT(msg, HasSubstr("expected one of identity, relu, leaky_relu"));
  EXPECT_THAT(msg, HasSubstr("column 1"));
  EXPECT_THAT(error_of([] { activation("leaky_rleu(0.2)"); }),
              HasSubstr("did you mean 'leaky_relu'?"));
  EXPECT_THAT(error_of([] { activation("sigmod"); }), HasSubstr("did you mean 'sigmoid'?"));
}

TEST(ActivationRegistry, InvalidParametersSayWhatWasExpected) {
  std::string msg = error_of([] { activation("softplus(beta=0)"); });
  EXPECT_THAT(msg, HasSubstr("torchinit::activation: softplus argument 'beta' expects a finite "
                             "number > 0, got 0"));
  EXPECT_THAT(msg, HasSubstr("column 15"));
  EXPECT_THAT(error_of([] { activation("softplus(-1)"); }), HasSubstr("got -1"));
  msg = error_of([] { activation("leaky_relu(slope=0.2)"); });
  EXPECT_THAT(msg, HasSubstr("leaky_relu has no argument 'slope'"));
  EXPECT_THAT(msg, HasSubstr("it takes leaky_relu(negative_slope=0.01)"));
  EXPECT_THAT(error_of([] { activation("relu(1)"); }),
              HasSubstr("relu takes no arguments, got 1; remove the extra argument"));
  EXPECT_THAT(error_of([] { activation("elu(1, 2)"); }),
              HasSubstr("elu takes at most 1 argument, got 2; remove the extra argument; "
                        "it takes elu(alpha=1)"));
  EXPECT_THAT(error_of([] { activation("elu(alpha=relu)"); }),
              HasSubstr("elu argument 'alpha' expects a number, got identifier relu"));
  EXPECT_THAT(error_of([] { activation("elu(nan)"); }),
              HasSubstr("elu argument 'alpha' expects a finite number, got nan"));
  EXPECT_THAT(error_of([] { activation("elu(1, alpha=2)"); }),
              HasSubstr("elu argument 'alpha' is given twice; keep one"));
  msg = error_of([] { activation("gelu(approximate=tanhh)"); });
  EXPECT_THAT(msg, HasSubstr("gelu argument 'approximate' expects one of none, tanh, got 'tanhh'"));
  EXPECT_THAT(msg, HasSubstr("did you mean 'tanh'?"));
}

TEST(ActivationRegistry, MomentArgumentsAreChecked) {
  const Activation relu = activation("relu");
  EXPECT_THAT(error_of([&] { relu.second_moment(-1); }),
              HasSubstr("torchinit::Activation::second_moment: q (the variance of the "
                        "pre-activation) must be finite and >= 0, got -1"));
  EXPECT_THAT(error_of([&] { relu.mean(NAN); }), HasSubstr("got nan"));
  EXPECT_THAT(error_of([&] { relu.correlation_moment(1, 1, 1.5); }),
              HasSubstr("torchinit::Activation::correlation_moment: the correlation c must be in "
                        "[-1, 1], got 1.5"));
  EXPECT_THAT(error_of([&] { relu.derivative_correlation_moment(0, 1, 0.5); }),
              HasSubstr("the variances q1, q2 must be finite and > 0, got q1 = 0, q2 = 1"));
}

// ---- phi and phi' -----------------------------------------------------------------------------

TEST(ActivationFunctions, KnownValues) {
  EXPECT_EQ(activation("relu")(-1), 0);
  EXPECT_EQ(activation("relu")(2), 2);
  EXPECT_DOUBLE_EQ(activation("leaky_relu(0.2)")(-1), -0.2);
  EXPECT_DOUBLE_EQ(activation("elu")(-1), std::exp(-1.0) - 1);
  EXPECT_DOUBLE_EQ(activation("elu(0.5)")(-2), 0.5 * (std::exp(-2.0) - 1));
  // torch.nn.SELU: scale = 1.0507009873554804934193349852946, alpha = 1.6732632423543772848...
  EXPECT_DOUBLE_EQ(activation("selu")(1), 1.0507009873554804934193349852946);
  EXPECT_DOUBLE_EQ(
      activation("selu")(-1),
      1.0507009873554804934193349852946 * 1.6732632423543772848170429916717 * (std::exp(-1.0) - 1));
  EXPECT_DOUBLE_EQ(activation("tanh")(0.5), std::tanh(0.5));
  EXPECT_DOUBLE_EQ(activation("sigmoid")(0), 0.5);
  EXPECT_DOUBLE_EQ(activation("sigmoid")(-800), 0);
  EXPECT_DOUBLE_EQ(activation("gelu")(1), normal_cdf(1));
  EXPECT_NEAR(activation("gelu(approximate=tanh)")(1), 0.8411919906082768, 1e-15);
  EXPECT_DOUBLE_EQ(activation("silu")(1), 1 / (1 + std::exp(-1.0)));
  EXPECT_DOUBLE_EQ(activation("mish")(1), std::tanh(std::log1p(std::exp(1.0))));
  EXPECT_DOUBLE_EQ(activation("softplus")(0), std::log(2.0));
  EXPECT_DOUBLE_EQ(activation("softplus(beta=2)")(1), std::log1p(std::exp(2.0)) / 2);
  EXPECT_EQ(activation("softplus")(21), 21);  // past torch's threshold: linear
  EXPECT_EQ(activation("identity")(-3.5), -3.5);
}

TEST(ActivationFunctions, DerivativeMatchesFiniteDifferences) {
  for (const auto& spec : kSpecs) {
    const Activation a = activation(spec);
    for (double x : {-3.0, -1.2, -0.4, 0.3, 0.9, 2.5}) {
      const double h = 1e-5;
      const double fd = (a(x + h) - a(x - h)) / (2 * h);
      EXPECT_NEAR(a.derivative(x), fd, 1e-8) << spec << " at " << x;
    }
  }
}

TEST(ActivationFunctions, DerivativeAtTheKinkFollowsAutograd) {
  EXPECT_EQ(activation("relu").derivative(0), 0);
  EXPECT_EQ(activation("leaky_relu(0.2)").derivative(0), 0.2);
  EXPECT_EQ(activation("elu(0.5)").derivative(0), 0.5);
  EXPECT_DOUBLE_EQ(activation("selu").derivative(0),
                   1.0507009873554804934193349852946 * 1.6732632423543772848170429916717);
}

// ---- closed forms -----------------------------------------------------------------------------

const std::vector<double> kQs = {0.01, 0.3, 1, 2, 5, 10};

TEST(ClosedForms, MatchTheFormulas) {
  for (double q : kQs) {
    const Activation relu = activation("relu");
    EXPECT_DOUBLE_EQ(relu.second_moment(q), q / 2);
    EXPECT_DOUBLE_EQ(relu.derivative_second_moment(q), 0.5);
    EXPECT_DOUBLE_EQ(relu.mean(q), std::sqrt(q / (2 * kPi)));
    const double a = 0.2;
    const Activation leaky = activation("leaky_relu(0.2)");
    EXPECT_DOUBLE_EQ(leaky.second_moment(q), (1 + a * a) * q / 2);
    EXPECT_DOUBLE_EQ(leaky.derivative_second_moment(q), (1 + a * a) / 2);
    EXPECT_DOUBLE_EQ(leaky.mean(q), (1 - a) * std::sqrt(q / (2 * kPi)));
    const Activation id = activation("identity");
    EXPECT_DOUBLE_EQ(id.second_moment(q), q);
    EXPECT_DOUBLE_EQ(id.derivative_second_moment(q), 1);
    EXPECT_EQ(id.mean(q), 0);
    // elu: E[Z^2 q; Z>0] + alpha^2 E[(e^{sqrt(q) Z} - 1)^2; Z<0].
    for (double alpha : {1.0, 0.5}) {
      const Activation elu = activation("elu(" + std::to_string(alpha) + ")");
      const double r = std::sqrt(q);
      EXPECT_NEAR(elu.second_moment(q),
                  q / 2 + alpha * alpha * (exp_below_zero(2 * r) - 2 * exp_below_zero(r) + 0.5),
                  1e-15)
          << q;
      EXPECT_NEAR(elu.derivative_second_moment(q), 0.5 + alpha * alpha * exp_below_zero(2 * r),
                  1e-15);
      EXPECT_NEAR(elu.mean(q), r / std::sqrt(2 * kPi) + alpha * (exp_below_zero(r) - 0.5), 1e-15);
    }
  }
}

// The pinned check of the theory: each closed form against the split quadrature, to 1e-10.
TEST(ClosedForms, QuadratureMatchesTo1e10) {
  for (const char* spec : {"relu", "leaky_relu(0.2)", "leaky_relu(-0.5)", "identity", "elu",
                           "elu(0.5)", "elu(2)", "selu"}) {
    const Activation exact = activation(spec);
    const Activation quad = exact.quadrature_only();
    ASSERT_TRUE(exact.uses_closed_forms());
    ASSERT_FALSE(quad.uses_closed_forms());
    for (double q : kQs) {
      EXPECT_NEAR(exact.second_moment(q), quad.second_moment(q), 1e-10) << spec << " q=" << q;
      EXPECT_NEAR(exact.derivative_second_moment(q), quad.derivative_second_moment(q), 1e-10)
          << spec << " q=" << q;
      EXPECT_NEAR(exact.mean(q), quad.mean(q), 1e-10) << spec << " q=" << q;
    }
  }
}

// E[relu(u1) relu(u2)] = sqrt(q1 q2)/(2 pi) (sqrt(1 - c^2) + (pi - acos c) c) (Cho & Saul 2009).
TEST(ClosedForms, ReluArcCosineKernelMatchesQuadratureTo1e10) {
  const Activation relu = activation("relu");
  const Activation quad = relu.quadrature_only();
  for (auto [q1, q2] : std::vector<std::pair<double, double>>{{1, 1}, {1.3, 0.7}, {4, 0.25}}) {
    for (double c : {-1.0, -0.9, -0.5, 0.0, 0.3, 0.5, 0.9, 0.99, 1.0}) {
      const double kernel =
          std::sqrt(q1 * q2) / (2 * kPi) * (std::sqrt(1 - c * c) + (kPi - std::acos(c)) * c);
      EXPECT_NEAR(relu.correlation_moment(q1, q2, c), kernel, 1e-15) << q1 << " " << q2 << " " << c;
      EXPECT_NEAR(quad.correlation_moment(q1, q2, c), kernel, 1e-10) << q1 << " " << q2 << " " << c;
      EXPECT_NEAR(quad.derivative_correlation_moment(q1, q2, c), (kPi - std::acos(c)) / (2 * kPi),
                  1e-10)
          << q1 << " " << q2 << " " << c;
    }
  }
}

TEST(ClosedForms, LeakyAndIdentityCorrelationsMatchQuadrature) {
  for (const char* spec : {"leaky_relu(0.2)", "identity"}) {
    const Activation exact = activation(spec);
    const Activation quad = exact.quadrature_only();
    for (double c : {-0.7, 0.0, 0.4, 0.95}) {
      EXPECT_NEAR(exact.correlation_moment(1.3, 0.7, c), quad.correlation_moment(1.3, 0.7, c),
                  1e-10)
          << spec << " " << c;
      EXPECT_NEAR(exact.derivative_correlation_moment(1.3, 0.7, c),
                  quad.derivative_correlation_moment(1.3, 0.7, c), 1e-10)
          << spec << " " << c;
    }
  }
}

// SELU's constants make N(0, 1) a fixed point: mean 0, variance 1 (Klambauer et al. 2017).
TEST(ClosedForms, SeluIsSelfNormalizing) {
  const Activation selu = activation("selu");
  EXPECT_NEAR(selu.mean(1), 0, 1e-9);
  EXPECT_NEAR(selu.second_moment(1), 1, 1e-9);
}

// Why the kinked activations are split: plain Gauss–Hermite is far off across a kink.
TEST(ClosedForms, PlainGaussHermiteIsInaccurateAcrossAKink) {
  const Activation relu = activation("relu");
  const double gh = torchinit::gaussian_expectation([&](double z) { return relu(z); }, 128);
  EXPECT_GT(std::abs(gh - relu.mean(1)), 1e-5);
  EXPECT_NEAR(relu.quadrature_only().mean(1), relu.mean(1), 1e-14);
}

TEST(ClosedForms, LimitAtZeroVariance) {
  for (const auto& a : {activation("relu"), activation("relu").quadrature_only()}) {
    EXPECT_EQ(a.second_moment(0), 0);
    EXPECT_NEAR(a.mean(0), 0, 1e-300);
    EXPECT_DOUBLE_EQ(a.derivative_second_moment(0), 0.5);  // the one-sided average, not relu'(0)
  }
  EXPECT_DOUBLE_EQ(activation("elu(0.5)").quadrature_only().derivative_second_moment(0),
                   (1 + 0.25) / 2);
  EXPECT_DOUBLE_EQ(activation("sigmoid").mean(0), 0.5);
  EXPECT_DOUBLE_EQ(activation("tanh").derivative_second_moment(0), 1);
}

// ---- quadrature -------------------------------------------------------------------------------

// Against adaptive Gauss–Kronrod, for q on both sides of each activation's Gauss–Hermite bound
// (tanh 0.5, mish 1, sigmoid, gelu, silu 2, softplus(beta=3) 2/9).
TEST(Quadrature, SmoothActivationsMatchAnIndependentReference) {
  for (const char* spec : {"tanh", "sigmoid", "gelu", "gelu(approximate=tanh)", "silu", "mish",
                           "softplus", "softplus(beta=3)"}) {
    const Activation a = activation(spec);
    for (double q : {0.05, 0.5, 0.8, 2.0, 3.0, 30.0}) {
      // softplus is linear past beta x = threshold, as in torch: phi jumps there by
      // log1p(e^-20)/beta ~ 2e-9/beta, which no rule here splits at (activation.h: ~1e-10).
      const bool jump = a.name() == "softplus";
      const double tol = (jump ? 1e-10 : 1e-12) * std::max(1.0, q);
      EXPECT_NEAR(a.second_moment(q), reference([&](double x) { return a(x) * a(x); }, q), tol)
          << spec << " q=" << q;
      EXPECT_NEAR(a.derivative_second_moment(q),
                  reference([&](double x) { return a.derivative(x) * a.derivative(x); }, q), tol)
          << spec << " q=" << q;
      EXPECT_NEAR(a.mean(q), reference([&](double x) { return a(x); }, q), tol)
          << spec << " q=" << q;
    }
  }
}

// E[phi(u1) phi(u2)] is E[phi(u)^2] at c = 1, E[phi(u1)] E[phi(u2)] at c = 0, and symmetric in
// (u1, u2); both the tensor-product and the split rule, on every activation.
TEST(Quadrature, BivariateIdentities) {
  for (const auto& spec : kSpecs) {
    const Activation a = activation(spec).quadrature_only();
    for (double q : {0.3, 3.0}) {
      EXPECT_NEAR(a.correlation_moment(q, q, 1), a.second_moment(q), 1e-11) << spec << " " << q;
      EXPECT_NEAR(a.derivative_correlation_moment(q, q, 1), a.derivative_second_moment(q), 1e-11)
          << spec << " " << q;
      EXPECT_NEAR(a.correlation_moment(q, 0.5 * q, 0), a.mean(q) * a.mean(0.5 * q), 1e-11)
          << spec << " " << q;
      EXPECT_NEAR(a.correlation_moment(q, 0.5 * q, 0.6), a.correlation_moment(0.5 * q, q, 0.6),
                  1e-11)
          << spec << " " << q;
    }
  }
}

// Price's theorem: d/dc E[phi(u1) phi(u2)] = sqrt(q1 q2) E[phi'(u1) phi'(u2)].
TEST(Quadrature, PricesTheoremLinksTheTwoBivariateMoments) {
  for (const auto& spec : kSpecs) {
    const Activation a = activation(spec);
    for (auto [q1, q2, c] : std::vector<std::tuple<double, double, double>>{
             {0.4, 0.3, 0.3}, {2.5, 1.5, -0.6}, {1.0, 4.0, 0.8}}) {
      const double h = 1e-4;
      const double fd =
          (a.correlation_moment(q1, q2, c + h) - a.correlation_moment(q1, q2, c - h)) / (2 * h);
      EXPECT_NEAR(fd, std::sqrt(q1 * q2) * a.derivative_correlation_moment(q1, q2, c), 2e-7)
          << spec << " q1=" << q1 << " q2=" << q2 << " c=" << c;
    }
  }
}

}  // namespace
