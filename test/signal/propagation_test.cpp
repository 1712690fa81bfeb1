// Propagation: measured per-layer variance against mean-field theory, and the diagnosis.
// Statistical conventions as in test_util.h: fixed seeds; the per-layer comparisons run at the
// family-wise alpha of PropagationOptions (1e-3 here, Bonferroni over layers); the chain
// comparison's band comes from the measured unit-to-unit dispersion (see propagation.h).
#include "torchinit/propagation.h"

#include <c10/util/Exception.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <cmath>

#include "torchinit/activation.h"
#include "torchinit/mean_field.h"
#include "torchinit/nn/mlp.h"
#include "torchinit/nn/probe.h"
#include "torchinit/nn/resnet.h"
#include "torchinit/plan.h"

namespace torchinit {
namespace {

constexpr int64_t kWidth = 256;

nn::MLP deep_mlp(int depth, const std::string& act) {
  return nn::MLP(nn::MLPOptions(kWidth, std::vector<int64_t>(depth, kWidth), 10).activation(act));
}

Propagation run(nn::MLP& mlp, const std::string& weight_spec, uint64_t seed = 1) {
  const Report rep = Plan()
                         .rule(":weight", weight_spec)
                         .rule(":bias", "zeros")
                         .apply(*mlp, ApplyOptions().seed(seed));
  return propagate(*mlp, rep, {512, kWidth}, PropagationOptions().seed(seed));
}

TEST(Propagation, KaimingReluDepth20IsStableAndMatchesTheory) {
  auto mlp = deep_mlp(20, "relu");
  const Propagation p = run(mlp, "kaiming_normal(nonlinearity=relu)");
  ASSERT_EQ(p.layers().size(), 21u);
  EXPECT_EQ(p.verdict(), "stable") << p.summary();
  EXPECT_TRUE(p.agrees()) << p.table();
  EXPECT_TRUE(p.theory_note().empty()) << p.theory_note();
  for (size_t l = 0; l < 20; ++l) {
    EXPECT_NEAR(p.layers()[l].predicted, 2.0, 1e-12) << l;  // q^l = 2 q^{l-1}/2, q^1 = 2 E[x^2]
    EXPECT_EQ(p.layers()[l].activation, l == 0 ? "identity" : "relu");
  }
  // Backward: each hidden layer passes gradient variance fan_out Var(w) / 2 = 1; the 10-unit
  // head scales it by 10 * (2/256) / 2.
  EXPECT_NEAR(p.layers().back().predicted_grad_variance, 1.0, 1e-12);
  EXPECT_NEAR(p.layers()[0].predicted_grad_variance, 10.0 / 256, 1e-12);
  EXPECT_EQ(p.backward_verdict(), "stable") << p.summary();
}

TEST(Propagation, XavierOnReluHalvesTheVariancePerLayer) {
  auto mlp = deep_mlp(20, "relu");
  const Propagation p = run(mlp, "xavier_normal");
  EXPECT_EQ(p.verdict(), "vanishing") << p.summary();
  EXPECT_TRUE(p.agrees()) << p.table();
  // sigma_w2 = 1 for square layers: the predicted ratio is exactly 1/2.
  for (size_t l = 1; l < 20; ++l)
    EXPECT_NEAR(p.layers()[l].predicted / p.layers()[l - 1].predicted, 0.5, 1e-12);
  // Measured: ln(q^20 / q^1) = 19 ln(1/2) within z * chain_sd of both ends (alpha 1e-4).
  const LayerSignal& first = p.layers()[0];
  const LayerSignal& last = p.layers()[19];
  const double dev = std::log(last.second_moment / first.second_moment) - 19 * std::log(0.5);
  EXPECT_LE(std::abs(dev), 3.8906 * (first.chain_sd + last.chain_sd)) << p.table();
  EXPECT_NEAR(p.forward_growth(), 0.5, 0.05) << p.table();
}

TEST(Propagation, TanhFollowsTheQMap) {
  // sigma_w2 = 1 (xavier on square layers): q decays like the q-map from q^1 = 1.
  auto mlp = deep_mlp(30, "tanh");
  const Propagation p = run(mlp, "xavier_normal", 3);
  EXPECT_TRUE(p.agrees()) << p.table();
  const std::vector<double> q = q_sequence(activation("tanh"), 1.0, 0.0, 1.0, 29);
  for (size_t l = 0; l < 30; ++l) EXPECT_NEAR(p.layers()[l].predicted, q[l], 1e-12 * q[l]);
  // sigma_w2 = 2: q approaches q* = 0.618 (chaotic phase, chi1 = 1.106 > 1: gradients grow).
  auto chaotic = deep_mlp(30, "tanh");
  const Propagation c = run(chaotic, "xavier_normal(gain=1.4142135623730951)", 4);
  EXPECT_TRUE(c.agrees()) << c.table();
  EXPECT_NEAR(c.layers()[29].predicted, q_star(activation("tanh"), 2.0, 0.0), 1e-6);
  EXPECT_EQ(c.forward_verdict(), "stable");
  EXPECT_GT(c.backward_growth(), 1.0);
}

TEST(Propagation, DiagnosesExplodingAndVanishingAtDepth50) {
  auto a = deep_mlp(50, "relu");
  const Propagation exploding = run(a, "normal(mean=0, std=1)");
  EXPECT_EQ(exploding.verdict(), "exploding") << exploding.summary();
  auto b = deep_mlp(50, "relu");
  const Propagation vanishing = run(b, "xavier_uniform");
  EXPECT_EQ(vanishing.verdict(), "vanishing") << vanishing.summary();
  EXPECT_TRUE(vanishing.agrees()) << vanishing.table();
  auto c = deep_mlp(50, "relu");
  const Propagation kaiming = run(c, "kaiming_uniform(nonlinearity=relu)");
  EXPECT_EQ(kaiming.verdict(), "stable") << kaiming.summary();
  EXPECT_TRUE(kaiming.agrees()) << kaiming.table();
  auto d = deep_mlp(50, "relu");
  const Propagation orthogonal = run(d, "orthogonal(gain=relu)");
  EXPECT_EQ(orthogonal.verdict(), "stable") << orthogonal.summary();
  EXPECT_TRUE(orthogonal.agrees()) << orthogonal.table();
}

TEST(Propagation, WrongTheoryIsDetected) {
  // A report that claims kaiming while the weights are xavier: the local test must reject.
  auto mlp = deep_mlp(5, "relu");
  Plan()
      .rule(":weight", "xavier_normal")
      .rule(":bias", "zeros")
      .apply(*mlp, ApplyOptions().seed(5));
  const Report claimed = Plan()
                             .rule(":weight", "kaiming_normal(nonlinearity=relu)")
                             .rule(":bias", "zeros")
                             .explain(*mlp, ApplyOptions().seed(5));
  const Propagation p = propagate(*mlp, claimed, {512, kWidth});
  EXPECT_FALSE(p.agrees());
  EXPECT_FALSE(p.layers()[1].local_agrees) << p.table();
}

TEST(Propagation, WalksSequentialAndLeavesGradientsAlone) {
  torch::nn::Sequential seq(torch::nn::Linear(64, 64),
                            torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)),
                            torch::nn::Linear(64, 64));
  const Report rep = Plan()
                         .rule(":weight", "kaiming_normal(a=0.2, nonlinearity=leaky_relu)")
                         .rule(":bias", "zeros")
                         .apply(*seq, ApplyOptions().seed(2));
  const Propagation p = propagate(*seq, rep, {4096, 64});
  ASSERT_EQ(p.layers().size(), 2u);
  EXPECT_EQ(p.layers()[0].path, "0");
  EXPECT_EQ(p.layers()[1].path, "2");
  EXPECT_EQ(p.layers()[1].activation, "leaky_relu(0.20000000000000001)");
  EXPECT_TRUE(p.agrees()) << p.table();
  for (const auto& param : seq->parameters()) EXPECT_FALSE(param.grad().defined());
}

