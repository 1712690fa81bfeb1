// Gains: bit-for-bit parity with torch.nn.init.calculate_gain for every name PyTorch knows,
// numeric gains 1/sqrt(E[phi(Z)^2]) against independent quadrature, and Gauss–Hermite exactness.
#include "torchinit/gain.h"

#include <c10/util/Exception.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/math/quadrature/exp_sinh.hpp>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "test_util.h"
#include "torchinit/gauss_hermite.h"

namespace {

using ::testing::HasSubstr;
using torchinit::calculate_gain;
using torchinit::gaussian_expectation;
using torchinit::testutil::error_of;

using torchinit::testutil::kPi;

// ---- parity with torch.nn.init.calculate_gain (the Python expressions, evaluated in double) ----

TEST(CalculateGain, LinearAndConvolutionsAreOne) {
  for (const char* name : {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                           "conv_transpose2d", "conv_transpose3d", "sigmoid"}) {
    EXPECT_EQ(calculate_gain(name), 1.0) << name;
  }
}

TEST(CalculateGain, TorchFormulasBitForBit) {
  EXPECT_EQ(calculate_gain("tanh"), 5.0 / 3);
  EXPECT_EQ(calculate_gain("relu"), std::sqrt(2.0));
  EXPECT_EQ(calculate_gain("selu"), 3.0 / 4);
  // leaky_relu: math.sqrt(2.0 / (1 + negative_slope ** 2)), negative_slope defaults to 0.01.
  EXPECT_EQ(calculate_gain("leaky_relu"), std::sqrt(2.0 / (1 + std::pow(0.01, 2))));
  for (double slope : {0.0, 0.01, 0.1, 0.2, 0.3, 1.0 / 3, 1.0, 5.5}) {
    EXPECT_EQ(calculate_gain("leaky_relu", slope), std::sqrt(2.0 / (1 + std::pow(slope, 2))))
        << "slope " << slope;
  }
  // Bits of the common values, so the comparison is not only against the same expression.
  EXPECT_EQ(torchinit::testutil::double_bits(calculate_gain("relu")), 0x3ff6a09e667f3bcdull);
  EXPECT_EQ(torchinit::testutil::double_bits(calculate_gain("tanh")), 0x3ffaaaaaaaaaaaabull);
}

TEST(CalculateGain, EveryNameGivesAFinitePositiveGain) {
  const auto names = torchinit::gain_names();
  for (const char* torch_name :
       {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
        "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), torch_name), names.end()) << torch_name;
  }
  for (const std::string& name : names) {
    const double g = calculate_gain(name);
    EXPECT_TRUE(std::isfinite(g) && g > 0) << name << " -> " << g;
  }
}

TEST(CalculateGain, UnknownNameSuggestsTheClosest) {
  const std::string msg = error_of([] { calculate_gain("rellu"); });
  EXPECT_THAT(msg, HasSubstr("torchinit::calculate_gain"));
  EXPECT_THAT(msg, HasSubstr("'rellu'"));
  EXPECT_THAT(msg, HasSubstr("did you mean 'relu'?"));
  EXPECT_THAT(error_of([] { calculate_gain("tahn"); }), HasSubstr("did you mean 'tanh'?"));
}

TEST(CalculateGain, InvalidParametersThrow) {
  EXPECT_THAT(error_of([] { calculate_gain("leaky_relu", std::nan("")); }), HasSubstr("finite"));
  EXPECT_THAT(error_of([] { calculate_gain("elu", -1.0); }), HasSubstr(">= 0"));
  EXPECT_THAT(error_of([] { calculate_gain("softplus", 0.0); }), HasSubstr("beta must be > 0"));
}

// ---- numeric gains against independent quadrature ----

using torchinit::testutil::normal_pdf;
double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

// E[phi(Z)^2] = ∫_0^inf (phi(z)^2 + phi(-z)^2) pdf(z) dz by exp-sinh quadrature (split at 0 so
// that each half is smooth on its interval), and the gain 1/sqrt of it.
double quadrature_gain(const std::function<double(double)>& phi) {
  boost::math::quadrature::exp_sinh<double> integrator;
  auto half = [&](double sign) {
    return integrator.integrate(
        [&](double z) {
          const double pdf = normal_pdf(z);
          if (pdf == 0) return 0.0;  // beyond z = 38.6; avoids inf * 0 where phi(z)^2 overflows
          const double v = phi(sign * z);
          return v * v * pdf;
        },
        0.0, std::numeric_limits<double>::infinity(), 1e-14);
  };
  return 1 / std::sqrt(half(1) + half(-1));
}

double softplus(double x, double beta) { return std::log1p(std::exp(beta * x)) / beta; }

::testing::AssertionResult RelativelyClose(double got, double want, double rel) {
  if (std::abs(got - want) <= rel * std::abs(want)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << got << ", want " << want << ", relative error "
                                       << std::abs(got - want) / want;
}

TEST(NumericGain, GeluSiluMishSoftplusMatchQuadrature) {
  const double rel = 1e-10;
  EXPECT_TRUE(RelativelyClose(calculate_gain("gelu"),
                              quadrature_gain([](double z) { return z * normal_cdf(z); }), rel));
  const double silu = quadrature_gain([](double z) { return z / (1 + std::exp(-z)); });
  EXPECT_TRUE(RelativelyClose(calculate_gain("silu"), silu, rel));
  EXPECT_EQ(calculate_gain("swish"), calculate_gain("silu"));
  EXPECT_TRUE(RelativelyClose(
      calculate_gain("mish"),
      quadrature_gain([](double z) { return z * std::tanh(softplus(z, 1)); }), rel));
  EXPECT_TRUE(RelativelyClose(calculate_gain("softplus"),
                              quadrature_gain([](double z) { return softplus(z, 1); }), rel));
  EXPECT_TRUE(RelativelyClose(calculate_gain("softplus", 2.0),
                              quadrature_gain([](double z) { return softplus(z, 2); }), rel));
}

TEST(NumericGain, EluClosedFormMatchesQuadrature) {
  for (double alpha : {1.0, 0.5, 2.0, 0.0}) {
    const double want =
        quadrature_gain([alpha](double z) { return z > 0 ? z : alpha * std::expm1(z); });
    EXPECT_TRUE(RelativelyClose(calculate_gain("elu", alpha), want, 1e-10)) << "alpha " << alpha;
  }
  EXPECT_EQ(calculate_gain("elu"), calculate_gain("elu", 1.0));
  // elu with alpha = 0 is relu: E[relu(Z)^2] = 1/2, gain sqrt(2).
  EXPECT_TRUE(RelativelyClose(calculate_gain("elu", 0.0), std::sqrt(2.0), 1e-15));
}

// ---- Gauss–Hermite ----

TEST(GaussianExpectation, ExactForPolynomialsBelowDegreeTwoN) {
  // E[Z^(2k)] = (2k-1)!!; n nodes integrate degree < 2n exactly.
  double double_factorial = 1;
  for (int k = 1; k <= 8; ++k) {
    double_factorial *= 2 * k - 1;
    const int nodes = k + 1;
    const double got = gaussian_expectation([k](double z) { return std::pow(z, 2 * k); }, nodes);
    EXPECT_TRUE(RelativelyClose(got, double_factorial, 1e-13)) << "E[Z^" << 2 * k << "]";
    EXPECT_NEAR(gaussian_expectation([k](double z) { return std::pow(z, 2 * k - 1); }, nodes), 0,
                1e-12 * double_factorial)
        << "E[Z^" << 2 * k - 1 << "]";
  }
  // 3 z^4 - 2 z^2 + z + 5: 9 - 2 + 0 + 5 = 12 with 3 nodes (degree 4 < 6).
  EXPECT_TRUE(RelativelyClose(
      gaussian_expectation([](double z) { return 3 * std::pow(z, 4) - 2 * z * z + z + 5; }, 3),
      12.0, 1e-14));
  EXPECT_TRUE(RelativelyClose(gaussian_expectation([](double) { return 1.0; }, 1), 1.0, 1e-15));
  for (int nodes : {2, 17, 64, 128, 180}) {  // degree 2 needs 2 nodes
    EXPECT_TRUE(
        RelativelyClose(gaussian_expectation([](double) { return 1.0; }, nodes), 1.0, 1e-13))
        << nodes << " nodes";
    EXPECT_TRUE(
        RelativelyClose(gaussian_expectation([](double z) { return z * z; }, nodes), 1.0, 1e-13))
        << nodes << " nodes";
  }
}

TEST(GaussianExpectation, TwoNodesAreNotExactForDegreeFour) {
  // The 2-node rule puts its nodes at +-1 (probabilists' Hermite He_2): E[Z^4] comes out 1, not 3.
  EXPECT_TRUE(RelativelyClose(gaussian_expectation([](double z) { return std::pow(z, 4); }, 2), 1.0,
                              1e-14));
}

TEST(GaussianExpectation, SmoothFunctionConverges) {
  // E[cos(Z)] = exp(-1/2).
  EXPECT_TRUE(RelativelyClose(gaussian_expectation([](double z) { return std::cos(z); }),
                              std::exp(-0.5), 1e-14));
}

TEST(GaussianExpectation, NodesOutOfRangeThrow) {
  EXPECT_THAT(error_of([] { gaussian_expectation([](double) { return 1.0; }, 0); }),
              HasSubstr("[1, 180]"));
  EXPECT_THAT(error_of([] { gaussian_expectation([](double) { return 1.0; }, 181); }),
              HasSubstr("[1, 180]"));
}

}  // namespace
