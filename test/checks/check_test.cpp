// check(tensor, theory): which statistics each family gets, that correct initializations pass at
// the default alpha (1e-6) in every dtype and layout, that wrong ones fail with a summary that
// says why in numbers, that tiny samples are inconclusive rather than passing, the moments
// against a two-pass reference (and their independence of the thread count), and bad input.
//
// Conventions: fixed seeds; every statistical verdict here is the library's own at the stated
// alpha (default 1e-6 per check); the wrong initializations are wrong by construction (exact
// families) or by margins that the check's own thresholds, printed in the failure, exceed many
// times over.
#include "torchinit/check.h"

#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros.h>
#include <c10/util/Exception.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "torchinit/distribution.h"
#include "torchinit/init.h"
#include "torchinit/stats.h"

namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using torchinit::check;
using torchinit::CheckOptions;
using torchinit::CheckResult;
using torchinit::Distribution;
using torchinit::InitOptions;
using Shape = std::vector<int64_t>;

at::Tensor check_tensor(const Shape& shape, const std::string& spec, uint64_t seed,
                        at::ScalarType dtype = at::kFloat) {
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  torchinit::init_(t, spec, InitOptions().seed(seed).key("w"));
  return t;
}

// The names of a result's statistics, in order.
std::vector<std::string> names(const CheckResult& r) {
  std::vector<std::string> out;
  for (const auto& s : r.statistics()) out.push_back(s.name);
  return out;
}

// The c10::Error message of `fn`, or "" with a failure when it does not throw one.
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  ADD_FAILURE() << "expected c10::Error";
  return "";
}

// ---------------------------------------------------------------------------------------------
// Which statistics each family gets

TEST(CheckStatistics, ContinuousFamiliesGetMomentsAndShapeTests) {
  const std::vector<std::string> expected = {"mean", "variance", "ks", "anderson_darling"};
  for (const std::string spec :
       {"uniform(a=-1, b=1)", "normal(std=0.02)", "trunc_normal(std=0.02, a=-0.04, b=0.04)"}) {
    SCOPED_TRACE(spec);
    const CheckResult r = check(check_tensor({256, 256}, spec, 11), spec);
    EXPECT_EQ(names(r), expected);
    EXPECT_TRUE(r.passed()) << r.summary();
    // The check's alpha is shared by Bonferroni: the statistics' alphas add up to it.
    double total = 0;
    for (const auto& s : r.statistics()) total += s.alpha;
    EXPECT_NEAR(total, r.alpha(), 1e-15);
    EXPECT_EQ(r.alpha(), 1e-6);
    EXPECT_EQ(r.n(), 256 * 256);
  }
}

TEST(CheckStatistics, OrthogonalGetsOrthogonalityDiagSignAndKs) {
  const CheckResult r =
      check(check_tensor({128, 256}, "orthogonal(gain=2)", 3), "orthogonal(gain=2)");
  EXPECT_EQ(names(r), (std::vector<std::string>{"orthogonality", "diag_sign", "ks"}));
  EXPECT_TRUE(r.passed()) << r.summary();
  const auto* o = r.find("orthogonality");
  ASSERT_NE(o, nullptr);
  EXPECT_TRUE(std::isnan(o->p_value));  // deterministic
  EXPECT_LE(o->value, o->hi);
  const auto* sign = r.find("diag_sign");
  ASSERT_NE(sign, nullptr);
  EXPECT_GE(sign->value, sign->lo);
  EXPECT_LE(sign->value, sign->hi);
}

TEST(CheckStatistics, SparseGetsZerosPerColumnAndTheMarginalOfTheNonzeros) {
  const std::string spec = "sparse(sparsity=0.1, std=0.01)";
  const CheckResult r = check(check_tensor({200, 100}, spec, 5), spec);
  EXPECT_EQ(names(r), (std::vector<std::string>{"zeros_per_column", "mean", "variance", "ks",
                                                "anderson_darling"}));
  EXPECT_TRUE(r.passed()) << r.summary();
  EXPECT_EQ(r.find("zeros_per_column")->value, 0);  // no column is off
}

