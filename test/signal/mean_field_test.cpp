// Mean-field recursions (Poole et al. 2016; Schoenholz et al. 2017): the numbers pinned by the
// issue, the ReLU/He closed case, fixed points and their failure modes, the phase diagram, and
// argument errors.
#include "torchinit/mean_field.h"

#include <c10/util/Exception.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "test_util.h"
#include "torchinit/activation.h"

namespace {

using ::testing::HasSubstr;
using torchinit::activation;

using torchinit::testutil::error_of;

// ---- the pinned numbers -----------------------------------------------------------------------

// tanh, sigma_w^2 = 2, sigma_b = 0: q* ~ 0.618, chi1 ~ 1.106 (to the digits given).
TEST(MeanFieldPinned, TanhFixedPointAndChi1) {
  const auto tanh = activation("tanh");
  const double q = torchinit::q_star(tanh, 2.0, 0.0);
  const double chi = torchinit::chi1(tanh, 2.0, 0.0);
  EXPECT_NEAR(q, 0.618, 5e-4) << "q* = " << q;
  EXPECT_NEAR(chi, 1.106, 5e-4) << "chi1 = " << chi;
  // q* is a fixed point, reached from q0 = 1.
  EXPECT_NEAR(torchinit::q_map(tanh, 2.0, 0.0, q), q, 1e-12);
}

// tanh, sigma_w^2 = 1, sigma_b = 0, from q^0 = 1: q^10 ~ 0.0522, q^100 ~ 0.00507 (1% relative).
TEST(MeanFieldPinned, TanhVarianceDecay) {
  const auto q = torchinit::q_sequence(activation("tanh"), 1.0, 0.0, 1.0, 100);
  ASSERT_EQ(q.size(), 101u);
  EXPECT_EQ(q[0], 1.0);
  EXPECT_NEAR(q[10], 0.0522, 0.01 * 0.0522) << "q^10 = " << q[10];
  EXPECT_NEAR(q[100], 0.00507, 0.01 * 0.00507) << "q^100 = " << q[100];
  for (size_t l = 1; l < q.size(); ++l) EXPECT_LT(q[l], q[l - 1]) << l;
}

// ReLU correlation map (sigma_w^2 = 2, sigma_b = 0) from c^0 = 0.5: c^1 ~ 0.609, c^10 ~ 0.898.
TEST(MeanFieldPinned, ReluCorrelationMap) {
  const auto relu = activation("relu");
  const auto c = torchinit::c_sequence(relu, 2.0, 0.0, 1.0, 0.5, 10);
  ASSERT_EQ(c.size(), 11u);
  EXPECT_NEAR(c[1], 0.609, 1e-3) << "c^1 = " << c[1];
  EXPECT_NEAR(c[10], 0.898, 1e-3) << "c^10 = " << c[10];
  // Without biases the normalized ReLU map depends neither on q nor on sigma_w^2:
  // c' = (sqrt(1 - c^2) + (pi - acos c) c) / pi.
  const double pi = 3.141592653589793;
  const double expected = (std::sqrt(0.75) + (pi - std::acos(0.5)) * 0.5) / pi;
  for (double q : {0.3, 1.0, 7.0}) {
    for (double sigma_w2 : {1.0, 2.0, 3.0}) {
      EXPECT_NEAR(torchinit::c_map(relu, sigma_w2, 0.0, q, 0.5), expected, 1e-15);
    }
  }
}

// ---- the ReLU/He closed case ------------------------------------------------------------------

TEST(MeanFieldRelu, HeInitKeepsTheVarianceConstant) {
  const auto q = torchinit::q_sequence(activation("relu"), 2.0, 0.0, 1.7, 50);
  for (double v : q) EXPECT_EQ(v, 1.7);
  EXPECT_EQ(torchinit::relu_q(2.0, 0.0, 1.7, 50), 1.7);
}

TEST(MeanFieldRelu, ClosedFormMatchesTheRecursion) {
  const auto relu = activation("relu");
  for (auto [w, b] : std::vector<std::pair<double, double>>{
           {1.0, 0.1}, {2.0, 0.1}, {2.5, 0.0}, {1.5, 0.3}, {0.5, 0.0}}) {
    const auto q = torchinit::q_sequence(relu, w, b, 0.8, 30);
    for (int l = 0; l <= 30; ++l) {
      EXPECT_NEAR(torchinit::relu_q(w, b, 0.8, l), q[l], 1e-12 * q[l])
          << "sigma_w2=" << w << " sigma_b2=" << b << " l=" << l;
    }
  }
  // Below criticality the fixed point is sigma_b2 / (1 - sigma_w2 / 2).
  EXPECT_NEAR(torchinit::q_star(relu, 1.5, 0.1), 0.4, 1e-13);
}

// ---- fixed points -----------------------------------------------------------------------------

TEST(MeanFieldFixedPoint, IsAFixedPointOfTheMap) {
  for (auto [spec, w, b] :
       std::vector<std::tuple<const char*, double, double>>{{"tanh", 1.5, 0.05},
                                                            {"tanh", 4.0, 0.3},
                                                            {"elu", 1.5, 0.1},
                                                            {"selu", 1.0, 0.0},
                                                            {"gelu", 1.5, 0.1},
                                                            {"sigmoid", 1.0, 0.0},
                                                            {"leaky_relu(0.2)", 1.8, 0.2}}) {
    const auto a = activation(spec);
    const auto fp = torchinit::q_fixed_point(a, w, b);
    ASSERT_TRUE(fp.converged) << spec << ": " << fp.message;
    EXPECT_TRUE(fp.stable) << spec << ": slope " << fp.slope;
    EXPECT_LT(fp.slope, 1) << spec;
    EXPECT_NEAR(torchinit::q_map(a, w, b, fp.value), fp.value, 1e-12 * std::max(1.0, fp.value))
        << spec;
    EXPECT_LT(fp.iterations, 200) << spec;
  }
  // SELU's self-normalizing fixed point (Klambauer et al. 2017): q* = 1 with sigma_w2 = 1.
  EXPECT_NEAR(torchinit::q_star(activation("selu"), 1.0, 0.0), 1.0, 1e-8);
}

// At sigma_w2 = 1 tanh's q-map is tangent to the diagonal at 0 (q^l ~ 1/(2l)): plain iteration
// would need ~1e14 layers; the fixed point is exactly 0.
TEST(MeanFieldFixedPoint, TangentialFixedPointIsReached) {
  const auto fp = torchinit::q_fixed_point(activation("tanh"), 1.0, 0.0);
  ASSERT_TRUE(fp.converged) << fp.message;
  EXPECT_EQ(fp.value, 0);
  EXPECT_LT(fp.iterations, 500);
}

TEST(MeanFieldFixedPoint, DivergenceIsFlagged) {
  const auto relu = activation("relu");
  // Geometric growth: relu with sigma_w2 > 2.
  auto fp = torchinit::q_fixed_point(relu, 3.0, 0.0);
  EXPECT_FALSE(fp.converged);
  EXPECT_FALSE(fp.stable);
  EXPECT_THAT(fp.message, HasSubstr("diverges"));
  std::string msg = error_of([&] { torchinit::q_star(relu, 3.0, 0.0); });
  EXPECT_THAT(msg, HasSubstr("torchinit::q_star: no fixed point of the q-map from q0 = 1 (relu, "
                             "sigma_w2 = 3, sigma_b2 = 0)"));
  EXPECT_THAT(msg, HasSubstr("lower sigma_w2"));
  // Linear growth: relu with sigma_w2 = 2 and a bias.
  fp = torchinit::q_fixed_point(relu, 2.0, 0.1, 1.0, 1000);
  EXPECT_FALSE(fp.converged);
  EXPECT_THAT(fp.message, HasSubstr("did not converge after"));
  EXPECT_THAT(error_of([&] { torchinit::chi1(relu, 2.0, 0.1); }),
              HasSubstr("torchinit::chi1: no fixed point"));
  // Started on an unstable fixed point: converged, but flagged.
  fp = torchinit::q_fixed_point(relu, 3.0, 0.0, 0.0);
  EXPECT_TRUE(fp.converged);
  EXPECT_EQ(fp.value, 0);
  EXPECT_FALSE(fp.stable);
  EXPECT_THAT(fp.message, HasSubstr("unstable fixed point"));
}

// ---- correlations and the phase diagram -------------------------------------------------------

TEST(MeanFieldPhase, ReluHeIsCritical) {
  const auto m = torchinit::mean_field(activation("relu"), 2.0, 0.0);
  EXPECT_EQ(m.q_star, 1.0);  // every q is fixed; from q0 = 1
  EXPECT_EQ(m.chi1, 1.0);
  EXPECT_EQ(m.c_star, 1.0);
  EXPECT_EQ(m.chi_c, 1.0);
  EXPECT_EQ(m.depth_scale, std::numeric_limits<double>::infinity());
  EXPECT_EQ(m.phase, "critical");
}

TEST(MeanFieldPhase, TanhChaoticWithoutBiasDecorrelates) {
  const auto tanh = activation("tanh");
  const auto m = torchinit::mean_field(tanh, 2.0, 0.0);
  EXPECT_EQ(m.phase, "chaotic");
  EXPECT_NEAR(m.c_star, 0, 1e-12);  // odd phi, no bias
  EXPECT_LT(m.chi_c, 1);
  EXPECT_GT(m.depth_scale, 0);
  EXPECT_TRUE(std::isfinite(m.depth_scale));
  EXPECT_DOUBLE_EQ(m.depth_scale, -1 / std::log(m.chi_c));
  EXPECT_DOUBLE_EQ(torchinit::c_star(tanh, 2.0, 0.0), m.c_star);
  EXPECT_DOUBLE_EQ(torchinit::chi_c(tanh, 2.0, 0.0), m.chi_c);
  EXPECT_DOUBLE_EQ(torchinit::depth_scale(tanh, 2.0, 0.0), m.depth_scale);
}

TEST(MeanFieldPhase, TanhOrderedConvergesToOne) {
  const auto m = torchinit::mean_field(activation("tanh"), 1.5, 0.05);
  EXPECT_EQ(m.phase, "ordered");
  EXPECT_LT(m.chi1, 1);
  EXPECT_EQ(m.c_star, 1.0);
  EXPECT_NEAR(m.chi_c, m.chi1, 1e-11);  // chi_c at c* = 1 is chi1
  EXPECT_NEAR(m.depth_scale, -1 / std::log(m.chi1), 1e-8);
}

// In the chaotic phase with a bias, c* lies inside (0, 1); chi_c is the slope of the c-map there
// and the rate at which correlations approach it, so xi_c is the depth scale of that approach.
TEST(MeanFieldPhase, ChaoticFixedPointAndItsDepthScale) {
  const auto tanh = activation("tanh");
  const double w = 2.0, b = 0.05;
  const auto m = torchinit::mean_field(tanh, w, b);
  EXPECT_EQ(m.phase, "chaotic");
  ASSERT_GT(m.c_star, 0.1);
  ASSERT_LT(m.c_star, 0.99);
  EXPECT_NEAR(torchinit::c_map(tanh, w, b, m.q_star, m.c_star), m.c_star, 1e-12);
  const double h = 1e-5;
  const double slope = (torchinit::c_map(tanh, w, b, m.q_star, m.c_star + h) -
                        torchinit::c_map(tanh, w, b, m.q_star, m.c_star - h)) /
                       (2 * h);
  EXPECT_NEAR(slope, m.chi_c, 1e-7);
  // |c^l - c*| shrinks by chi_c per layer near c*.
  const auto c = torchinit::c_sequence(tanh, w, b, m.q_star, m.c_star + 1e-3, 3);
  EXPECT_NEAR((c[3] - m.c_star) / (c[2] - m.c_star), m.chi_c, 1e-3);
}

TEST(MeanFieldPhase, CorrelationsOfAVanishingSignalAreAnError) {
  EXPECT_THAT(error_of([] { torchinit::c_star(activation("tanh"), 1.0, 0.0); }),
              HasSubstr("torchinit::c_star: q* = 0 (tanh, sigma_w2 = 1, sigma_b2 = 0): the "
                        "signal vanishes, so correlations are undefined; use sigma_b2 > 0"));
}

// ---- argument errors --------------------------------------------------------------------------

TEST(MeanFieldErrors, ArgumentsAreChecked) {
  const auto relu = activation("relu");
  EXPECT_THAT(error_of([&] { torchinit::q_map(relu, -1, 0, 1); }),
              HasSubstr("torchinit::q_map: sigma_w2 (fan_in * Var(w), e.g. 2 for He init with "
                        "relu) must be finite and > 0, got -1"));
  EXPECT_THAT(error_of([&] { torchinit::q_star(relu, 2, NAN); }),
              HasSubstr("torchinit::q_star: sigma_b2 (the bias variance; 0 without biases) must "
                        "be finite and >= 0, got nan"));
  EXPECT_THAT(error_of([&] { torchinit::q_map(relu, 2, 0, -0.5); }),
              HasSubstr("torchinit::q_map: q (a pre-activation variance) must be finite and >= 0, "
                        "got -0.5"));
  EXPECT_THAT(error_of([&] { torchinit::q_sequence(relu, 2, 0, 1, -1); }),
              HasSubstr("torchinit::q_sequence: depth must be >= 0, got -1"));
  EXPECT_THAT(error_of([&] { torchinit::c_map(relu, 2, 0, 1, 1.5); }),
              HasSubstr("torchinit::c_map: c (a correlation) must be in [-1, 1], got 1.5"));
  EXPECT_THAT(error_of([&] { torchinit::c_map(relu, 2, 0, 0, 0.5); }),
              HasSubstr("torchinit::c_map: q (the variance of each input's pre-activation) must "
                        "be finite and > 0, got 0"));
  EXPECT_THAT(error_of([&] { torchinit::c_sequence(relu, 2, 0, 1, -2, 3); }),
              HasSubstr("torchinit::c_sequence: c0 (a correlation) must be in [-1, 1], got -2"));
  EXPECT_THAT(error_of([&] { torchinit::relu_q(2, 0, 1, -3); }),
              HasSubstr("torchinit::relu_q: depth must be >= 0, got -3"));
  EXPECT_THAT(error_of([&] { torchinit::q_fixed_point(relu, 1, 0, 1, 0); }),
              HasSubstr("torchinit::q_fixed_point: max_evaluations must be > 0, got 0"));
}

}  // namespace
