// LSUV (Mishkin & Matas 2016): tolerance, determinism, Sequential and torchinit modules, errors.
#include "torchinit/lsuv.h"

#include <ATen/Functions.h>
#include <c10/util/Exception.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <cmath>

#include "torchinit/nn/conv_net.h"
#include "torchinit/nn/mlp.h"
#include "torchinit/nn/probe.h"

namespace torchinit {
namespace {

// The output variance of every Linear/Conv layer, measured again after LSUV.
struct Variances : nn::Probe {
  std::vector<double> v;
  void record(const std::string&, const std::string& type, const at::Tensor& out,
              const torch::nn::Module*) override {
    if (type == "Linear" || type.rfind("Conv", 0) == 0)
      v.push_back(out.to(at::kDouble).var().item<double>());
  }
};

TEST(Lsuv, EveryLayerEndsWithinTolerance) {
  nn::MLP mlp(nn::MLPOptions(128, std::vector<int64_t>(10, 128), 10).activation("tanh"));
  const at::Tensor batch = at::randn({256, 128}, at::make_generator<at::CPUGeneratorImpl>(3));
  const LsuvReport r = lsuv_(*mlp, batch, LsuvOptions().seed(1));
  ASSERT_EQ(r.layers.size(), 11u);
  EXPECT_TRUE(r.converged()) << r.table();
  Variances after;
  torch::NoGradGuard no_grad;
  nn::forward_probed(*mlp, batch, after);
  ASSERT_EQ(after.v.size(), 11u);
  for (size_t l = 0; l < 11; ++l) {
    EXPECT_LE(std::abs(after.v[l] - 1), 0.1) << r.layers[l].path;
    EXPECT_NEAR(after.v[l], r.layers[l].final_variance, 1e-9 * after.v[l]);
    EXPECT_LE(r.layers[l].iterations, 10);
  }
}

TEST(Lsuv, IsDeterministicWithASeed) {
  auto make = [] {
    return torch::nn::Sequential(torch::nn::Linear(64, 64), torch::nn::ReLU(),
                                 torch::nn::Linear(64, 64), torch::nn::ReLU(),
                                 torch::nn::Linear(64, 8));
  };
  auto a = make(), b = make();
  const LsuvReport ra = lsuv_(*a, {128, 64}, LsuvOptions().seed(9));
  const LsuvReport rb = lsuv_(*b, {128, 64}, LsuvOptions().seed(9));
  EXPECT_TRUE(ra.converged()) << ra.table();
  const auto pa = a->parameters(), pb = b->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(at::equal(pa[i], pb[i])) << i;
  EXPECT_EQ(ra.layers[2].path, "4");
  EXPECT_NE(ra.json().find("\"final_variance\""), std::string::npos);
}

TEST(Lsuv, StopsAtMaxIterWhenTheToleranceIsOutOfReach) {
  // A tolerance below float32 rounding of the variance: a layer may run out of rescales.
  nn::ConvNet net(nn::ConvNetOptions(3, {8}, 10).norm("none"));
  const LsuvReport r =
      lsuv_(*net, {16, 3, 12, 12}, LsuvOptions().seed(2).tolerance(1e-9).max_iter(2));
  for (const LsuvLayer& l : r.layers) {
    EXPECT_LE(l.iterations, 2);
    EXPECT_EQ(l.converged, std::abs(l.final_variance - 1) <= 1e-9) << r.table();
    if (!l.converged) {
      EXPECT_EQ(l.iterations, 2);
    }
  }
  EXPECT_EQ(r.layers.size(), 3u);  // two convs and the classifier
}

TEST(Lsuv, ErrorsLeaveTheWeightsUnchanged) {
  nn::MLP mlp(nn::MLPOptions(16, {16}, 4));
  std::vector<at::Tensor> before;
  for (const auto& p : mlp->parameters()) before.push_back(p.detach().clone());
  try {
    lsuv_(*mlp, at::zeros({8, 16}));
    FAIL() << "expected c10::Error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace())
                  .find("torchinit::lsuv_: the output variance of 'layers.0' is 0"),
              std::string::npos)
        << e.what_without_backtrace();
  }
  const auto after = mlp->parameters();
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(at::equal(before[i], after[i])) << i;
  EXPECT_THROW(lsuv_(*mlp, {8, 16}, LsuvOptions().tolerance(0)), c10::Error);
  EXPECT_THROW(lsuv_(*mlp, {8, 16}, LsuvOptions().max_iter(0)), c10::Error);
}

}  // namespace
}  // namespace torchinit
