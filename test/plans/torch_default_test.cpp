// The torch_default preset against LibTorch 1.13's own constructors, for every module type with
// parameters: (1) the theory of each row equals the distribution a freshly constructed LibTorch
// module has (exact bounds and constants, plus torchinit::check of the LibTorch values at a
// family-wise alpha of 1e-6); (2) with Backend::Torch each parameter gets the bytes of
// torch::nn::init's call for it under the same manual_seed; (3) for the types whose constructor
// draws in named_parameters order, the whole module gets the constructor's bytes.
#include <fnmatch.h>
#include <gtest/gtest.h>
#include <torch/nn/functional/instancenorm.h>  // instancenorm.h uses it without including it
#include <torch/nn/init.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/adaptive.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/instancenorm.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/modules/transformer.h>
#include <torch/nn/modules/transformercoder.h>
#include <torch/nn/modules/transformerlayer.h>
#include <torch/utils.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "test_util.h"
#include "torchinit/plan.h"

namespace torchinit {
namespace {

namespace tnn = torch::nn;
using testutil::same_bytes;

// What LibTorch's constructor gives the parameters whose path matches `glob`: the distribution,
// and torch::nn::init's call that draws it (on a tensor of the parameter's shape).
struct Expect {
  std::string glob;
  Distribution theory;
  std::function<void(at::Tensor&)> libtorch;
};

struct Case {
  Case(std::string name, std::function<std::shared_ptr<tnn::Module>()> make,
       std::vector<Expect> expect, std::string why_not = "")
      : name(std::move(name)),
        make(std::move(make)),
        expect(std::move(expect)),
        why_not(std::move(why_not)) {}
  std::string name;
  std::function<std::shared_ptr<tnn::Module>()> make;
  std::vector<Expect> expect;
  // Why the constructor's draws cannot be reproduced in named_parameters order; "" when they
  // can (the whole module then gets the constructor's bytes).
  std::string why_not;
};

// torch::nn::init's formulas, written out.
double inv_sqrt(double n) { return 1 / std::sqrt(n); }
double xavier_bound(int64_t fan_in, int64_t fan_out) {
  return std::sqrt(3.0) * std::sqrt(2.0 / double(fan_in + fan_out));
}

Expect uniform(std::string glob, double bound) {
  return {std::move(glob), Distribution::uniform(-bound, bound),
          [bound](at::Tensor& t) { torch::nn::init::uniform_(t, -bound, bound); }};
}
Expect kaiming_sqrt5(std::string glob, int64_t fan_in) {
  // kaiming_uniform_(w, a=sqrt(5)) has bound sqrt(3)·sqrt(2/6)/sqrt(fan_in) = 1/sqrt(fan_in).
  return {std::move(glob), Distribution::uniform(-inv_sqrt(fan_in), inv_sqrt(fan_in)),
          [](at::Tensor& t) { torch::nn::init::kaiming_uniform_(t, std::sqrt(5.0)); }};
}
Expect xavier_uniform(std::string glob, int64_t fan_in, int64_t fan_out) {
  const double b = xavier_bound(fan_in, fan_out);
  return {std::move(glob), Distribution::uniform(-b, b),
          [](at::Tensor& t) { torch::nn::init::xavier_uniform_(t); }};
}
Expect constant(std::string glob, double value) {
  return {std::move(glob), Distribution::constant(value),
          [value](at::Tensor& t) { torch::nn::init::constant_(t, value); }};
}
Expect standard_normal(std::string glob, std::optional<int64_t> padding_row = std::nullopt) {
  return {std::move(glob), Distribution::normal(0, 1), [padding_row](at::Tensor& t) {
            torch::nn::init::normal_(t);
            if (padding_row) t[*padding_row].fill_(0);
          }};
}

std::vector<Case> default_cases() {
  std::vector<Case> c;
  c.push_back({"Linear",
               [] { return tnn::Linear(20, 30).ptr(); },
               {kaiming_sqrt5("weight", 20), uniform("bias", inv_sqrt(20))}});
  // Bilinear: LibTorch's bound is 1/sqrt(in1_features) = 1/sqrt(20), not 1/sqrt(20·30).
  c.push_back({"Bilinear",
               [] { return tnn::Bilinear(20, 30, 40).ptr(); },
               {uniform("weight", inv_sqrt(20)), uniform("bias", inv_sqrt(20))}});
  c.push_back({"Conv1d",
               [] { return tnn::Conv1d(tnn::Conv1dOptions(4, 6, 5)).ptr(); },
               {kaiming_sqrt5("weight", 4 * 5), uniform("bias", inv_sqrt(4 * 5))}});
  c.push_back({"Conv2d grouped",
               [] { return tnn::Conv2d(tnn::Conv2dOptions(4, 8, 3).groups(2)).ptr(); },
               {kaiming_sqrt5("weight", 2 * 9), uniform("bias", inv_sqrt(2 * 9))}});
  c.push_back({"Conv3d",
               [] { return tnn::Conv3d(tnn::Conv3dOptions(2, 4, 3)).ptr(); },
               {kaiming_sqrt5("weight", 2 * 27), uniform("bias", inv_sqrt(2 * 27))}});
  // ConvTranspose: weight [in, out/groups, k…]; torch.nn.init's fan_in is size(1)·k.
  c.push_back({"ConvTranspose1d",
               [] { return tnn::ConvTranspose1d(tnn::ConvTranspose1dOptions(4, 6, 5)).ptr(); },
               {kaiming_sqrt5("weight", 6 * 5), uniform("bias", inv_sqrt(6 * 5))}});
  c.push_back(
      {"ConvTranspose2d grouped",
       [] { return tnn::ConvTranspose2d(tnn::ConvTranspose2dOptions(4, 8, 3).groups(2)).ptr(); },
       {kaiming_sqrt5("weight", 4 * 9), uniform("bias", inv_sqrt(4 * 9))}});
  c.push_back({"ConvTranspose3d",
               [] { return tnn::ConvTranspose3d(tnn::ConvTranspose3dOptions(2, 4, 3)).ptr(); },
               {kaiming_sqrt5("weight", 4 * 27), uniform("bias", inv_sqrt(4 * 27))}});
  c.push_back({"Embedding padding_idx",
               [] { return tnn::Embedding(tnn::EmbeddingOptions(50, 16).padding_idx(3)).ptr(); },
               {standard_normal("weight", 3)}});
  c.push_back({"Embedding padding_idx=-1",
               [] { return tnn::Embedding(tnn::EmbeddingOptions(50, 16).padding_idx(-1)).ptr(); },
               {standard_normal("weight", 49)}});
  c.push_back({"EmbeddingBag",
               [] { return tnn::EmbeddingBag(50, 16).ptr(); },
               {standard_normal("weight")}});
  for (const char* name : {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d",
                           "InstanceNorm2d", "InstanceNorm3d", "LayerNorm", "GroupNorm"}) {
    const std::string n = name;
    c.push_back({n,
                 [n]() -> std::shared_ptr<tnn::Module> {
                   if (n == "BatchNorm1d") return tnn::BatchNorm1d(8).ptr();
                   if (n == "BatchNorm2d") return tnn::BatchNorm2d(8).ptr();
                   if (n == "BatchNorm3d") return tnn::BatchNorm3d(8).ptr();
                   if (n == "InstanceNorm1d")
                     return tnn::InstanceNorm1d(tnn::InstanceNorm1dOptions(8).affine(true)).ptr();
                   if (n == "InstanceNorm2d")
                     return tnn::InstanceNorm2d(tnn::InstanceNorm2dOptions(8).affine(true)).ptr();
                   if (n == "InstanceNorm3d")
                     return tnn::InstanceNorm3d(tnn::InstanceNorm3dOptions(8).affine(true)).ptr();
                   if (n == "LayerNorm") return tnn::LayerNorm(tnn::LayerNormOptions({4, 8})).ptr();
                   return tnn::GroupNorm(2, 8).ptr();
                 },
                 {constant("weight", 1), constant("bias", 0)}});
  }
  c.push_back({"PReLU", [] { return tnn::PReLU().ptr(); }, {constant("weight", 0.25)}});
  c.push_back({"PReLU init=0.1",
               [] { return tnn::PReLU(tnn::PReLUOptions().num_parameters(6).init(0.1)).ptr(); },
               {constant("weight", 0.1)}});
  c.push_back(
      {"RNN bidirectional 2 layers",
       [] { return tnn::RNN(tnn::RNNOptions(5, 7).num_layers(2).bidirectional(true)).ptr(); },
       {uniform("*", inv_sqrt(7))}});
  c.push_back({"LSTM proj_size",
               [] { return tnn::LSTM(tnn::LSTMOptions(5, 8).proj_size(3).num_layers(2)).ptr(); },
               {uniform("*", inv_sqrt(8))}});
  c.push_back(
      {"GRU", [] { return tnn::GRU(tnn::GRUOptions(5, 7)).ptr(); }, {uniform("*", inv_sqrt(7))}});
  c.push_back({"RNNCell", [] { return tnn::RNNCell(5, 7).ptr(); }, {uniform("*", inv_sqrt(7))}});
  c.push_back({"LSTMCell", [] { return tnn::LSTMCell(5, 7).ptr(); }, {uniform("*", inv_sqrt(7))}});
  c.push_back({"GRUCell", [] { return tnn::GRUCell(5, 7).ptr(); }, {uniform("*", inv_sqrt(7))}});
  const char* mha_order =
      "MultiheadAttention constructs out_proj (a Linear: weight, then a bias draw it later "
      "zeroes) before drawing its own parameters, which come first in named_parameters";
  const auto attention = [](const std::string& p, int64_t e, int64_t kdim, int64_t vdim,
                            bool bias_kv) {
    std::vector<Expect> x;
    if (kdim == e && vdim == e) {
      x.push_back(xavier_uniform(p + "in_proj_weight", e, 3 * e));  // over the stacked [3E, E]
    } else {
      x.push_back(xavier_uniform(p + "q_proj_weight", e, e));
      x.push_back(xavier_uniform(p + "k_proj_weight", kdim, e));
      x.push_back(xavier_uniform(p + "v_proj_weight", vdim, e));
    }
    x.push_back(constant(p + "in_proj_bias", 0));
    x.push_back(kaiming_sqrt5(p + "out_proj.weight", e));
    x.push_back(constant(p + "out_proj.bias", 0));
    if (bias_kv) {
      // xavier_normal_ on [1, 1, E]: fan_in = fan_out = E.
      const double s = std::sqrt(2.0 / double(2 * e));
      for (const char* n : {"bias_k", "bias_v"})
        x.push_back({p + n, Distribution::normal(0, s),
                     [](at::Tensor& t) { torch::nn::init::xavier_normal_(t); }});
    }
    return x;
  };
  c.push_back({"MultiheadAttention",
               [] { return tnn::MultiheadAttention(tnn::MultiheadAttentionOptions(16, 4)).ptr(); },
               attention("", 16, 16, 16, false), mha_order});
  c.push_back(
      {"MultiheadAttention kdim vdim add_bias_kv",
       [] {
         return tnn::MultiheadAttention(
                    tnn::MultiheadAttentionOptions(16, 4).kdim(6).vdim(10).add_bias_kv(true))
             .ptr();
       },
       attention("", 16, 6, 10, true), mha_order});
  std::vector<Expect> encoder = attention("self_attn.", 16, 16, 16, false);
  for (Expect e : {kaiming_sqrt5("linear1.weight", 16), uniform("linear1.bias", inv_sqrt(16)),
                   kaiming_sqrt5("linear2.weight", 32), uniform("linear2.bias", inv_sqrt(32)),
                   constant("norm*.weight", 1), constant("norm*.bias", 0)})
    encoder.push_back(e);
  c.push_back({"TransformerEncoderLayer",
               [] {
                 return tnn::TransformerEncoderLayer(
                            tnn::TransformerEncoderLayerOptions(16, 4).dim_feedforward(32))
                     .ptr();
               },
               encoder, mha_order});
  std::vector<Expect> decoder = encoder;
  for (Expect e : attention("multihead_attn.", 16, 16, 16, false)) decoder.push_back(e);
  c.push_back({"TransformerDecoderLayer",
               [] {
                 return tnn::TransformerDecoderLayer(
                            tnn::TransformerDecoderLayerOptions(16, 4).dim_feedforward(32))
                     .ptr();
               },
               decoder, mha_order});
  // The expectations of a layer for each of layers.0 and layers.1 of a stack.
  const auto two_layers = [](const std::vector<Expect>& layer) {
    std::vector<Expect> layers;
    for (const char* l : {"layers.0.", "layers.1."})
      for (const Expect& e : layer) layers.push_back({l + e.glob, e.theory, e.libtorch});
    return layers;
  };
  c.push_back({"TransformerEncoder",
               [] {
                 return tnn::TransformerEncoder(
                            tnn::TransformerEncoderOptions(
                                tnn::TransformerEncoderLayer(
                                    tnn::TransformerEncoderLayerOptions(16, 4).dim_feedforward(32)),
                                2))
                     .ptr();
               },
               two_layers(encoder),
               "TransformerEncoder copies one prototype layer into every layer: its layers hold "
               "equal values, torch_default draws each from the same distribution"});
  c.push_back({"TransformerDecoder",
               [] {
                 return tnn::TransformerDecoder(
                            tnn::TransformerDecoderOptions(
                                tnn::TransformerDecoderLayer(
                                    tnn::TransformerDecoderLayerOptions(16, 4).dim_feedforward(32)),
                                2))
                     .ptr();
               },
               two_layers(decoder),
               "TransformerDecoder copies one prototype layer into every layer"});
  // AdaptiveLogSoftmaxWithLoss: Linear layers without bias in head and tail clusters.
  c.push_back({"AdaptiveLogSoftmaxWithLoss",
               [] {
                 return tnn::AdaptiveLogSoftmaxWithLoss(
                            tnn::AdaptiveLogSoftmaxWithLossOptions(64, 20, {5, 10}))
                     .ptr();
               },
               {kaiming_sqrt5("head.weight", 64), kaiming_sqrt5("tail.0.0.weight", 64),
                kaiming_sqrt5("tail.0.1.weight", 16), kaiming_sqrt5("tail.1.0.weight", 64),
                kaiming_sqrt5("tail.1.1.weight", 4)},
               "LibTorch builds each tail cluster as Sequential(Linear, Linear), whose two "
               "arguments GCC constructs right to left (C++ leaves the order unspecified)"});
  // Transformer: xavier_uniform_ over every parameter with 2+ dims, the submodules' defaults
  // for the others.
  c.push_back(
      {"Transformer",
       [] {
         return tnn::Transformer(tnn::TransformerOptions(16, 4, 1, 1).dim_feedforward(32)).ptr();
       },
       {xavier_uniform("*in_proj_weight", 16, 48), constant("*in_proj_bias", 0),
        xavier_uniform("*out_proj.weight", 16, 16), constant("*out_proj.bias", 0),
        xavier_uniform("*linear1.weight", 16, 32), uniform("*linear1.bias", inv_sqrt(16)),
        xavier_uniform("*linear2.weight", 32, 16), uniform("*linear2.bias", inv_sqrt(32)),
        constant("*norm*.weight", 1), constant("*norm*.bias", 0)},
       "Transformer copies one prototype layer into every layer and then redraws the "
       "2+-dim parameters in named_parameters order after the constructors' draws"});
  return c;
}

const Expect* expectation(const Case& c, const std::string& path) {
  for (const Expect& e : c.expect)
    if (fnmatch(e.glob.c_str(), path.c_str(), 0) == 0) return &e;
  return nullptr;
}

TEST(TorchDefault, TheoryEqualsAFreshLibTorchModule) {
  const Plan plan = Plan::preset("torch_default");
  for (const Case& c : default_cases()) {
    SCOPED_TRACE(c.name);
    torch::manual_seed(11);
    const auto fresh = c.make();
    const Report rep = plan.explain(*fresh);
    ASSERT_EQ(rep.rows().size(), fresh->parameters().size());
    auto params = fresh->named_parameters();
    for (const ReportRow& row : rep.rows()) {
      SCOPED_TRACE(row.path);
      const Expect* e = expectation(c, row.path);
      ASSERT_NE(e, nullptr);
      const Distribution& want = e->theory;
      EXPECT_EQ(row.theory.family(), want.family()) << row.spec;
      EXPECT_NEAR(row.theory.mean(), want.mean(), 1e-15);
      EXPECT_NEAR(row.theory.variance(), want.variance(), 1e-14 * want.variance());
      at::Tensor t = params[row.path].detach().to(at::kDouble);
      if (row.padding_idx) {
        EXPECT_TRUE(t[*row.padding_idx].eq(0).all().item<bool>());
        t = at::cat({t.narrow(0, 0, *row.padding_idx),
                     t.narrow(0, *row.padding_idx + 1, t.size(0) - *row.padding_idx - 1)});
      }
      if (want.family() == "constant") {
        // In the parameter's dtype: PReLU's 0.1 is stored as the float nearest to it.
        EXPECT_TRUE(params[row.path].eq(want.mean()).all().item<bool>());
      } else if (want.family() == "uniform") {
        const double b = want.param("b"), top = t.abs().max().item<double>();
        EXPECT_NEAR(row.theory.param("b"), b, 1e-15 * b);
        EXPECT_LE(top, b);
        // P(max |x| < b (1 - eps)) = (1 - eps)^n <= alpha = 1e-6 for eps = 13.8/n: a bound
        // set too wide (Bilinear's 1/sqrt(600) instead of 1/sqrt(20) is the reverse) shows.
        const double n = double(t.numel());
        if (n >= 28) {
          EXPECT_GE(top, b * (1 - 13.8 / n));
        }
      }
    }
    // The LibTorch values against every row's theory, family-wise alpha 1e-6.
    const ModuleCheck mc = check(*fresh, rep, CheckOptions().alpha(1e-6));
    for (const auto& r : mc.results()) EXPECT_FALSE(r.rejected()) << r.summary();
  }
}

TEST(TorchDefault, TorchBackendGivesTorchNnInitBytesPerParameter) {
  for (const Case& c : default_cases()) {
    SCOPED_TRACE(c.name);
    const auto module = c.make();
    for (const auto& item : module->named_parameters()) {
      SCOPED_TRACE(item.key());
      const Expect* e = expectation(c, item.key());
      ASSERT_NE(e, nullptr);
      at::Tensor expected = at::empty_like(item.value()).detach();
      torch::manual_seed(23);
      e->libtorch(expected);
      torch::manual_seed(23);
      const Report rep = Plan()
                             .rule(item.key(), "torch_default")
                             .apply(*module, ApplyOptions().strict(false).backend(Backend::Torch));
      EXPECT_TRUE(same_bytes(item.value(), expected)) << rep.at(item.key()).spec;
    }
  }
}

TEST(TorchDefault, TorchBackendGivesTheConstructorsBytes) {
  int reproduced = 0;
  for (const Case& c : default_cases()) {
    if (!c.why_not.empty()) continue;
    SCOPED_TRACE(c.name);
    torch::manual_seed(7);
    const auto fresh = c.make();
    const auto ours = c.make();
    torch::manual_seed(7);
    Plan::preset("torch_default").apply(*ours, ApplyOptions().backend(Backend::Torch));
    auto want = fresh->named_parameters();
    for (const auto& item : ours->named_parameters())
      EXPECT_TRUE(same_bytes(item.value(), want[item.key()])) << item.key();
    ++reproduced;
  }
  EXPECT_EQ(reproduced, 27);  // all but attention, transformers, AdaptiveLogSoftmaxWithLoss
}

// LibTorch 1.13's C++ EmbeddingBag leaves its padding row N(0, 1) (PyTorch's Python module and
// LibTorch's Embedding zero it); torchinit zeroes it under every plan. The row takes no part in
// any bag, so the module computes the same; every other row has the constructor's bytes.
TEST(TorchDefault, EmbeddingBagPaddingRowIsZeroOtherRowsAreLibTorchs) {
  const auto make = [] {
    return tnn::EmbeddingBag(tnn::EmbeddingBagOptions(20, 8).padding_idx(4));
  };
  torch::manual_seed(3);
  const auto fresh = make();
  auto ours = make();
  torch::manual_seed(3);
  const Report rep =
      Plan::preset("torch_default").apply(*ours, ApplyOptions().backend(Backend::Torch));
  EXPECT_EQ(rep.at("weight").padding_idx, std::optional<int64_t>(4));
  EXPECT_TRUE(ours->weight[4].eq(0).all().item<bool>());
  for (int64_t r = 0; r < 20; ++r)
    if (r != 4) {
      EXPECT_TRUE(same_bytes(ours->weight[r], fresh->weight[r])) << r;
    }
}

}  // namespace
}  // namespace torchinit
