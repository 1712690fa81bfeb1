// The modules of torchinit::nn: forward shapes, closed-form parameter counts, parameter paths
// (torchvision's for ResNet), clone, and option errors.
#include <ATen/ops/allclose.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/full.h>
#include <ATen/ops/randn.h>
#include <c10/util/Exception.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

#include <functional>
#include <string>
#include <vector>

#include "test_util.h"
#include "torchinit/nn/activation_module.h"
#include "torchinit/nn/basic_block.h"
#include "torchinit/nn/bottleneck.h"
#include "torchinit/nn/conv_net.h"
#include "torchinit/nn/mlp.h"
#include "torchinit/nn/recurrent_net.h"
#include "torchinit/nn/resnet.h"

namespace torchinit::nn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

using torchinit::testutil::error_of;

int64_t parameter_count(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

std::vector<std::string> parameter_paths(const torch::nn::Module& m) {
  std::vector<std::string> paths;
  for (const auto& item : m.named_parameters()) paths.push_back(item.key());
  return paths;
}

bool has_path(const torch::nn::Module& m, const std::string& path) {
  return m.named_parameters().contains(path);
}

std::vector<int64_t> shape(const torch::Tensor& t) { return t.sizes().vec(); }

// Cloning gives equal values in separate storage.
void expect_deep_clone(const torch::nn::Module& m) {
  const std::shared_ptr<torch::nn::Module> copy = m.clone();
  const auto a = m.named_parameters();
  const auto b = copy->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& item : a) {
    const torch::Tensor& other = b[item.key()];
    EXPECT_TRUE(at::equal(item.value(), other)) << item.key();
    EXPECT_NE(item.value().data_ptr(), other.data_ptr()) << item.key();
  }
}

// ---- activation_module ----

TEST(ActivationModule, EveryNameBuildsAndApplies) {
  const torch::Tensor x = at::randn({4, 3});
  for (const std::string& name : activation_names()) {
    torch::nn::AnyModule act = activation_module(name);
    EXPECT_EQ(shape(act.forward(x)), shape(x)) << name;
  }
}

