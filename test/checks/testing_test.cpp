// The GoogleTest helpers of torchinit::testing: MatchesTheory, HasVarianceNear, IsOrthogonal and
// the FollowsTheory matcher. Each succeeds on a correct tensor and fails on a wrong one, and the
// failures are tested as users see them (EXPECT_NONFATAL_FAILURE, a StringMatchResultListener):
// the numbers are there ("variance … outside […] (n=…, alpha=…)") and the tensor is not.
//
// Fixed seeds; every helper runs at its default alpha (1e-6) unless a test says otherwise; the
// wrong tensors are wrong by margins far beyond the thresholds printed in their messages.
//
// <ATen/core/Formatting.h> is what <torch/torch.h> gives a user: an operator<< that prints every
// element of a tensor. Including it here makes GoogleTest's value printer see what it sees in a
// user's suite, so the message-length tests below cover EXPECT_THAT's "Actual:" line too.
#include "torchinit/testing.h"

#include <ATen/core/Formatting.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/linalg_qr.h>
#include <ATen/ops/zeros.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <regex>
#include <string>
#include <vector>

#include "torchinit/check.h"
#include "torchinit/distribution.h"
#include "torchinit/init.h"
#include "torchinit/stats.h"

namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using torchinit::CheckOptions;
using torchinit::Distribution;
using torchinit::InitOptions;
using torchinit::test::FollowsTheory;
using torchinit::test::HasVarianceNear;
using torchinit::test::IsOrthogonal;
using torchinit::test::MatchesTheory;
using Shape = std::vector<int64_t>;

// No message may come near a tensor printout: a 256x256 tensor has 65,536 numbers.
constexpr size_t kMaxMessage = 2000;

at::Tensor testing_tensor(const Shape& shape, const std::string& spec, uint64_t seed,
                          at::ScalarType dtype = at::kFloat) {
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  torchinit::init_(t, spec, InitOptions().seed(seed).key("w"));
  return t;
}

// The messages of the failures that `fn` reports (fatal or not), intercepted.
template <typename Fn>
std::vector<std::string> failures_of(Fn&& fn) {
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    fn();
  }
  std::vector<std::string> out;
  for (int i = 0; i < results.size(); ++i) out.push_back(results.GetTestPartResult(i).message());
  return out;
}

// ---------------------------------------------------------------------------------------------
// MatchesTheory

TEST(MatchesTheory, SucceedsOnCorrectInits) {
  for (const std::string spec : {"xavier_uniform(gain=relu)", "kaiming_normal(mode=fan_out)",
                                 "trunc_normal(std=0.02, a=-0.04, b=0.04)", "orthogonal",
                                 "sparse(sparsity=0.1)", "eye", "zeros"}) {
    SCOPED_TRACE(spec);
    const at::Tensor t = testing_tensor({256, 256}, spec, 3);
    EXPECT_TRUE(MatchesTheory(t, spec));
    EXPECT_TRUE(MatchesTheory(t, torchinit::theory(spec, t.sizes())));
  }
  // The success message carries the summary, for EXPECT_FALSE users.
  const auto ok = MatchesTheory(testing_tensor({256, 256}, "normal", 1), "normal");
  ASSERT_TRUE(ok);
  EXPECT_THAT(ok.message(), StartsWith("tensor [256, 256] Float: PASS normal(mean=0, std=1)"));
}

TEST(MatchesTheory, FailureNamesTheStatisticWithNumbers) {
  const at::Tensor t =
      testing_tensor({256, 256}, "kaiming_uniform(nonlinearity=relu)", 5);  // var 2/256
  EXPECT_NONFATAL_FAILURE(EXPECT_TRUE(MatchesTheory(t, "xavier_uniform")),
                          "tensor [256, 256] Float: FAIL uniform(");
  EXPECT_NONFATAL_FAILURE(EXPECT_TRUE(MatchesTheory(t, "xavier_uniform")), " outside [");
  EXPECT_NONFATAL_FAILURE(EXPECT_TRUE(MatchesTheory(t, "xavier_uniform")),
                          "n=65536, alpha=2.5e-07)");

  const auto r = MatchesTheory(t, "xavier_uniform");
  ASSERT_FALSE(r);
  const std::string m = r.message();
  // "variance 0.0078… outside [0.00385…, 0.00395…] (z=…, n=65536, alpha=2.5e-07)"
  EXPECT_THAT(m,
              ContainsRegex("variance 0\\.007[0-9]+ outside \\[0\\.003[0-9]+, 0\\.00[34][0-9]+\\] "
                            "\\(z=[0-9.e+]+, n=65536, alpha=2\\.5e-07\\)"));
  EXPECT_THAT(m, HasSubstr("alpha=1e-06"));  // the check's alpha, next to each statistic's share
  EXPECT_LT(m.size(), kMaxMessage);
}

