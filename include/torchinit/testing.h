// GoogleTest helpers for users' own suites (target torchinit::testing):
//
//   #include <torchinit/testing.h>
//   EXPECT_TRUE(torchinit::test::MatchesTheory(w, "xavier_uniform(gain=relu)"));
//   EXPECT_THAT(w, torchinit::test::FollowsTheory("kaiming_normal(mode=fan_out)"));
//
// Predicates return ::testing::AssertionResult whose message carries the numbers
// ("variance 0.0213 outside [0.0191, 0.0209] (z=…, n=32768, alpha=1e-06)"), never the tensor.
// An inconclusive check (too few elements for the promised power) fails: passing it silently
// would claim more than was shown.
#pragma once

#include <ATen/core/Tensor.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "torchinit/check.h"
#include "torchinit/distribution.h"

namespace torchinit {
class CoordCheck;
}  // namespace torchinit

namespace torch::nn {
class Module;
}  // namespace torch::nn

namespace at {
// GoogleTest prints values of failed EXPECT_THAT through PrintTo: a tensor prints as its shape
// and dtype, never its elements (operator<< would print all of them).
void PrintTo(const Tensor& tensor, std::ostream* os);
}  // namespace at

namespace torchinit::test {

// Every statistic of check(tensor, spec or distribution) accepts, with enough power.
::testing::AssertionResult MatchesTheory(const at::Tensor& tensor, std::string_view spec,
                                         const CheckOptions& options = {});
::testing::AssertionResult MatchesTheory(const at::Tensor& tensor, const Distribution& theory,
                                         const CheckOptions& options = {});
// The sample variance is consistent with `variance` (z-test, Var(s^2) from the sample's own
// fourth moment, two-sided at options.alpha()).
::testing::AssertionResult HasVarianceNear(const at::Tensor& tensor, double variance,
                                           const CheckOptions& options = {});
// The [size(0), numel/size(0)] view W has W W^T = gain^2 I (W^T W when it is tall) within
// 2 eps(dtype) + 4 max(rows, cols) eps(float32 or float64).
::testing::AssertionResult IsOrthogonal(const at::Tensor& tensor, double gain = 1.0);

// gmock matcher form of MatchesTheory; explains a mismatch with the check's summary.
::testing::Matcher<const at::Tensor&> FollowsTheory(std::string spec, CheckOptions options = {});

// The network neither vanishes nor explodes: on an N(0, 1) batch of `input_shape` (batch first),
// the per-layer growth factor of the pre-activation variance (forward) and of the gradient
// variance (backward) both lie within [1/(1+tolerance), 1+tolerance] (torchinit::propagate,
// propagation.h). The message gives both growth factors, the verdict and the end-to-end ratio.
//   EXPECT_TRUE(torchinit::test::SignalPreserved(*mlp, {512, 784}, 0.05));
::testing::AssertionResult SignalPreserved(torch::nn::Module& net, std::vector<int64_t> input_shape,
                                           double tolerance = 0.05, uint64_t seed = 0);

// The coordinate check passes: every layer's update is flat in width (coordcheck.h). A mismatch
// is explained by the layers that grow or shrink, with their slopes and intervals.
//   EXPECT_THAT(torchinit::coordcheck(spec, plan), torchinit::test::IsFlatInWidth());
::testing::Matcher<const CoordCheck&> IsFlatInWidth();

}  // namespace torchinit::test
