// The coordinate check (coordcheck.h) in both directions: under μP every layer's update is flat in
// width; under the standard parametrization the layers that read a width-sized input (hidden
// layers, the logits) grow ∝ width after one Adam step and the check fails there, while the
// input layer, whose fan-in does not grow, stays flat in both.
#include "torchinit/coordcheck.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "test_util.h"
#include "torchinit/testing.h"

namespace torchinit {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using torchinit::test::IsFlatInWidth;
using torchinit::testutil::error_of;

const char* kMlp = "mlp(in=32, hidden=[{width}, {width}], out=10)";
const char* kMlpPlan = "*.bias = zeros\n* = kaiming_normal(nonlinearity=relu)";
// GPT-2's init with the readout zero-initialized, as Tensor Programs V (App. D.2) and mup advise:
// a random readout adds W0·Δx to the logits' update, a finite-width term that decays as n^-1/2
// and at widths 64…1024 reads as a slope near -0.2.
const char* kGpt = "gpt(vocab=64, context=16, width={width}, depth=2, heads=2)";
const char* kGptPlan =
    ":readout = zeros\n:norm_scale = ones\n:norm_shift = zeros\n:bias = zeros\n"
    "* = normal(std=0.02)";

const CoordLayer& layer(const CoordCheck& cc, const std::string& path, int64_t step) {
  for (const auto& l : cc.layers())
    if (l.path == path && l.step == step) return l;
  throw std::runtime_error("no layer " + path);
}

TEST(CoordCheck, MlpIsFlatUnderMupAndGrowsUnderStandard) {
  const Plan plan = Plan::parse(kMlpPlan);
  const CoordCheck mup = coordcheck(kMlp, plan);
  EXPECT_THAT(mup, IsFlatInWidth()) << mup.table();

  const CoordCheck sp = coordcheck(kMlp, plan, CoordCheckOptions().mup(false));
  EXPECT_THAT(sp, Not(IsFlatInWidth()));
  // Theory: slope 1 for the hidden layer and the logits after one step (n coherent terms of
  // size η); the input layer's fan-in is fixed, so its update is flat under both.
  EXPECT_GE(layer(sp, "layers.2", 1).lo, 0.75) << sp.table();
  EXPECT_GE(layer(sp, "layers.4", 1).lo, 0.75) << sp.table();
  EXPECT_TRUE(layer(sp, "layers.0", 1).flat()) << sp.table();
  EXPECT_THAT(sp.json(), HasSubstr("\"passed\": false"));

  ::testing::StringMatchResultListener listener;
  EXPECT_FALSE(::testing::ExplainMatchResult(IsFlatInWidth(), sp, &listener));
  EXPECT_THAT(listener.str(), HasSubstr("layers.4 (step 1): grows: slope"));
}

// Three (width, seed) pairs leave one degree of freedom: no interval is narrow enough to call a
// layer flat, and the check says so instead of passing.
TEST(CoordCheck, TooFewReplicatesIsInconclusiveAndFails) {
  const CoordCheck cc = coordcheck(kMlp, Plan::parse(kMlpPlan),
                                   CoordCheckOptions().widths({64, 128, 256}).seeds(1).steps(1));
  EXPECT_FALSE(cc.passed());
  EXPECT_EQ(layer(cc, "layers.2", 1).verdict, "inconclusive");
  EXPECT_THAT(cc.failures(), HasSubstr("add seeds or widths"));
}

TEST(CoordCheck, GptIsFlatUnderMupAndItsLogitsGrowUnderStandard) {
  const Plan plan = Plan::parse(kGptPlan);
  const CoordCheck mup =
      coordcheck(kGpt, plan, CoordCheckOptions().widths({64, 128, 256, 512, 1024}).steps(2));
  EXPECT_THAT(mup, IsFlatInWidth()) << mup.table();
  EXPECT_EQ(mup.parametrization, "mup(optimizer=adam)");

  const CoordCheck sp =
      coordcheck(kGpt, plan, CoordCheckOptions().widths({64, 128, 256, 512}).steps(1).mup(false));
  EXPECT_THAT(sp, Not(IsFlatInWidth()));
  EXPECT_GE(layer(sp, "head", 1).lo, 0.75) << sp.table();
}

TEST(CoordCheck, BadInputNamesTheFix) {
  const Plan plan = Plan::parse(kMlpPlan);
  EXPECT_THAT(error_of([&] {
                coordcheck(kMlp, plan, CoordCheckOptions().widths({128, 64}));
              }),
              HasSubstr("ascending"));
  EXPECT_THAT(error_of([&] { coordcheck(kMlp, plan, CoordCheckOptions().base_width(128)); }),
              HasSubstr("base_width 128 must be at most the smallest width 64"));
  EXPECT_THAT(error_of([&] { coordcheck("mlp(in=32, hidden=[64], out=10)", plan); }),
              HasSubstr("has no {width}"));
  EXPECT_THAT(
      error_of([&] { coordcheck("convnet(channels=[{width}])", Plan::parse("* = normal")); }),
      HasSubstr("no synthetic batch for ConvNet"));
  EXPECT_THAT(error_of([&] { coordcheck(kMlp, plan, CoordCheckOptions().seeds(0)); }),
              HasSubstr("steps, seeds and batch must be >= 1"));
}

}  // namespace
}  // namespace torchinit
