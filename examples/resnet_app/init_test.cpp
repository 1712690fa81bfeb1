// Copy this into your own GoogleTest suite: initialization checked against theory.
#include <ATen/ops/empty.h>
#include <torchinit/testing.h>
#include <torchinit/torchinit.h>

TEST(MyModelInit, WeightsFollowTheirSpecs) {
  at::Tensor w = at::empty({256, 512});
  torchinit::init_(w, "kaiming_normal(mode=fan_in, nonlinearity=relu)",
                   torchinit::InitOptions().seed(1).key("fc1.weight"));
  EXPECT_TRUE(torchinit::test::MatchesTheory(w, "kaiming_normal(mode=fan_in, nonlinearity=relu)"));
  EXPECT_TRUE(torchinit::test::HasVarianceNear(w, 2.0 / 512));
  EXPECT_THAT(w, torchinit::test::FollowsTheory("he_normal"));
}

TEST(MyModelInit, RecurrentWeightsAreOrthogonal) {
  at::Tensor q = at::empty({128, 128});
  torchinit::init_(q, "orthogonal", torchinit::InitOptions().seed(2));
  EXPECT_TRUE(torchinit::test::IsOrthogonal(q));
}

TEST(MyModelInit, WholeNetworkMatchesItsPlan) {
  auto net = torchinit::nn::make("mlp(in=784, hidden=[512, 512], out=10, act=relu)");
  const auto report = torchinit::Plan::preset("he").apply(net, torchinit::ApplyOptions().seed(3));
  const auto result = torchinit::check(net, report);
  EXPECT_TRUE(result.passed()) << result.table();
}