TEST(MatchesTheory, OptionsAreHonoured) {
  // The message reports the alpha given (and each statistic's Bonferroni share), not the default.
  const at::Tensor t = testing_tensor({256, 256}, "normal(std=0.3)", 2);
  const auto r = MatchesTheory(t, "normal(std=0.3)", CheckOptions().alpha(1e-3));
  EXPECT_THAT(r.message(), HasSubstr("alpha=0.001"));
  EXPECT_THAT(r.message(), HasSubstr("alpha=0.00025"));
}

TEST(MatchesTheory, InconclusiveFails) {
  const at::Tensor t = testing_tensor({50}, "uniform(a=-1, b=1)", 1);
  EXPECT_NONFATAL_FAILURE(EXPECT_TRUE(MatchesTheory(t, "uniform(a=-1, b=1)")),
                          "INCONCLUSIVE uniform(a=-1, b=1) n=50");
  EXPECT_NONFATAL_FAILURE(EXPECT_TRUE(MatchesTheory(t, "uniform(a=-1, b=1)")),
                          "n=50 cannot detect a 10% variance error");
}

TEST(MatchesTheory, ExactFamilyFailureCountsElements) {
  at::Tensor t = testing_tensor({64, 64}, "eye", 0);
  t[5][6] = 0.5;
  EXPECT_NONFATAL_FAILURE(EXPECT_TRUE(MatchesTheory(t, "eye")),
                          "exact: 1 of 4096 elements differ from the identity");
}

// ---------------------------------------------------------------------------------------------
// HasVarianceNear

TEST(HasVarianceNear, SucceedsAtTheTrueVariance) {
  EXPECT_TRUE(HasVarianceNear(testing_tensor({256, 256}, "normal(std=0.1)", 1), 0.01));
  EXPECT_TRUE(
      HasVarianceNear(testing_tensor({256, 256}, "uniform(a=-3, b=3)", 1), 3.0));  // (b-a)^2/12
  EXPECT_TRUE(HasVarianceNear(
      testing_tensor({128, 64, 3, 3}, "kaiming_normal(nonlinearity=relu)", 1), 2.0 / (64 * 9)));
  EXPECT_TRUE(
      HasVarianceNear(testing_tensor({256, 256}, "normal(std=0.1)", 1, at::kBFloat16), 0.01));
}

// The helpers validate their CheckOptions like check() (HasVarianceNear read alpha unchecked).
TEST(HasVarianceNear, InvalidOptionsAreErrors) {
  const at::Tensor t = testing_tensor({64, 64}, "normal(std=0.1)", 1);
  for (const auto& options :
       {torchinit::CheckOptions().alpha(2), torchinit::CheckOptions().power(1.5),
        torchinit::CheckOptions().shape_sample(-1)}) {
    std::string message;
    try {
      (void)HasVarianceNear(t, 0.01, options);
    } catch (const c10::Error& e) {
      message = e.what_without_backtrace();
    }
    EXPECT_THAT(message, ::testing::StartsWith("torchinit::test::HasVarianceNear: "));
    EXPECT_THAT(message, ::testing::HasSubstr("CheckOptions::"));
    message.clear();
    try {
      (void)MatchesTheory(t, "normal(std=0.1)", options);
    } catch (const c10::Error& e) {
      message = e.what_without_backtrace();
    }
    EXPECT_THAT(message, ::testing::HasSubstr("CheckOptions::"));
  }
}

