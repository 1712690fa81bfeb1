// Parse -> resolve -> apply builds each rule's initializer once, when the rule is added: explain,
// apply and apply_sharded reuse it (they used to build it again, and parse built it a first time
// only to validate it).
#include <gtest/gtest.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <atomic>
#include <memory>

#include "torchinit/elementwise_initializer.h"
#include "torchinit/plan.h"
#include "torchinit/registry.h"
#include "torchinit/shard.h"

namespace torchinit {
namespace {

std::atomic<int> counted_builds{0};

// Every element 0.5.
class Half final : public ElementwiseInitializer {
 public:
  Distribution theory(const ParamInfo&) const override { return Distribution::constant(0.5); }
  ElementFill element_fill(const ParamInfo&) const override {
    return [](auto* out, int64_t, int64_t count, const Stream&) {
      for (int64_t i = 0; i < count; ++i) out[i] = 0.5;
    };
  }
  void fill_torch(at::Tensor& t, const ParamInfo&) const override { t.fill_(0.5); }
};

// Half, whose factory counts how often the registry builds it.
void register_counted_half_once() {
  static const bool registered = [] {
    Registry::global().add(
        {"counted_half",
         {},
         {},
         {"A test initializer: constant 0.5, counting its builds.", "w = 0.5", "none"},
         [](const Args&) -> std::shared_ptr<Initializer> {
           ++counted_builds;
           return std::make_shared<Half>();
         }});
    return true;
  }();
  (void)registered;
}

TEST(RuleInitializer, BuiltOnceWhenTheRuleIsAdded) {
  register_counted_half_once();
  counted_builds = 0;
  const Plan text = Plan::parse(":weight = counted_half\n:bias = zeros\n");
  EXPECT_EQ(counted_builds.load(), 1);
  const Plan json = Plan::parse(R"([{"selector": ":weight", "spec": "counted_half"}])");
  EXPECT_EQ(counted_builds.load(), 2);
  ASSERT_TRUE(text.rules()[0].initializer);
  EXPECT_EQ(text.rules()[0].initializer->spec().str(), "counted_half");

  torch::nn::Sequential net(torch::nn::Linear(4, 3), torch::nn::Linear(3, 2));
  (void)text.explain(*net);
  const Report report = text.apply(*net, ApplyOptions().seed(1));
  ShardMap shards;
  shards["0.weight"] = ParamShard{{3, 4}, Slice::rows(0, 3)};
  (void)text.apply_sharded(*net, shards, ApplyOptions().seed(1));
  EXPECT_EQ(counted_builds.load(), 2) << "explain/apply/apply_sharded built the initializer again";
  EXPECT_EQ(report.at("1.weight").spec, "counted_half");
  EXPECT_TRUE(net->named_parameters()["1.weight"].eq(0.5).all().item<bool>());
}

TEST(RuleInitializer, TorchDefaultHasNoneAndResolvesPerParameter) {
  const Plan plan = Plan::parse("* = torch_default");
  EXPECT_FALSE(plan.rules()[0].initializer);
  torch::nn::Sequential net(torch::nn::Linear(4, 3));
  const Report report = plan.explain(*net);
  EXPECT_EQ(report.at("0.weight").spec,
            "kaiming_uniform(a=2.23606797749979, mode=fan_in, nonlinearity=leaky_relu)");
}

}  // namespace
}  // namespace torchinit