// A model of the user's own, not a Sequential, joins propagate() by implementing nn::Probed.
struct TwoLayerImpl : torch::nn::Cloneable<TwoLayerImpl>, nn::Probed {
  TwoLayerImpl() { reset(); }
  void reset() override {
    body =
        register_module("body", torch::nn::Sequential(torch::nn::Linear(64, 64), torch::nn::Tanh(),
                                                      torch::nn::Linear(64, 64)));
  }
  at::Tensor forward(const at::Tensor& x) { return body->forward(x); }
  at::Tensor forward_probed(const at::Tensor& x, nn::Probe& probe) override {
    return nn::forward_probed(*body, x, probe, "body");
  }
  torch::nn::Sequential body{nullptr};
};
TORCH_MODULE(TwoLayer);

struct Paths : nn::Probe {
  std::vector<std::string> seen;
  void record(const std::string& path, const std::string& type, const at::Tensor&,
              const torch::nn::Module*) override {
    seen.push_back(path + ":" + type);
  }
};

TEST(Propagation, WalksAUserModuleThatImplementsProbed) {
  torch::nn::Sequential seq{TwoLayer(), torch::nn::Tanh(), TwoLayer()};
  Paths paths;
  const at::Tensor x = torch::randn({8, 64});
  EXPECT_TRUE(nn::forward_probed(*seq, x, paths).equal(seq->forward(x)));
  EXPECT_THAT(paths.seen, ::testing::ElementsAre("0.body.0:Linear", "0.body.1:Tanh",
                                                 "0.body.2:Linear", "1:Tanh", "2.body.0:Linear",
                                                 "2.body.1:Tanh", "2.body.2:Linear"));
  // Called on a Probed module with a prefix, paths start with it (the prefix used to be dropped).
  Paths prefixed;
  nn::forward_probed(*seq->ptr(0), torch::randn({2, 64}), prefixed, "net");
  EXPECT_THAT(prefixed.seen,
              ::testing::ElementsAre("net.body.0:Linear", "net.body.1:Tanh", "net.body.2:Linear"));

  const Report rep = Plan()
                         .rule(":weight", "xavier_normal(gain=1.6666666666666667)")
                         .rule(":bias", "zeros")
                         .apply(*seq, ApplyOptions().seed(3));
  const Propagation p = propagate(*seq, rep, {4096, 64});
  ASSERT_EQ(p.layers().size(), 4u) << p.table();
  EXPECT_EQ(p.layers()[0].path, "0.body.0");
  EXPECT_EQ(p.layers()[3].path, "2.body.2");
  EXPECT_EQ(p.layers()[0].activation, "identity");
  for (size_t l = 1; l < 4; ++l) EXPECT_EQ(p.layers()[l].activation, "tanh");
  EXPECT_TRUE(p.agrees()) << p.table();
}

