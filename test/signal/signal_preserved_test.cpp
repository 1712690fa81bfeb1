// torchinit::test::SignalPreserved, including its own failure message.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "torchinit/nn/mlp.h"
#include "torchinit/plan.h"
#include "torchinit/testing.h"

namespace torchinit {
namespace {

nn::MLP initialized_mlp(const std::string& weight_spec) {
  nn::MLP mlp(nn::MLPOptions(256, std::vector<int64_t>(20, 256), 10));
  Plan().rule(":weight", weight_spec).rule(":bias", "zeros").apply(*mlp, ApplyOptions().seed(11));
  return mlp;
}

TEST(SignalPreserved, HoldsForKaimingOnRelu) {
  auto mlp = initialized_mlp("kaiming_normal(nonlinearity=relu)");
  EXPECT_TRUE(test::SignalPreserved(*mlp, {512, 256}, 0.05));
}

TEST(SignalPreserved, FailsWithTheNumbersForXavierOnRelu) {
  auto mlp = initialized_mlp("xavier_normal");
  const ::testing::AssertionResult r = test::SignalPreserved(*mlp, {512, 256}, 0.05);
  EXPECT_FALSE(r);
  EXPECT_NE(std::string(r.message()).find("signal vanishing: forward growth 0."), std::string::npos)
      << r.message();
  EXPECT_NONFATAL_FAILURE(
      {
        auto net = initialized_mlp("xavier_normal");
        EXPECT_TRUE(test::SignalPreserved(*net, {512, 256}, 0.05));
      },
      "allowed [0.9524, 1.05] (tolerance 0.05)");
}

TEST(SignalPreserved, FailsForNormalOneAsExploding) {
  auto mlp = initialized_mlp("normal(mean=0, std=1)");
  const ::testing::AssertionResult r = test::SignalPreserved(*mlp, {64, 256});
  EXPECT_FALSE(r);
  EXPECT_NE(std::string(r.message()).find("signal exploding"), std::string::npos) << r.message();
}

}  // namespace
}  // namespace torchinit