TEST(CheckStatistics, ExactFamiliesGetOneExactStatistic) {
  struct Case {
    std::string spec;
    Shape shape;
  };
  for (const Case& c : std::vector<Case>{{"constant(val=0.25)", {64, 32}},
                                         {"zeros", {7}},
                                         {"ones", {3, 4, 5}},
                                         {"eye", {48, 64}},
                                         {"eye", {64, 48}},
                                         {"dirac", {8, 4, 3, 3}},
                                         {"dirac(groups=2)", {8, 4, 5}}}) {
    SCOPED_TRACE(c.spec);
    const CheckResult r = check(check_tensor(c.shape, c.spec, 1), c.spec);
    ASSERT_EQ(names(r), std::vector<std::string>{"exact"});
    EXPECT_TRUE(r.passed()) << r.summary();
    EXPECT_FALSE(r.inconclusive());
    EXPECT_EQ(r.statistics()[0].value, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Correct initializations pass at the default alpha

TEST(CheckPasses, ManyShapesAndSpecs) {
  struct Case {
    std::string spec;
    Shape shape;
  };
  const std::vector<Case> cases = {
      {"uniform(a=-0.5, b=0.25)", {256, 256}},
      {"normal(mean=0.1, std=0.02)", {128, 256}},
      {"trunc_normal(std=1, a=-1.5, b=2.5)", {64, 32, 3, 3}},
      {"xavier_uniform(gain=relu)", {512, 64}},
      {"xavier_normal", {64, 32, 3, 3}},
      {"kaiming_uniform(a=2.2360679)", {32, 16, 5, 5}},
      {"kaiming_normal(mode=fan_out, nonlinearity=relu)", {256, 128}},
      {"lecun_normal", {100, 300}},
      {"variance_scaling(scale=2, mode=fan_avg, distribution=truncated_normal)", {300, 100}},
      {"orthogonal", {256, 256}},
      {"orthogonal(gain=relu)", {300, 40}},
      {"orthogonal", {32, 16, 3, 3}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.spec);
    const at::Tensor t = check_tensor(c.shape, c.spec, 20240501);
    const CheckResult r = check(t, c.spec);
    EXPECT_TRUE(r.passed()) << r.summary();
    EXPECT_FALSE(r.rejected());
    // The spec overload is the Distribution overload with theory(spec, shape).
    const CheckResult by_theory = check(t, torchinit::theory(c.spec, t.sizes()));
    EXPECT_EQ(by_theory.summary(), r.summary());
  }
}

TEST(CheckPasses, EveryFloatingDtype) {
  // Symmetric around 0: a half type's relative rounding then moves the CDF far less than the
  // KS distance at alpha/4 (which is about 2.8/sqrt(n) = 0.011 here). Uniform in bfloat16 has
  // its own test below (BFloat16UniformAtTheSupportEnds).
  for (const std::string spec :
       {"uniform(a=-1, b=1)", "normal(std=0.05)", "trunc_normal(std=0.1, a=-0.2, b=0.2)",
        "kaiming_uniform(nonlinearity=relu)"}) {
    for (const auto dtype : {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16}) {
      if (dtype == at::kBFloat16 && spec.find("uniform") != std::string::npos) continue;
      SCOPED_TRACE(spec + " " + std::string(c10::toString(dtype)));
      const at::Tensor t = check_tensor({256, 256}, spec, 77, dtype);
      ASSERT_EQ(t.scalar_type(), dtype);
      const CheckResult r = check(t, spec);
      EXPECT_TRUE(r.passed()) << r.summary();
    }
  }
  // Exact families compare with the value as the dtype stores it (0.1 is not a float16).
  for (const auto dtype : {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16}) {
    SCOPED_TRACE(c10::toString(dtype));
    EXPECT_TRUE(
        check(check_tensor({16, 16}, "constant(val=0.1)", 1, dtype), "constant(val=0.1)").passed());
    EXPECT_TRUE(check(check_tensor({16, 16}, "eye", 1, dtype), "eye").passed());
  }
  // Orthogonality's tolerance grows with the dtype's epsilon.
  for (const auto dtype : {at::kDouble, at::kHalf, at::kBFloat16}) {
    SCOPED_TRACE(c10::toString(dtype));
    const CheckResult r = check(check_tensor({128, 128}, "orthogonal", 9, dtype), "orthogonal");
    EXPECT_TRUE(r.passed()) << r.summary();
  }
}

// Library finding: a correct bfloat16 uniform init is rejected at the default alpha. Rounding
// to 8 significant bits puts the values within half a rounding step of the support's ends on
// or beyond them (U(-1, 1): 68 values exactly at -1, 64 at 1; a kaiming bound such as 0.153093
// is not a bfloat16, so values round past it). There the CDF is 0 or 1, which the
// Anderson–Darling statistic clamps to 1e-300 (ln = -690) or 1 - 2^-53 (ln = -37), so each such
// value adds up to (2i-1) 690 / n to A^2: A^2 = 50.9 (p = 1e-23) and 41.5 (p = 1e-19) for the
// tensors below, while KS, mean and variance accept. float16's finer rounding leaves few values
// on the ends (A^2 = 1.4, accepted).
TEST(CheckPasses, BFloat16UniformAtTheSupportEnds) {
  for (const std::string spec : {"uniform(a=-1, b=1)", "kaiming_uniform(nonlinearity=relu)"}) {
    SCOPED_TRACE(spec);
    const at::Tensor t = check_tensor({256, 256}, spec, 77, at::kBFloat16);
    const Distribution d = torchinit::theory(spec, t.sizes());
    // The cause: values on or past the ends of the support, where F is 0 or 1.
    const at::Tensor f = t.to(at::kDouble);
    const int64_t at_a = f.le(d.param("a")).sum().item<int64_t>();
    const int64_t at_b = f.ge(d.param("b")).sum().item<int64_t>();
    EXPECT_GT(at_a + at_b, 0);
    const CheckResult r = check(t, spec);
    EXPECT_TRUE(r.find("ks")->passed) << r.summary();
    EXPECT_TRUE(r.find("variance")->passed) << r.summary();
    EXPECT_TRUE(r.passed()) << at_a << " values <= a, " << at_b << " >= b: " << r.summary();
  }
}

TEST(CheckPasses, NonContiguousInput) {
  // Every other column of a [256, 512] buffer, and a transposed view.
  at::Tensor buffer = at::zeros({256, 512});
  at::Tensor strided = buffer.slice(1, 0, 512, 2);
  ASSERT_FALSE(strided.is_contiguous());
  torchinit::init_(strided, "normal(std=0.3)", InitOptions().seed(4).key("strided"));
  CheckResult r = check(strided, "normal(std=0.3)");
  EXPECT_TRUE(r.passed()) << r.summary();
  // The untouched columns stay zero, so checking the buffer must fail: the check reads the view.
  EXPECT_TRUE(check(buffer, "normal(std=0.3)").rejected());

  const at::Tensor t = check_tensor({128, 512}, "xavier_uniform", 8).t();
  ASSERT_FALSE(t.is_contiguous());
  r = check(t, "xavier_uniform");  // fans swap, 2/(fan_in + fan_out) does not change
  EXPECT_TRUE(r.passed()) << r.summary();

  // A strided eye: the exact check reads logical positions, not storage order.
  at::Tensor eye_buffer = at::zeros({64, 128});
  at::Tensor eye_view = eye_buffer.slice(1, 0, 128, 2);
  torchinit::init_(eye_view, "eye");
  EXPECT_TRUE(check(eye_view, "eye").passed());
  EXPECT_TRUE(check(eye_view.t(), Distribution::eye(64, 64)).passed());
}

// ---------------------------------------------------------------------------------------------
// Wrong initializations fail, with numbers

TEST(CheckFails, WrongConstant) {
  const at::Tensor t = at::full({32, 32}, 0.5);
  const CheckResult r = check(t, "constant(val=0.25)");
  EXPECT_TRUE(r.rejected());
  EXPECT_FALSE(r.passed());
  EXPECT_FALSE(r.inconclusive());
  EXPECT_EQ(r.find("exact")->value, 1024);
  EXPECT_THAT(r.summary(), StartsWith("FAIL"));
  EXPECT_THAT(r.summary(), HasSubstr("1024 of 1024 elements differ from the constant 0.25"));
}

TEST(CheckFails, PerturbedEye) {
  at::Tensor t = check_tensor({64, 64}, "eye", 0);
  t[3][3] = 0.999;
  t[10][20] = 1e-7;
  const CheckResult r = check(t, "eye");
  EXPECT_TRUE(r.rejected());
  EXPECT_EQ(r.find("exact")->value, 2);
  EXPECT_THAT(r.summary(), HasSubstr("2 of 4096 elements differ from the identity"));
}

TEST(CheckFails, DiracWithOneTapMoved) {
  at::Tensor t = check_tensor({8, 4, 3, 3}, "dirac", 0);
  ASSERT_EQ(t[2][2][1][1].item<float>(), 1.0f);
  t[2][2][1][1] = 0;
  t[2][2][0][1] = 1;
  const CheckResult r = check(t, "dirac");
  EXPECT_TRUE(r.rejected());
  EXPECT_EQ(r.find("exact")->value, 2);
  EXPECT_THAT(r.summary(), HasSubstr("differ from the dirac delta"));
}

TEST(CheckFails, SparseWithOneColumnChanged) {
  const std::string spec = "sparse(sparsity=0.1, std=0.01)";  // 20 zeros in each of 100 columns
  at::Tensor t = check_tensor({200, 100}, spec, 5);
  ASSERT_TRUE(check(t, spec).passed());
  t.select(1, 37).fill_(0.01);  // column 37 now has no zeros at all
  const CheckResult r = check(t, spec);
  EXPECT_TRUE(r.rejected());
  const auto* z = r.find("zeros_per_column");
  ASSERT_NE(z, nullptr);
  EXPECT_FALSE(z->passed);
  EXPECT_EQ(z->value, 1);
  EXPECT_THAT(r.summary(), HasSubstr("1 of 100 columns do not have exactly 20 zeros"));

  // One zero too many in one column is caught as well.
  at::Tensor u = check_tensor({200, 100}, spec, 6);
  at::Tensor col = u.select(1, 0);
  const int64_t row = col.ne(0).nonzero()[0][0].item<int64_t>();
  col[row] = 0;
  EXPECT_EQ(check(u, spec).find("zeros_per_column")->value, 1);
}

TEST(CheckFails, ChronoWithInputGateNotMinusForget) {
  const std::string spec = "chrono(t_max=10)";
  at::Tensor t = check_tensor({400}, spec, 3);  // gates i, f, g, o of 100 each
  ASSERT_FALSE(check(t, spec).rejected());      // (100 draws of gate f: inconclusive)
  t[7] = t[7].item<float>() + 0.5f;             // input gate element 7 is no longer -f[7]
  t[250] = 1e-3;                                // and one element of gate g is not 0
  const CheckResult r = check(t, spec);
  EXPECT_TRUE(r.rejected());
  EXPECT_EQ(r.find("gate_i_is_minus_f")->value, 1);
  EXPECT_EQ(r.find("gates_g_o_zero")->value, 1);
  EXPECT_THAT(r.summary(), HasSubstr("gate_i_is_minus_f: 1 of 100 elements differ from -f"));
}

TEST(CheckFails, DeltaOrthogonalWithAnOffCenterTap) {
  const std::string spec = "delta_orthogonal";
  at::Tensor t = check_tensor({16, 8, 3, 3}, spec, 4);
  ASSERT_TRUE(check(t, spec).passed());
  t[2][3][0][0] = 0.1;  // off the center tap
  const CheckResult r = check(t, spec);
  EXPECT_TRUE(r.rejected());
  EXPECT_EQ(r.find("off_center_zero")->value, 1);
  EXPECT_TRUE(r.find("orthogonality")->passed);  // the center tap is untouched
  EXPECT_THAT(r.summary(), HasSubstr("1 of 1024 elements differ from 0 off the center tap"));

  // A perturbed center tap fails orthogonality.
  at::Tensor u = check_tensor({16, 8, 3, 3}, spec, 4);
  u[2][3][1][1] = u[2][3][1][1].item<float>() + 0.01f;
  EXPECT_FALSE(check(u, spec).find("orthogonality")->passed);
}

TEST(CheckFails, ForgetGateBiasWithAWrongGate) {
  const std::string spec = "forget_gate_bias(value=1)";
  at::Tensor t = check_tensor({32}, spec, 0);
  ASSERT_TRUE(check(t, spec).passed());
  t[0] = 1;  // input gate, should be 0
  const CheckResult r = check(t, spec);
  EXPECT_TRUE(r.rejected());
  EXPECT_EQ(r.find("exact")->value, 1);
  EXPECT_THAT(r.summary(), HasSubstr("1 of 32 elements differ from"));
}

// sparse with every entry of a column zero (ceil(sparsity · rows) = rows) used to throw "cannot
// check sparse exactly": its theory is all zeros, and the exact path dispatched on the family name.
TEST(CheckPasses, SparseWithOnlyZeros) {
  const std::string spec = "sparse(sparsity=0.5)";  // one row: ceil(0.5) = 1 zero per column
  at::Tensor t = check_tensor({1, 50}, spec, 2);
  const CheckResult r = check(t, spec);
  EXPECT_TRUE(r.passed()) << r.summary();
  EXPECT_EQ(names(r), (std::vector<std::string>{"zeros_per_column"}));
  t[0][3] = 0.5;
  EXPECT_EQ(check(t, spec).find("zeros_per_column")->value, 1);
}

// The check follows the theory's typed structure, not its family name: a user's mixture named
// "sparse" promises its marginal only and gets the mixture's moment tests.
TEST(CheckStatistics, AMixtureNamedLikeAStructuredFamilyGetsMomentsOnly) {
  const Distribution d = Distribution::mixture(
      {{0.5, Distribution::normal(0, 1)}, {0.5, Distribution::normal(0, 2)}}, "sparse");
  const CheckResult r = check(check_tensor({64, 64}, "normal(std=1.5811388)", 1), d);
  EXPECT_EQ(names(r), (std::vector<std::string>{"mean", "variance"}));
  EXPECT_TRUE(r.passed()) << r.summary();
}

TEST(CheckFails, NanMakesTheFiniteStatisticFail) {
  for (const auto dtype : {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16}) {
    SCOPED_TRACE(c10::toString(dtype));
    at::Tensor t = check_tensor({128, 128}, "normal(std=0.02)", 3, dtype);
    t[5][7] = std::numeric_limits<double>::quiet_NaN();
    t[100][1] = std::numeric_limits<double>::infinity();
    const CheckResult r = check(t, "normal(std=0.02)");
    EXPECT_TRUE(r.rejected());
    ASSERT_EQ(names(r), std::vector<std::string>{"finite"});
    EXPECT_EQ(r.find("finite")->value, 2);
    EXPECT_THAT(r.summary(), HasSubstr("2 of 16384 elements"));
  }
  // Even for a theory that is checked exactly, and for orthogonal.
  at::Tensor z = at::zeros({16, 16});
  z[0][0] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(names(check(z, "zeros")), std::vector<std::string>{"finite"});
  at::Tensor q = check_tensor({64, 64}, "orthogonal", 2);
  q[1][2] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(check(q, "orthogonal").rejected());
}

TEST(CheckFails, WrongScaleFailsTheVarianceStatistic) {
  // Twice the promised std: s^2 / sigma^2 = 4, hundreds of standard errors away.
  const at::Tensor t = check_tensor({256, 256}, "normal(std=0.04)", 12);
  const CheckResult r = check(t, "normal(std=0.02)");
  EXPECT_TRUE(r.rejected());
  const auto* v = r.find("variance");
  ASSERT_NE(v, nullptr);
  EXPECT_FALSE(v->passed);
  EXPECT_GT(v->value, v->hi);
  EXPECT_LT(v->p_value, v->alpha);
  EXPECT_NEAR(v->value, 0.0016, 0.0016 * 0.05);
  // "variance 0.0016… outside [0.000399…, 0.000400…] (z=…, n=65536, alpha=2.5e-07)"
  EXPECT_THAT(r.summary(), ContainsRegex("variance 0\\.0016[0-9]* outside \\[0\\.000[0-9]+, "
                                         "0\\.000[0-9]+\\] \\(z=[0-9.e+]+, n=65536, "
                                         "alpha=2\\.5e-07\\)"));
  EXPECT_THAT(r.summary(), StartsWith("FAIL normal(mean=0, std=0.02) n=65536 alpha=1e-06"));
}

TEST(CheckFails, ShiftedMeanFailsTheMeanStatistic) {
  const at::Tensor t = check_tensor({256, 256}, "normal(mean=0.001, std=0.02)", 13);
  const CheckResult r = check(t, "normal(std=0.02)");
  // 0.001 / (0.02 / 256) = 12.8 standard errors; the critical z at 2.5e-7 is about 5.16.
  EXPECT_FALSE(r.find("mean")->passed) << r.summary();
  EXPECT_THAT(r.summary(), ContainsRegex("mean 0\\.00[0-9]+ outside \\[-?[0-9.e-]+, [0-9.e-]+\\]"));
}

TEST(CheckFails, OrthogonalWithWrongGainFailsOrthogonality) {
  const at::Tensor t = check_tensor({64, 128}, "orthogonal(gain=1.01)", 1);
  const CheckResult r = check(t, "orthogonal");
  EXPECT_TRUE(r.rejected());
  const auto* o = r.find("orthogonality");
  EXPECT_FALSE(o->passed);
  EXPECT_NEAR(o->value, 1.01 * 1.01 - 1, 1e-4);
  EXPECT_THAT(r.summary(), ContainsRegex("orthogonality max\\|W W\\^T/gain\\^2 - I\\| = "
                                         "0\\.0201 > [0-9.e-]+"));
}

// ---------------------------------------------------------------------------------------------
// Inconclusive at small n

TEST(CheckInconclusive, FiftyUniformElements) {
  const at::Tensor t = check_tensor({50}, "uniform(a=-1, b=1)", 1);
  const CheckResult r = check(t, "uniform(a=-1, b=1)");
  EXPECT_TRUE(r.inconclusive());
  EXPECT_FALSE(r.passed());
  EXPECT_FALSE(r.rejected());
  EXPECT_THAT(r.summary(), StartsWith("INCONCLUSIVE uniform(a=-1, b=1) n=50 alpha=1e-06"));
  EXPECT_THAT(r.summary(), HasSubstr("n=50 cannot detect a 10% variance error with power 0.99"));
  EXPECT_THAT(r.json(), HasSubstr("\"inconclusive\":true"));
  // A wrong tensor is still rejected at small n when the evidence is there.
  EXPECT_TRUE(check(at::full({50}, 3.0), "uniform(a=-1, b=1)").rejected());
}

TEST(CheckInconclusive, ThePowerThresholdFollowsTheTheory) {
  // Uniform: Var(s^2) ~ (mu4 - sigma^4) / n = 0.8 sigma^4 / n; the check is conclusive when
  // 0.1 sigma^2 >= (z(alpha/4) + z(power)) sqrt(0.8 / n) sigma^2 (normal quantiles, two-sided
  // for alpha and one-sided for the power).
  const double z = torchinit::stats::normal_quantile_two_sided(1e-6 / 4) +
                   torchinit::stats::normal_quantile_two_sided(2 * (1 - 0.99));
  const double n_needed = 0.8 * (z / 0.1) * (z / 0.1);  // ~4600
  const int64_t below = int64_t(n_needed * 0.9), above = int64_t(n_needed * 1.1);
  EXPECT_TRUE(check(check_tensor({below}, "uniform", 2), "uniform").inconclusive());
  const CheckResult r = check(check_tensor({above}, "uniform", 2), "uniform");
  EXPECT_TRUE(r.passed()) << r.summary();
  // A looser power requirement makes the small sample conclusive.
  EXPECT_TRUE(check(check_tensor({below}, "uniform", 2), "uniform",
                    CheckOptions().detectable_variance_error(0.2))
                  .passed());
}

TEST(CheckInconclusive, ExactFamiliesAreNeverInconclusive) {
  EXPECT_TRUE(check(at::zeros({1}), "zeros").passed());
  EXPECT_TRUE(check(check_tensor({2, 2}, "eye", 0), "eye").passed());
}

// ---------------------------------------------------------------------------------------------
// summary() and json()

TEST(CheckReport, SummaryCarriesEveryStatisticsNumbers) {
  const CheckResult r = check(check_tensor({128, 128}, "normal(std=0.5)", 1), "normal(std=0.5)");
  ASSERT_TRUE(r.passed()) << r.summary();
  const std::string s = r.summary();
  EXPECT_THAT(s, StartsWith("PASS normal(mean=0, std=0.5) n=16384 alpha=1e-06"));
  EXPECT_EQ(s.find('\n'), std::string::npos);  // one line
  for (const auto& st : r.statistics()) {
    EXPECT_THAT(s, HasSubstr(st.detail));
    EXPECT_THAT(st.detail, ContainsRegex("[0-9]"));
  }
  EXPECT_THAT(s, ContainsRegex("variance 0\\.2[0-9]+ in \\[0\\.2[0-9]+, 0\\.2[0-9]+\\]"));
  EXPECT_THAT(s, ContainsRegex("ks D=[0-9.e-]+ p=[0-9.e-]+ \\(>= alpha=2\\.5e-07, n=16384\\)"));
  EXPECT_THAT(s, HasSubstr("anderson_darling A2="));
}

TEST(CheckReport, JsonHasVerdictAndStatistics) {
  const CheckResult ok = check(check_tensor({128, 128}, "uniform", 1), "uniform");
  const std::string j = ok.json();
  EXPECT_EQ(j.front(), '{');
  EXPECT_EQ(j.back(), '}');
  EXPECT_THAT(j, HasSubstr("\"passed\":true"));
  EXPECT_THAT(j, HasSubstr("\"inconclusive\":false"));
  EXPECT_THAT(j, HasSubstr("\"n\":16384"));
  EXPECT_THAT(j, HasSubstr("\"statistics\":["));
  for (const std::string name : {"mean", "variance", "ks", "anderson_darling"})
    EXPECT_THAT(j, HasSubstr("\"name\":\"" + name + "\""));
  // Brackets balance (outside strings, which hold none here).
  EXPECT_EQ(std::count(j.begin(), j.end(), '{'), std::count(j.begin(), j.end(), '}'));
  EXPECT_EQ(std::count(j.begin(), j.end(), '['), std::count(j.begin(), j.end(), ']'));

  // NaN (no p-value, no bounds) is written as null, not as an invalid token.
  const CheckResult exact = check(at::full({4}, 2.0), "constant(val=1)");
  EXPECT_THAT(exact.json(), HasSubstr("\"passed\":false"));
  EXPECT_THAT(exact.json(), HasSubstr("\"p_value\":null"));
  EXPECT_THAT(exact.json(), Not(HasSubstr("NaN")));
  EXPECT_THAT(exact.json(), Not(HasSubstr("nan")));
}

// ---------------------------------------------------------------------------------------------
// tensor_moments

TEST(TensorMoments, EqualsATwoPassReferenceInDouble) {
  // 300,000 elements: several 65,536-element chunks and a partial one.
  for (const auto dtype : {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16}) {
    SCOPED_TRACE(c10::toString(dtype));
    const at::Tensor t = check_tensor({300000}, "normal(mean=3, std=0.5)", 21, dtype);
    const at::Tensor d = t.to(at::kDouble).contiguous();
    const double* x = d.data_ptr<double>();
    const int64_t n = d.numel();
    long double mean = 0;
    for (int64_t i = 0; i < n; ++i) mean += x[i];
    mean /= n;
    long double m2 = 0, m3 = 0, m4 = 0;
    for (int64_t i = 0; i < n; ++i) {
      const long double e = x[i] - mean;
      m2 += e * e;
      m3 += e * e * e;
      m4 += e * e * e * e;
    }
    const torchinit::stats::Moments m = torchinit::tensor_moments(t);
    // Rounding of ~1e6 double operations with |mean| / sigma = 6: well below 1e-11 relative.
    const double rel = 1e-11, sigma = std::sqrt(double(m2) / n);
    EXPECT_EQ(m.n, n);
    EXPECT_NEAR(m.mean, double(mean), rel * 3.0);
    EXPECT_NEAR(m.m2, double(m2), rel * double(m2));
    EXPECT_NEAR(m.m3, double(m3), rel * n * sigma * sigma * sigma);
    EXPECT_NEAR(m.m4, double(m4), rel * double(m4));
  }
}

TEST(TensorMoments, NonContiguousEqualsContiguous) {
  const at::Tensor t = check_tensor({600, 500}, "uniform(a=-2, b=3)", 22).t();
  ASSERT_FALSE(t.is_contiguous());
  const auto a = torchinit::tensor_moments(t), b = torchinit::tensor_moments(t.contiguous());
  EXPECT_EQ(a.n, b.n);
  EXPECT_EQ(a.mean, b.mean);
  EXPECT_EQ(a.m2, b.m2);
  EXPECT_EQ(a.m4, b.m4);
}

TEST(TensorMoments, IdenticalAtOneAndTwoThreads) {
  const at::Tensor t = check_tensor({1000003}, "normal(std=2)", 23);
  const int before = at::get_num_threads();
  at::set_num_threads(1);
  const auto one = torchinit::tensor_moments(t);
  const CheckResult r1 = check(t, "normal(std=2)");
  at::set_num_threads(2);
  const auto two = torchinit::tensor_moments(t);
  const CheckResult r2 = check(t, "normal(std=2)");
  at::set_num_threads(before);
  EXPECT_EQ(at::get_num_threads(), before);
  // Bitwise: the chunking and merge order do not depend on the thread count.
  EXPECT_EQ(one.n, two.n);
  EXPECT_EQ(one.mean, two.mean);
  EXPECT_EQ(one.m2, two.m2);
  EXPECT_EQ(one.m3, two.m3);
  EXPECT_EQ(one.m4, two.m4);
  EXPECT_EQ(r1.summary(), r2.summary());
}

// ---------------------------------------------------------------------------------------------
// Bad input

TEST(CheckErrors, ZeroElementTensors) {
  for (const Shape& shape : {Shape{0}, Shape{0, 5}, Shape{4, 0}}) {
    const at::Tensor t = at::empty(shape);
    EXPECT_THAT(error_of([&] { check(t, Distribution::normal(0, 1)); }),
                StartsWith("torchinit::check: needs a tensor with elements, got a zero-element"));
    EXPECT_THAT(error_of([&] { check(t, "normal"); }), HasSubstr("zero-element"));
  }
  EXPECT_THAT(error_of([&] { check(at::Tensor(), Distribution::normal(0, 1)); }),
              HasSubstr("undefined"));
  EXPECT_THAT(error_of([&] { check(at::Tensor(), "normal"); }), HasSubstr("undefined"));
}

TEST(CheckErrors, AlphaOutsideTheOpenUnitInterval) {
  const at::Tensor t = check_tensor({64, 64}, "normal", 1);
  for (const double alpha : {0.0, 1.0, -0.01, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    SCOPED_TRACE(alpha);
    EXPECT_THAT(error_of([&] { check(t, "normal", CheckOptions().alpha(alpha)); }),
                StartsWith("torchinit::check: alpha must be in (0, 1)"));
  }
  // The ends just inside are fine.
  EXPECT_NO_THROW(check(t, "normal", CheckOptions().alpha(1e-300)));
  EXPECT_NO_THROW(check(t, "normal", CheckOptions().alpha(0.999)));
}

// Every option is validated with its name, range and the value given (shape_sample(-1) used to
// throw std::length_error, power(1.5) a boost exception; detectable_variance_error(-0.1) passed).
TEST(CheckErrors, EveryOptionOutOfRangeIsNamed) {
  const at::Tensor t = check_tensor({64, 64}, "normal", 1);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Case {
    CheckOptions options;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {CheckOptions().shape_sample(-1), "shape_sample must be in [1, 2^31], got -1"},
      {CheckOptions().shape_sample(0), "shape_sample must be in [1, 2^31], got 0"},
      {CheckOptions().shape_sample(int64_t(1) << 40), "shape_sample must be in [1, 2^31]"},
      {CheckOptions().power(1.5), "power must be in [0.5, 1), got 1.5"},
      {CheckOptions().power(1), "power must be in [0.5, 1), got 1"},
      {CheckOptions().power(0.2), "power must be in [0.5, 1), got 0.2"},
      {CheckOptions().power(nan), "power must be in [0.5, 1), got nan"},
      {CheckOptions().detectable_variance_error(-0.1),
       "detectable_variance_error must be a finite number > 0, got -0.1"},
      {CheckOptions().detectable_variance_error(0), "detectable_variance_error must be"},
      {CheckOptions().detectable_variance_error(INFINITY), "detectable_variance_error must be"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.expected);
    EXPECT_THAT(error_of([&] { check(t, "normal", c.options); }),
                StartsWith("torchinit::check: " + c.expected));
    EXPECT_THAT(error_of([&] { check(t, Distribution::normal(0, 1), c.options); }),
                HasSubstr(c.expected));
    EXPECT_THAT(error_of([&] { check(t, "zeros", c.options); }), HasSubstr("CheckOptions::"));
  }
  // The edges inside the ranges work.
  EXPECT_NO_THROW(check(t, "normal", CheckOptions().shape_sample(1).power(0.5)));
  EXPECT_NO_THROW(check(t, "normal", CheckOptions().detectable_variance_error(1e-9)));
}

// A module check splits alpha over its parameters: alpha = 2 must not pass as 2/k.
TEST(CheckErrors, ModuleCheckValidatesTheOptionsBeforeSplittingAlpha) {
  torch::nn::Linear linear(16, 8);
  EXPECT_THAT(error_of([&] { check(*linear, "normal", CheckOptions().alpha(2)); }),
              StartsWith("torchinit::check: alpha must be in (0, 1), got 2"));
  EXPECT_THAT(error_of([&] { check(*linear, "normal", CheckOptions().power(2)); }),
              StartsWith("torchinit::check: power must be in [0.5, 1)"));
}

TEST(CheckErrors, IntegerTensors) {
  EXPECT_THAT(error_of([&] { check(at::zeros({4}, at::kLong), "zeros"); }),
              StartsWith("torchinit::check: needs a floating tensor"));
}

}  // namespace