TEST(Propagation, ResNetIsMeasuredBlockByBlockWithoutTheoryPastBatchNorm) {
  nn::ResNet net(nn::ResNetOptions(18).classes(10).stem("cifar"));
  const Report rep = Plan::preset("resnet").apply(*net, ApplyOptions().seed(1));
  const Propagation p = propagate(*net, rep, {4, 3, 16, 16});
  ASSERT_EQ(p.layers().size(), 10u);  // conv1, 8 blocks, fc
  EXPECT_EQ(p.layers()[1].path, "layer1.0");
  EXPECT_EQ(p.layers()[1].type, "BasicBlock");
  EXPECT_EQ(p.theory_note(), "no theory for BatchNorm2d at bn1");
  EXPECT_TRUE(std::isnan(p.layers()[9].predicted));
}

TEST(Propagation, Errors) {
  torch::nn::Linear lin(4, 4);
  try {
    propagate(*lin, {2, 4});
    FAIL() << "expected c10::Error";
  } catch (const c10::Error& e) {
    EXPECT_THAT(
        e.what_without_backtrace(),
        ::testing::HasSubstr("torchinit::nn::forward_probed: cannot walk a torch::nn::Linear"));
  }
  auto mlp = deep_mlp(1, "relu");
  EXPECT_THROW(propagate(*mlp, {0, kWidth}), c10::Error);
  EXPECT_EQ(diagnose({1, 2, 4, 8}, 0.05), "exploding");
  EXPECT_EQ(diagnose({1, 1.01, 0.99, 1}, 0.05), "stable");
  EXPECT_EQ(diagnose({1, 0}, 0.05), "vanishing");
  EXPECT_EQ(diagnose({1, INFINITY}, 0.05), "exploding");
  EXPECT_NEAR(growth_factor({1, 0.5, 0.25, 0.125}), 0.5, 1e-12);
}

}  // namespace
}  // namespace torchinit