TEST(HasVarianceNear, FailureMessageHasVarianceIntervalNAndAlpha) {
  const at::Tensor t = testing_tensor({256, 256}, "normal(std=0.1)", 4);  // variance 0.01
  const double s2 = torchinit::tensor_moments(t).sample_variance();
  // The observed variance as the helper prints it ({:.6g}), outside an interval around 0.0105.
  const std::string observed = fmt::format("variance {:.6g} outside [", s2);
  EXPECT_NONFATAL_FAILURE(EXPECT_TRUE(HasVarianceNear(t, 0.0105)), observed);
  EXPECT_NONFATAL_FAILURE(EXPECT_TRUE(HasVarianceNear(t, 0.0105)), "(n=65536, alpha=1e-06)");
  EXPECT_NONFATAL_FAILURE(EXPECT_TRUE(HasVarianceNear(t, 0.0105)), "tensor [256, 256] Float: ");

  // The interval is 0.0105 ± z(1e-6) sd(s^2) with sd(s^2) ~ s^2 sqrt(2/n) for normal data.
  const auto r = HasVarianceNear(t, 0.0105);
  ASSERT_FALSE(r);
  std::smatch m;
  const std::string msg = r.message();
  ASSERT_TRUE(std::regex_search(msg, m, std::regex("outside \\[([0-9.e-]+), ([0-9.e-]+)\\]")))
      << msg;
  const double lo = std::stod(m[1]), hi = std::stod(m[2]);
  const double z = torchinit::stats::normal_quantile_two_sided(1e-6);
  const double half = z * s2 * std::sqrt(2.0 / 65536);
  EXPECT_NEAR((lo + hi) / 2, 0.0105, 1e-8);
  EXPECT_NEAR((hi - lo) / 2, half, 0.05 * half);  // plug-in kurtosis: within a few %
  EXPECT_LT(s2, lo);
  EXPECT_LT(msg.size(), kMaxMessage);

  // Options reach the helper: a 5% error (about 9 standard errors) is outside at alpha = 0.5 too.
  EXPECT_NONFATAL_FAILURE(EXPECT_TRUE(HasVarianceNear(t, 0.0105, CheckOptions().alpha(0.5))),
                          "alpha=0.5)");
}

TEST(HasVarianceNear, TooFewElements) {
  EXPECT_NONFATAL_FAILURE(EXPECT_TRUE(HasVarianceNear(at::zeros({3}), 1.0)),
                          "3 elements cannot estimate a variance");
}

// ---------------------------------------------------------------------------------------------
// IsOrthogonal

TEST(IsOrthogonal, SucceedsOnOrthogonalInits) {
  EXPECT_TRUE(IsOrthogonal(testing_tensor({256, 256}, "orthogonal", 1)));
  EXPECT_TRUE(IsOrthogonal(testing_tensor({64, 256}, "orthogonal", 1)));
  EXPECT_TRUE(IsOrthogonal(testing_tensor({256, 64}, "orthogonal", 1)));
  EXPECT_TRUE(IsOrthogonal(testing_tensor({32, 16, 3, 3}, "orthogonal", 1)));
  EXPECT_TRUE(IsOrthogonal(testing_tensor({128, 128}, "orthogonal(gain=2)", 1), 2.0));
  EXPECT_TRUE(IsOrthogonal(testing_tensor({128, 128}, "orthogonal", 1, at::kDouble)));
  EXPECT_TRUE(IsOrthogonal(testing_tensor({128, 128}, "eye", 1)));
  // Orthogonality only: a QR without the Haar sign fix is orthogonal (check() rejects it).
  const at::Tensor a = testing_tensor({128, 128}, "normal", 9);
  EXPECT_TRUE(IsOrthogonal(std::get<0>(at::linalg_qr(a))));
}

TEST(IsOrthogonal, FailureCarriesTheErrorAndTheTolerance) {
  const at::Tensor t = testing_tensor({128, 128}, "orthogonal(gain=2)", 1);
  EXPECT_NONFATAL_FAILURE(EXPECT_TRUE(IsOrthogonal(t)),
                          "tensor [128, 128] Float: orthogonality max|W W^T/gain^2 - I| = 3 > ");
  const at::Tensor n = testing_tensor({128, 256}, "normal(std=0.0625)", 1);
  const auto r = IsOrthogonal(n);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.message(), ContainsRegex("max\\|W W\\^T/gain\\^2 - I\\| = [0-9.e-]+ > [0-9.e-]+"));
  EXPECT_LT(std::string(r.message()).size(), kMaxMessage);
  // Tall: W^T W.
  EXPECT_NONFATAL_FAILURE(EXPECT_TRUE(IsOrthogonal(testing_tensor({256, 64}, "normal", 1))),
                          "W^T W");
}

TEST(IsOrthogonal, RejectsOneDimensionalAndNonFinite) {
  EXPECT_NONFATAL_FAILURE(EXPECT_TRUE(IsOrthogonal(at::zeros({16}))),
                          "orthogonality needs a 2+-D tensor");
  at::Tensor t = testing_tensor({64, 64}, "orthogonal", 1);
  t[0][0] = std::nan("");
  EXPECT_NONFATAL_FAILURE(EXPECT_TRUE(IsOrthogonal(t)), "finite: 1 of 4096 elements");
}