TEST(ActivationModule, ArgumentsReachTheModule) {
  const torch::Tensor minus_one = at::full({1}, -1.0);
  EXPECT_FLOAT_EQ(activation_module("leaky_relu(0.2)").forward(minus_one).item<float>(), -0.2f);
  EXPECT_FLOAT_EQ(
      activation_module("leaky_relu(negative_slope=0.3)").forward(minus_one).item<float>(), -0.3f);
  EXPECT_FLOAT_EQ(activation_module("elu(alpha=2)").forward(at::full({1}, -100.0)).item<float>(),
                  -2.0f);
  EXPECT_FLOAT_EQ(activation_module("relu").forward(minus_one).item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(activation_module("linear").forward(minus_one).item<float>(), -1.0f);
  const float exact = activation_module("gelu").forward(minus_one).item<float>();
  const float tanh = activation_module("gelu(approximate=tanh)").forward(minus_one).item<float>();
  EXPECT_NEAR(exact, -0.158655f, 1e-5);
  EXPECT_NE(exact, tanh);
}

TEST(ActivationModule, ErrorsNameTheProblem) {
  EXPECT_THAT(error_of([] { activation_module("rleu"); }),
              AllOf(StartsWith("torchinit::nn::activation_module: unknown activation 'rleu';"),
                    HasSubstr("did you mean 'relu'?"), HasSubstr("at column 1")));
  EXPECT_THAT(error_of([] { activation_module("relu(0.1)"); }),
              AllOf(HasSubstr("relu takes no arguments"), HasSubstr("at column 6")));
  EXPECT_THAT(
      error_of([] { activation_module("leaky_relu(slope=0.1)"); }),
      AllOf(HasSubstr("leaky_relu has no argument 'slope'"),
            HasSubstr("it takes leaky_relu(negative_slope=0.01)"), HasSubstr("at column 12")));
  EXPECT_THAT(error_of([] { activation_module("elu(alpha=big)"); }),
              AllOf(HasSubstr("argument 'alpha' expects a number, got identifier big"),
                    HasSubstr("at column 11")));
  EXPECT_THAT(error_of([] { activation_module("gelu(approximate=tanhh)"); }),
              AllOf(HasSubstr("expects one of none, tanh, got 'tanhh'"),
                    HasSubstr("did you mean 'tanh'?")));
  EXPECT_THAT(error_of([] { activation_module("softplus(beta=0)"); }),
              HasSubstr("'beta' expects a finite number > 0, got 0"));
  EXPECT_THAT(error_of([] { activation_module("elu(1, alpha=2)"); }),
              HasSubstr("'alpha' is given twice"));
}

// ---- MLP ----

TEST(MLP, ForwardShape) {
  MLP mlp(MLPOptions(784, {256, 256}, 10));
  EXPECT_EQ(shape(mlp(at::randn({8, 784}))), (std::vector<int64_t>{8, 10}));
  MLP layer_norm(MLPOptions(16, {32}, 4).norm("layer").activation("gelu").dropout(0.1));
  EXPECT_EQ(shape(layer_norm(at::randn({2, 5, 16}))), (std::vector<int64_t>{2, 5, 4}));
  MLP linear(MLPOptions(16, {}, 4));
  EXPECT_EQ(shape(linear(at::randn({3, 16}))), (std::vector<int64_t>{3, 4}));
}

TEST(MLP, ParameterCountIsClosedForm) {
  // Linear(in, out): in*out + out; BatchNorm1d / LayerNorm(w): 2w.
  EXPECT_EQ(parameter_count(*MLP(MLPOptions(784, {256, 256}, 10))),
            784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
  EXPECT_EQ(parameter_count(*MLP(MLPOptions(784, {256, 128}, 10).norm("batch"))),
            784 * 256 + 256 + 2 * 256 + 256 * 128 + 128 + 2 * 128 + 128 * 10 + 10);
  EXPECT_EQ(parameter_count(*MLP(MLPOptions(20, {30}, 5).norm("layer").bias(false))),
            20 * 30 + 2 * 30 + 30 * 5);
}

TEST(MLP, LayersAndPaths) {
  MLP mlp(MLPOptions(8, {16, 16}, 2).norm("batch").activation("leaky_relu(0.2)").dropout(0.5));
  // Linear, BatchNorm1d, LeakyReLU, Dropout per hidden layer, then Linear.
  EXPECT_EQ(mlp->layers->size(), 9u);
  EXPECT_THAT(parameter_paths(*mlp),
              ElementsAre("layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                          "layers.4.weight", "layers.4.bias", "layers.5.weight", "layers.5.bias",
                          "layers.8.weight", "layers.8.bias"));
  expect_deep_clone(*mlp);
}

TEST(MLP, BadOptionsAndInputs) {
  EXPECT_THAT(error_of([] { MLP(MLPOptions(8, {16}, 2).norm("btach")); }),
              AllOf(StartsWith("torchinit::nn::MLP: norm must be none, batch or layer"),
                    HasSubstr("did you mean 'batch'?")));
  EXPECT_THAT(error_of([] {
                MLP(MLPOptions(8, {16, 0}, 2));
              }),
              HasSubstr("expected hidden widths > 0 (got 16, 0)"));
  EXPECT_THAT(error_of([] { MLP(MLPOptions(8, {16}, 2).activation("rleu")); }),
              AllOf(StartsWith("torchinit::nn::MLP: activation: unknown activation 'rleu'"),
                    HasSubstr("did you mean 'relu'?")));
  MLP mlp(MLPOptions(8, {16}, 2));
  EXPECT_THAT(error_of([&] {
                mlp(at::randn({4, 7}));
              }),
              HasSubstr("torchinit::nn::MLP: expected input [..., 8] (got [4, 7])"));
}

// ---- ConvNet ----

TEST(ConvNet, ForwardShape2d) {
  ConvNet net(ConvNetOptions(3, {32, 64}, 10));
  EXPECT_EQ(shape(net(at::randn({4, 3, 32, 32}))), (std::vector<int64_t>{4, 10}));
}

TEST(ConvNet, ForwardShape1d) {
  ConvNet net(
      ConvNetOptions(2, {8, 16, 32}, 5).dims(1).kernel_size(5).norm("none").activation("tanh"));
  EXPECT_EQ(shape(net(at::randn({4, 2, 50}))), (std::vector<int64_t>{4, 5}));
  EXPECT_THAT(error_of([&] {
                net(at::randn({4, 2, 8, 8}));
              }),
              HasSubstr("expected input [batch, 2, length] for dims=1 (got [4, 2, 8, 8])"));
}

TEST(ConvNet, ParameterCountIsClosedForm) {
  // With norm: conv k^d·in·out (no bias) + BatchNorm 2·out; classifier last·classes + classes.
  const int64_t bn = 3 * 3 * 3 * 32 + 2 * 32 + 3 * 3 * 32 * 32 + 2 * 32 + 3 * 3 * 32 * 64 + 2 * 64 +
                     3 * 3 * 64 * 64 + 2 * 64 + 64 * 10 + 10;
  EXPECT_EQ(parameter_count(*ConvNet(ConvNetOptions(3, {32, 64}, 10))), bn);
  // Without norm the convs have biases; dims=1 kernels have k entries.
  const int64_t plain = 5 * 2 * 8 + 8 + 5 * 8 * 16 + 16 + 16 * 5 + 5;
  EXPECT_EQ(parameter_count(*ConvNet(
                ConvNetOptions(2, {8, 16}, 5).convs(1).kernel_size(5).dims(1).norm("none"))),
            plain);
}

TEST(ConvNet, PathsAndLayers) {
  ConvNet net(ConvNetOptions(3, {4, 8}, 10).convs(1));
  // conv, bn, relu | maxpool | conv, bn, relu
  EXPECT_EQ(net->features->size(), 7u);
  EXPECT_THAT(
      parameter_paths(*net),
      ElementsAre("features.0.weight", "features.1.weight", "features.1.bias", "features.4.weight",
                  "features.5.weight", "features.5.bias", "classifier.weight", "classifier.bias"));
  expect_deep_clone(*net);
  EXPECT_THAT(error_of([] { ConvNet(ConvNetOptions(3, {}, 10)); }),
              HasSubstr("expected at least one stage in channels (got [])"));
  EXPECT_THAT(error_of([] { ConvNet(ConvNetOptions(3, {8}, 10).kernel_size(4)); }),
              HasSubstr("expected an odd kernel_size"));
  EXPECT_THAT(error_of([] { ConvNet(ConvNetOptions(3, {8}, 10).dims(3)); }),
              HasSubstr("expected dims 1 or 2 (got 3)"));
}

// ---- RecurrentNet ----

// Weights and biases of one layer and direction: gates · (H·in + H·H + 2H).
int64_t recurrent_layer(int64_t gates, int64_t in, int64_t hidden) {
  return gates * (hidden * in + hidden * hidden + 2 * hidden);
}

int64_t recurrent_count(int64_t gates, int64_t in, int64_t hidden, int64_t layers, bool bidi,
                        int64_t out) {
  const int64_t dirs = bidi ? 2 : 1;
  int64_t n = 0;
  for (int64_t l = 0; l < layers; ++l) {
    n += dirs * recurrent_layer(gates, l == 0 ? in : dirs * hidden, hidden);
  }
  return n + dirs * hidden * out + out;
}

TEST(RecurrentNet, EveryCellBothDirections) {
  const torch::Tensor x = at::randn({4, 7, 16});
  const std::vector<std::pair<std::string, int64_t>> cells{
      {"rnn_tanh", 1}, {"rnn_relu", 1}, {"lstm", 4}, {"gru", 3}};
  for (const auto& [cell, gates] : cells) {
    for (const bool bidi : {false, true}) {
      RecurrentNet net(RecurrentNetOptions(cell, 16, 12, 5).num_layers(2).bidirectional(bidi));
      SCOPED_TRACE(cell + (bidi ? " bidirectional" : ""));
      EXPECT_EQ(shape(net(x)), (std::vector<int64_t>{4, 5}));
      EXPECT_EQ(parameter_count(*net), recurrent_count(gates, 16, 12, 2, bidi, 5));
      EXPECT_EQ(net->head->options.in_features(), (bidi ? 2 : 1) * 12);
    }
  }
}

TEST(RecurrentNet, PathsFollowLibTorch) {
  RecurrentNet lstm(RecurrentNetOptions("lstm", 3, 4, 2).bidirectional(true));
  EXPECT_TRUE(has_path(*lstm, "lstm.weight_ih_l0"));
  EXPECT_TRUE(has_path(*lstm, "lstm.weight_hh_l0_reverse"));
  EXPECT_TRUE(has_path(*lstm, "head.weight"));
  EXPECT_TRUE(lstm->lstm && !lstm->gru && !lstm->rnn);
  RecurrentNet rnn(RecurrentNetOptions("rnn_relu", 3, 4, 2));
  EXPECT_TRUE(has_path(*rnn, "rnn.bias_hh_l0"));
  {
    torch::NoGradGuard no_grad;  // relu states are never negative, tanh states are
    const torch::Tensor x = at::randn({8, 5, 3});
    EXPECT_GE(std::get<0>(rnn->rnn->forward(x)).min().item<float>(), 0.0f);
    RecurrentNet tanh(RecurrentNetOptions("rnn_tanh", 3, 4, 2));
    EXPECT_LT(std::get<0>(tanh->rnn->forward(x)).min().item<float>(), 0.0f);
  }
  RecurrentNet gru(RecurrentNetOptions("gru", 3, 4, 2));
  EXPECT_TRUE(has_path(*gru, "gru.weight_hh_l0"));
  expect_deep_clone(*gru);
}

TEST(RecurrentNet, HeadReadsTheLastTimeStep) {
  torch::NoGradGuard no_grad;
  const torch::Tensor x = at::randn({3, 6, 5});
  RecurrentNet uni(RecurrentNetOptions("gru", 5, 4, 2).num_layers(2));
  const torch::Tensor out = std::get<0>(uni->gru->forward(x));  // [3, 6, 4]
  EXPECT_TRUE(at::allclose(uni(x), uni->head(out.select(1, -1)), 1e-5, 1e-6));

  // Bidirectional: forward half at the last step, backward half at the first.
  RecurrentNet bi(RecurrentNetOptions("lstm", 5, 4, 2).bidirectional(true));
  const torch::Tensor both = std::get<0>(bi->lstm->forward(x));  // [3, 6, 8]
  const torch::Tensor features =
      at::cat({both.select(1, -1).narrow(1, 0, 4), both.select(1, 0).narrow(1, 4, 4)}, 1);
  EXPECT_TRUE(at::allclose(bi(x), bi->head(features), 1e-5, 1e-6));
}

TEST(RecurrentNet, BadOptionsAndInputs) {
  EXPECT_THAT(error_of([] { RecurrentNet(RecurrentNetOptions("lstn", 3, 4, 2)); }),
              AllOf(HasSubstr("cell must be rnn_tanh, rnn_relu, lstm or gru (got 'lstn')"),
                    HasSubstr("did you mean 'lstm'?")));
  EXPECT_THAT(error_of([] { RecurrentNet(RecurrentNetOptions("gru", 3, 4, 2).dropout(0.5)); }),
              HasSubstr("has no effect with num_layers=1"));
  RecurrentNet net(RecurrentNetOptions("gru", 3, 4, 2));
  EXPECT_THAT(error_of([&] {
                net(at::randn({2, 3}));
              }),
              HasSubstr("expected input [batch, time, 3] (got [2, 3])"));
}

// ---- ResNet ----

// Closed-form parameter count: conv k·k·in·out (no bias), BatchNorm 2·c, fc with bias; a
// projection shortcut (1×1 conv + BN) where the stride or the channels change.
int64_t resnet_count(int64_t depth, int64_t classes, bool imagenet, int64_t width = 64,
                     int64_t in_channels = 3) {
  const auto conv = [](int64_t k, int64_t in, int64_t out) { return k * k * in * out; };
  const auto bn = [](int64_t c) { return 2 * c; };
  const std::vector<int64_t> blocks = ResNetImpl::blocks_per_stage(depth);
  const bool bottleneck = depth >= 50;
  const int64_t expansion = bottleneck ? 4 : 1;
  int64_t n = conv(imagenet ? 7 : 3, in_channels, width) + bn(width);
  int64_t in = width;
  for (int64_t s = 0; s < 4; ++s) {
    const int64_t c = width << s;
    const int64_t out = c * expansion;
    for (int64_t b = 0; b < blocks[s]; ++b) {
      const bool stride = s > 0 && b == 0;
      if (bottleneck) {
        n += conv(1, in, c) + bn(c) + conv(3, c, c) + bn(c) + conv(1, c, out) + bn(out);
      } else {
        n += conv(3, in, c) + bn(c) + conv(3, c, c) + bn(c);
      }
      if (stride || in != out) n += conv(1, in, out) + bn(out);
      in = out;
    }
  }
  return n + in * classes + classes;
}

TEST(ResNet, ClosedFormMatchesTorchvision) {
  // torchvision.models.resnetXX(num_classes=1000): sum(p.numel() for p in m.parameters()).
  EXPECT_EQ(resnet_count(18, 1000, true), 11689512);
  EXPECT_EQ(resnet_count(34, 1000, true), 21797672);
  EXPECT_EQ(resnet_count(50, 1000, true), 25557032);
  EXPECT_EQ(resnet_count(101, 1000, true), 44549160);
  EXPECT_EQ(resnet_count(152, 1000, true), 60192808);
  // 10 classes: fc loses 990 rows of 512 weights + bias.
  EXPECT_EQ(resnet_count(18, 10, true), 11689512 - 990 * 513);
  EXPECT_EQ(resnet_count(18, 10, true), 11181642);
}

TEST(ResNet, ParameterCounts) {
  EXPECT_EQ(parameter_count(*ResNet(ResNetOptions(18))), 11689512);
  EXPECT_EQ(parameter_count(*ResNet(ResNetOptions(18).classes(10))), 11181642);
  // cifar stem: conv1 is 3×3 instead of 7×7 (64·3·(49 - 9) fewer weights).
  EXPECT_EQ(parameter_count(*ResNet(ResNetOptions(18).classes(10).stem("cifar"))),
            11181642 - 64 * 3 * 40);
  EXPECT_EQ(parameter_count(*ResNet(ResNetOptions(50))), 25557032);
  for (const int64_t depth : {34, 101, 152}) {
    SCOPED_TRACE(depth);
    EXPECT_EQ(parameter_count(*ResNet(ResNetOptions(depth).width(8).classes(7).in_channels(1))),
              resnet_count(depth, 7, true, 8, 1));
  }
}

TEST(ResNet, Forward18Cifar) {
  torch::NoGradGuard no_grad;
  ResNet net(ResNetOptions(18).classes(10).stem("cifar"));
  EXPECT_FALSE(net->maxpool);
  EXPECT_EQ(shape(net(at::randn({2, 3, 32, 32}))), (std::vector<int64_t>{2, 10}));
}

TEST(ResNet, Forward50ImageNet) {
  torch::NoGradGuard no_grad;
  ResNet net(ResNetOptions(50).classes(10).width(16));
  EXPECT_TRUE(net->maxpool);
  EXPECT_EQ(shape(net(at::randn({1, 3, 64, 64}))), (std::vector<int64_t>{1, 10}));
  net->eval();
  EXPECT_EQ(shape(net(at::randn({2, 3, 40, 48}))), (std::vector<int64_t>{2, 10}));
}

// torchvision's parameter names for resnet18/34: conv1, bn1, layerS.B.{conv1,bn1,conv2,bn2}
// with downsample.0 (conv) / downsample.1 (BN) on the first block of stages 2–4, fc.
std::vector<std::string> torchvision_basic_paths(const std::vector<int64_t>& blocks) {
  std::vector<std::string> p{"conv1.weight", "bn1.weight", "bn1.bias"};
  for (size_t s = 0; s < 4; ++s) {
    for (int64_t b = 0; b < blocks[s]; ++b) {
      const std::string block = "layer" + std::to_string(s + 1) + "." + std::to_string(b) + ".";
      for (const char* name :
           {"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight", "bn2.bias"}) {
        p.push_back(block + name);
      }
      if (s > 0 && b == 0) {
        for (const char* name :
             {"downsample.0.weight", "downsample.1.weight", "downsample.1.bias"}) {
          p.push_back(block + name);
        }
      }
    }
  }
  p.push_back("fc.weight");
  p.push_back("fc.bias");
  return p;
}

TEST(ResNet, PathsMatchTorchvision) {
  ResNet r18(ResNetOptions(18).width(8));
  EXPECT_EQ(parameter_paths(*r18), torchvision_basic_paths({2, 2, 2, 2}));
  ResNet r34(ResNetOptions(34).width(8));
  EXPECT_EQ(parameter_paths(*r34), torchvision_basic_paths({3, 4, 6, 3}));
  EXPECT_TRUE(r18->named_buffers().contains("layer1.0.bn2.running_var"));
  EXPECT_TRUE(r18->named_buffers().contains("layer2.0.downsample.1.running_mean"));

  ResNet r50(ResNetOptions(50).width(8));
  for (const char* path :
       {"layer1.0.conv3.weight", "layer1.0.bn3.bias", "layer1.0.downsample.0.weight",
        "layer4.2.conv2.weight", "layer3.5.bn1.weight", "fc.bias"}) {
    EXPECT_TRUE(has_path(*r50, path)) << path;
  }
  EXPECT_FALSE(has_path(*r50, "layer1.1.downsample.0.weight"));
  EXPECT_FALSE(has_path(*r18, "layer1.0.downsample.0.weight"));
  EXPECT_EQ(r50->layer3->size(), 6u);
  EXPECT_EQ(r50->fc->options.in_features(), 8 * 8 * 4);
}

TEST(ResNet, CloneAndErrors) {
  expect_deep_clone(*ResNet(ResNetOptions(18).width(4).stem("cifar")));
  EXPECT_THAT(error_of([] { ResNet(ResNetOptions(19)); }),
              HasSubstr("torchinit::nn::ResNet: depth must be 18, 34, 50, 101 or 152 (got 19)"));
  EXPECT_THAT(error_of([] { ResNet(ResNetOptions(18).stem("cfar")); }),
              HasSubstr("did you mean 'cifar'?"));
  ResNet net(ResNetOptions(18).width(4));
  EXPECT_THAT(error_of([&] {
                net(at::randn({2, 1, 32, 32}));
              }),
              HasSubstr("expected input [batch, 3, height, width] (got [2, 1, 32, 32])"));
}

TEST(Blocks, ShapesAndShortcuts) {
  torch::NoGradGuard no_grad;
  BasicBlock same(BasicBlockOptions(8, 8));
  EXPECT_FALSE(same->downsample);
  EXPECT_EQ(shape(same(at::randn({2, 8, 6, 6}))), (std::vector<int64_t>{2, 8, 6, 6}));
  BasicBlock down(BasicBlockOptions(8, 16).stride(2));
  EXPECT_TRUE(down->downsample);
  EXPECT_EQ(shape(down(at::randn({2, 8, 6, 6}))), (std::vector<int64_t>{2, 16, 3, 3}));

  Bottleneck widen(BottleneckOptions(8, 8));  // 8 → 32 channels: projection
  EXPECT_TRUE(widen->downsample);
  EXPECT_EQ(shape(widen(at::randn({2, 8, 6, 6}))), (std::vector<int64_t>{2, 32, 6, 6}));
  Bottleneck identity(BottleneckOptions(32, 8));
  EXPECT_FALSE(identity->downsample);
  Bottleneck strided(BottleneckOptions(32, 16).stride(2));
  EXPECT_EQ(strided->conv2->options.stride()->at(0), 2);  // stride on the 3×3 (v1.5)
  EXPECT_EQ(shape(strided(at::randn({1, 32, 8, 8}))), (std::vector<int64_t>{1, 64, 4, 4}));
  expect_deep_clone(*strided);
}

}  // namespace
}  // namespace torchinit::nn