// ---------------------------------------------------------------------------------------------
// FollowsTheory

TEST(FollowsTheory, MatchesCorrectInits) {
  EXPECT_THAT(testing_tensor({256, 256}, "xavier_uniform", 1), FollowsTheory("xavier_uniform"));
  EXPECT_THAT(testing_tensor({128, 64, 3, 3}, "kaiming_normal(mode=fan_out)", 1),
              FollowsTheory("kaiming_normal(mode=fan_out)"));
  EXPECT_THAT(testing_tensor({256, 256}, "kaiming_uniform", 1),
              Not(FollowsTheory("xavier_uniform(gain=0.5)")));
}

TEST(FollowsTheory, ExplainsAMismatchThroughTheListener) {
  const at::Tensor t = testing_tensor({256, 256}, "kaiming_uniform(nonlinearity=relu)", 6);
  const auto m = FollowsTheory("xavier_uniform");
  ::testing::StringMatchResultListener listener;
  EXPECT_FALSE(m.MatchAndExplain(t, &listener));
  EXPECT_THAT(listener.str(), StartsWith("FAIL uniform("));
  EXPECT_THAT(listener.str(), ContainsRegex("variance [0-9.e-]+ outside \\[[0-9.e-]+, [0-9.e-]+\\] "
                                            "\\(z=[0-9.e+]+, n=65536, alpha=2\\.5e-07\\)"));
  EXPECT_LT(listener.str().size(), kMaxMessage);

  EXPECT_EQ(::testing::DescribeMatcher<const at::Tensor&>(m),
            "follows the theory of xavier_uniform (alpha=1e-06)");
  EXPECT_EQ(::testing::DescribeMatcher<const at::Tensor&>(m, /*negation=*/true),
            "does not follow the theory of xavier_uniform");

  // A match explains itself too.
  ::testing::StringMatchResultListener ok;
  EXPECT_TRUE(FollowsTheory("kaiming_uniform(nonlinearity=relu)").MatchAndExplain(t, &ok));
  EXPECT_THAT(ok.str(), StartsWith("PASS "));
}

TEST(FollowsTheory, ExpectThatFailureCarriesTheExplanation) {
  const at::Tensor t = testing_tensor({256, 256}, "kaiming_uniform(nonlinearity=relu)", 6);
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(t, FollowsTheory("xavier_uniform")),
                          "Expected: follows the theory of xavier_uniform (alpha=1e-06)");
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(t, FollowsTheory("xavier_uniform")), "variance 0.00");
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(t, FollowsTheory("xavier_uniform")), " outside [");
  // Options reach the matcher.
  EXPECT_NONFATAL_FAILURE(
      EXPECT_THAT(t, FollowsTheory("xavier_uniform", CheckOptions().alpha(1e-3))), "(alpha=0.001)");
}

// ---------------------------------------------------------------------------------------------
// Never a tensor printout

TEST(Messages, StayShortForA256By256Tensor) {
  const at::Tensor t = testing_tensor({256, 256}, "kaiming_uniform(nonlinearity=relu)", 7);
  std::vector<std::string> messages;
  for (auto&& f : {
           failures_of([&] { EXPECT_TRUE(MatchesTheory(t, "xavier_uniform")); }),
           failures_of([&] { EXPECT_TRUE(MatchesTheory(t, Distribution::normal(0, 1))); }),
           failures_of([&] { EXPECT_TRUE(HasVarianceNear(t, 1.0)); }),
           failures_of([&] { EXPECT_TRUE(IsOrthogonal(t)); }),
           failures_of([&] { EXPECT_THAT(t, FollowsTheory("xavier_uniform")); }),
       }) {
    ASSERT_EQ(f.size(), 1u);
    messages.push_back(f[0]);
  }
  for (const auto& m : messages) {
    EXPECT_LT(m.size(), kMaxMessage) << m.substr(0, 1000) << " …";
    // A printout would hold thousands of numbers; a summary holds a few dozen.
    const std::regex decimal("[0-9]+\\.[0-9]+");
    std::sregex_iterator it(m.begin(), m.end(), decimal), end;
    EXPECT_LT(std::distance(it, end), 60) << m.substr(0, 1000) << " …";
  }
}

}  // namespace
