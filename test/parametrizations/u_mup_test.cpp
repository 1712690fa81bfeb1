// u-μP (Parametrization::u_mup) and the unit-scaled ops it needs (ops=unit): the ops against
// hand-written forms of their formulas, the residual rule against the contributions it promises,
// the per-parameter table, save/load, the coordinate check, and bad input.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/allclose.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/gelu.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/triu.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/serialize.h>

#include <cmath>
#include <limits>
#include <map>
#include <sstream>
#include <string>

#include "test_util.h"
#include "torchinit/check.h"
#include "torchinit/coordcheck.h"
#include "torchinit/gauss_hermite.h"
#include "torchinit/nn/gpt.h"
#include "torchinit/nn/make.h"
#include "torchinit/nn/probe.h"
#include "torchinit/nn/transformer_block.h"
#include "torchinit/param_groups.h"
#include "torchinit/parametrization.h"

namespace torchinit {
namespace {

using ::testing::HasSubstr;
using torchinit::testutil::error_of;

nn::GPT unit_gpt(int64_t width, int64_t depth = 2) {
  return nn::GPT(nn::GPTOptions(64, 16, width, depth, 4).ops("unit"));
}

// lo^(1-a) hi^a, written out as u-μP's unit-scaling does (exp of the log interpolation).
double interpolate(double a, double lo, double hi) {
  return std::exp(a * std::log(hi) + (1 - a) * std::log(lo));
}

TEST(UnitOps, AttentionIsTheUnitScaledDotProduct) {
  nn::SelfAttention attn(nn::TransformerBlockOptions(8, 2).causal(true).ops("unit"));
  EXPECT_FALSE(attn->proj->bias.defined());  // u-μP's projections have no bias
  torch::NoGradGuard no_grad;
  const double beta = 1.5;
  attn->logit_multiplier.fill_(beta);
  const at::Tensor x = at::randn({2, 5, 8});
  // softmax(β q kᵀ/d_h) v, times 1/I(1/(1 + 4 d_h/β²), √(ln T/T), 1), then proj.
  const at::Tensor qkv = at::linear(x, attn->qkv->weight).view({2, 5, 3, 2, 4});
  const at::Tensor q = qkv.select(2, 0).transpose(1, 2), k = qkv.select(2, 1).transpose(1, 2),
                   v = qkv.select(2, 2).transpose(1, 2);
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) * (beta / 4);
  scores = scores.masked_fill(at::triu(at::ones({5, 5}, at::kBool), 1),
                              -std::numeric_limits<double>::infinity());
  const double s =
      1 / interpolate(1 / (1 + 4 * 4 / (beta * beta)), std::sqrt(std::log(5.0) / 5), 1);
  const at::Tensor heads = at::matmul(at::softmax(scores, -1), v) * s;
  const at::Tensor want = at::linear(heads.transpose(1, 2).reshape({2, 5, 8}), attn->proj->weight);
  EXPECT_TRUE(at::allclose(attn->forward(x), want, 1e-5, 1e-6));
}

TEST(UnitOps, MlpIsTheScaledGelu) {
  nn::FeedForward mlp(nn::TransformerBlockOptions(8, 2).ops("unit"));
  torch::NoGradGuard no_grad;
  for (const double gamma : {1.0, 0.7}) {
    mlp->act_multiplier.fill_(gamma);
    const at::Tensor x = at::randn({3, 8});
    const double scale =
        interpolate(1 / (1 + 0.25 / (gamma * gamma)), 2, std::sqrt(2 / (1 - 1 / M_PI)));
    const at::Tensor h = at::gelu(at::linear(x, mlp->fc1->weight) * gamma) / gamma * scale;
    EXPECT_TRUE(at::allclose(mlp->forward(x), at::linear(h, mlp->fc2->weight), 1e-5, 1e-6))
        << gamma;
  }
  // γ = 1: the output scale is 2^0.2 (2/(1 - 1/π))^0.4, about 1.767.
  EXPECT_NEAR(interpolate(0.8, 2, std::sqrt(2 / (1 - 1 / M_PI))), 1.7668, 1e-4);
}

TEST(UnitOps, BlockAddsBranchesWithTau) {
  nn::TransformerBlock block(nn::TransformerBlockOptions(8, 2).ops("unit"));
  torch::NoGradGuard no_grad;
  block->residual_tau[0].fill_(0.5);
  block->residual_tau[1].fill_(2.0);
  const at::Tensor x = at::randn({2, 3, 8});
  const at::Tensor h = (x + block->attn->forward(block->ln1->forward(x)) * 0.5) / std::sqrt(1.25);
  const at::Tensor want = (h + block->mlp->forward(block->ln2->forward(h)) * 2.0) / std::sqrt(5.0);
  EXPECT_TRUE(at::allclose(block->forward(x), want, 1e-5, 1e-6));
  EXPECT_THAT(error_of([] {
                nn::TransformerBlock(nn::TransformerBlockOptions(8, 2).ops("unit").norm("post"));
              }),
              HasSubstr("norm=pre"));
  EXPECT_THAT(
      error_of([] { nn::make("gpt(vocab=8, context=4, width=8, depth=1, heads=2, ops=half)"); }),
      HasSubstr("ops"));
}

// u-μP, App. G: after the stack, the embedding's share of the stream's variance is L/S and
// branch k's α_k²/S (S = L + Σ α_k²), whatever the hyperparameters: every attention branch
// contributes alike, every MLP branch alike, their ratio r², the branches over the embedding
// α_res²·2.
TEST(UnitOps, ResidualRuleGivesTheContributionsItPromises) {
  EXPECT_NEAR(detail::u_mup_residual_tau(0, 4, 1, 1), 1 / std::sqrt(2.0), 1e-15);
  EXPECT_NEAR(detail::u_mup_residual_tau(1, 4, 1, 1), 1 / std::sqrt(3.0), 1e-15);
  EXPECT_NEAR(detail::u_mup_residual_tau(2, 4, 1, 1), 0.5, 1e-15);
  EXPECT_NEAR(detail::u_mup_residual_tau(3, 4, 1, 1), 1 / std::sqrt(5.0), 1e-15);
  for (const int64_t layers : {1, 3, 12})
    for (const auto& [mult, ratio] : std::map<double, double>{{1, 1}, {0.5, 2}, {2, 0.25}}) {
      SCOPED_TRACE(::testing::Message() << "L=" << layers << " mult=" << mult << " r=" << ratio);
      // Shares of the final stream: each add multiplies what is there by 1/(1 + τ²).
      std::vector<double> share(size_t(2 * layers + 1));
      share[0] = 1;  // the embedding
      for (int64_t k = 0; k < 2 * layers; ++k) {
        const double tau = detail::u_mup_residual_tau(k, 2 * layers, mult, ratio);
        for (int64_t j = 0; j <= k; ++j) share[size_t(j)] /= 1 + tau * tau;
        share[size_t(k + 1)] = tau * tau / (1 + tau * tau);
      }
      const double alpha_mlp2 = mult * mult * 2 / (1 + ratio * ratio);
      const double alpha_attn2 = ratio * ratio * alpha_mlp2;
      const double total = double(layers) * (1 + alpha_attn2 + alpha_mlp2);
      EXPECT_NEAR(share[0], double(layers) / total, 1e-12);
      for (int64_t k = 0; k < 2 * layers; ++k)
        EXPECT_NEAR(share[size_t(k + 1)], (k % 2 == 0 ? alpha_attn2 : alpha_mlp2) / total, 1e-12)
            << k;
    }
}

TEST(Umup, EveryParameterGetsTable2) {
  auto model = unit_gpt(32);
  const UmupOptions o = UmupOptions().attn_softmax_mult(2).ffn_act_mult(0.5).output_mult(3);
  const Report rep = Parametrization::u_mup(o).apply(*model, ApplyOptions().seed(5));
  EXPECT_THAT(rep.parametrization(), HasSubstr("u_mup(optimizer=adam"));
  const double delta = 1 / std::sqrt(2.0);  // two blocks
  struct Want {
    const char* path;
    const char* width_class;
    double forward, lr;
  };
  for (const Want& w :
       {Want{"tok_emb.weight", "input", 1, 1 / std::sqrt(32.0)},
        Want{"pos_emb.weight", "input", 1, 1 / std::sqrt(32.0)},
        Want{"layers.0.attn.qkv.weight", "hidden", 1 / std::sqrt(32.0), delta / std::sqrt(32.0)},
        Want{"layers.1.mlp.fc2.weight", "hidden", 1 / std::sqrt(128.0), delta / std::sqrt(128.0)},
        Want{"layers.0.ln1.weight", "vector", 1, delta},
        Want{"layers.1.ln2.bias", "vector", 1, delta}, Want{"norm.weight", "vector", 1, 1},
        Want{"head.weight", "readout", 3.0 / 32, 1}}) {
    SCOPED_TRACE(w.path);
    const Multipliers& m = rep.at(w.path).multipliers;
    EXPECT_EQ(m.width_class, w.width_class);
    EXPECT_DOUBLE_EQ(m.forward, w.forward);
    EXPECT_DOUBLE_EQ(m.lr, w.lr);
    EXPECT_DOUBLE_EQ(m.weight_decay, 1 / w.lr);
  }
  EXPECT_EQ(rep.at("layers.0.attn.proj.weight").spec, "normal(mean=0, std=1)");
  EXPECT_EQ(rep.at("layers.0.ln1.weight").spec, "ones");
  EXPECT_EQ(rep.at("norm.bias").spec, "zeros");
  // The buffers hold the forward multipliers.
  EXPECT_FLOAT_EQ(model->head->multiplier.item<float>(), float(3.0 / 32));  // float buffers
  auto block1 = model->layers[1]->as<nn::TransformerBlock>();
  EXPECT_FLOAT_EQ(block1->mlp->fc1->multiplier.item<float>(), float(1 / std::sqrt(32.0)));
  EXPECT_FLOAT_EQ(block1->attn->logit_multiplier.item<float>(), 2);
  EXPECT_FLOAT_EQ(block1->mlp->act_multiplier.item<float>(), 0.5);
  EXPECT_FLOAT_EQ(block1->residual_tau[0].item<float>(), 0.5f);  // τ_2 of L = 2 at α = r = 1
  EXPECT_FLOAT_EQ(block1->residual_tau[1].item<float>(), float(1 / std::sqrt(5.0)));
  EXPECT_THAT(rep.table(), HasSubstr("buffer layers.1.residual_tau[1]"));
  // Every weight N(0, 1), norms 1, biases 0, checked against that theory.
  EXPECT_TRUE(check(*model, rep).passed()) << check(*model, rep).table();

  // Adam groups: one learning rate per multiplier, every parameter once.
  const auto groups = param_groups(*model, rep, torch::optim::AdamOptions(0.01));
  size_t params = 0;
  for (const auto& g : groups) {
    params += g.params().size();
    const double lr = static_cast<const torch::optim::AdamOptions&>(g.options()).lr();
    bool known = false;
    for (const auto& row : rep.rows()) known |= std::abs(row.multipliers.lr * 0.01 - lr) < 1e-15;
    EXPECT_TRUE(known) << lr;
  }
  EXPECT_EQ(params, model->parameters().size());
}

// The first block's output scale, predicted from the ops' formulas: the stream enters at RMS 1
// ((token + position)/√2 of N(0, 1) rows); LayerNorm makes every projection's input unit, so
// the projections' outputs are N(0, 1) per element. Attention with logits of variance 1/d_h
// averages the values of the t ≤ T positions it sees, nearly uniformly: RMS² s² H_T/T e^(1/d_h)
// (H_T: the harmonic number; e^(1/d_h): the softmax weights' spread, to first order). The MLP:
// c² E[gelu(Z)²] with c the scaled GELU's output scale. Each add (τ f + x)/√(1 + τ²) of a branch
// independent of the stream gives RMS² (τ² f² + x²)/(1 + τ²). Tolerance 4%: the first-order
// softmax term is good to about 1% at d_h >= 16, the RMS of 128 tokens × width to about 1%.
TEST(Umup, TheFirstBlockHasThePredictedScaleAtEveryWidth) {
  const int64_t tokens = 16;
  const double harmonic = [&] {
    double h = 0;
    for (int64_t t = 1; t <= tokens; ++t) h += 1.0 / double(t);
    return h;
  }();
  const double gelu2 = gaussian_expectation([](double z) {
    const double g = z * 0.5 * std::erfc(-z / std::sqrt(2.0));
    return g * g;
  });
  const double c = interpolate(0.8, 2, std::sqrt(2 / (1 - 1 / M_PI)));
  for (const int64_t width : {64, 256}) {
    SCOPED_TRACE(width);
    // A large vocabulary, so that repeated tokens (correlated values) are rare.
    nn::GPT model(nn::GPTOptions(4096, tokens, width, 2, 4).ops("unit"));
    Parametrization::u_mup().apply(*model, ApplyOptions().seed(11));
    struct Rms : nn::Probe {
      std::map<std::string, double> rms;
      void record(const std::string& path, const std::string&, const at::Tensor& out,
                  const torch::nn::Module*) override {
        rms[path] = std::sqrt(out.square().mean().item<double>());
      }
    } probe;
    torch::NoGradGuard no_grad;
    at::Generator gen = at::detail::createCPUGenerator(uint64_t(width));
    model->forward_probed(at::randint(4096, {8, tokens}, gen, at::kLong), probe);
    EXPECT_NEAR(probe.rms["embed"], 1, 0.04);
    const double head = double(width / 4), t = double(tokens);
    const double s = 1 / interpolate(1 / (1 + 4 * head), std::sqrt(std::log(t) / t), 1);
    const double attn2 = s * s * harmonic / t * std::exp(1 / head), mlp2 = c * c * gelu2;
    const double tau0 = detail::u_mup_residual_tau(0, 4, 1, 1);
    const double tau1 = detail::u_mup_residual_tau(1, 4, 1, 1);
    const double h2 = (tau0 * tau0 * attn2 + 1) / (1 + tau0 * tau0);
    const double out = std::sqrt((tau1 * tau1 * mlp2 + h2) / (1 + tau1 * tau1));
    EXPECT_NEAR(probe.rms["layers.0"] / out, 1, 0.04) << probe.rms["layers.0"] << " vs " << out;
    RecordProperty("ratio_" + std::to_string(width), std::to_string(probe.rms["layers.0"] / out));
    RecordProperty("embed_" + std::to_string(width), std::to_string(probe.rms["embed"]));
  }
}

TEST(Umup, ForwardMultipliersSurviveSaveAndLoad) {
  auto model = unit_gpt(32);
  Parametrization::u_mup(UmupOptions().residual_mult(0.5)).apply(*model, ApplyOptions().seed(2));
  std::stringstream stream;
  torch::save(model, stream);
  auto loaded = unit_gpt(32);
  torch::load(loaded, stream);
  const at::Tensor tokens = at::randint(64, {2, 16}, at::kLong);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(at::equal(model->forward(tokens), loaded->forward(tokens)));
  EXPECT_TRUE(at::equal(model->layers[0]->as<nn::TransformerBlock>()->residual_tau,
                        loaded->layers[0]->as<nn::TransformerBlock>()->residual_tau));
}

TEST(Umup, CoordinateCheckPasses) {
  const CoordCheck cc =
      coordcheck("gpt(vocab=32, context=8, width={width}, depth=2, heads=2, ops=unit)",
                 Parametrization::u_mup(), CoordCheckOptions().widths({64, 128, 256, 512}));
  EXPECT_TRUE(cc.passed()) << cc.failures();
  EXPECT_THAT(cc.parametrization, HasSubstr("u_mup"));
  // The embedding's update falls as width^(-1/2), as u-μP's η/√d embedding lr says; every other
  // layer's is flat.
  for (const auto& l : cc.layers()) {
    EXPECT_DOUBLE_EQ(l.predicted, l.type == "embed" ? -0.5 : 0.0) << l.path;
    if (l.type == "embed") {
      EXPECT_LT(l.hi, -0.25) << "the embedding's update would be flat";
    }
  }
}

TEST(Umup, BadInputNamesTheFixAndWritesNothing) {
  auto standard = nn::make("gpt(vocab=32, context=8, width=16, depth=1, heads=2)");
  const at::Tensor before = standard.ptr()->named_parameters()["tok_emb.weight"].clone();
  EXPECT_THAT(error_of([&] { Parametrization::u_mup().apply(standard); }), HasSubstr("ops=unit"));
  EXPECT_TRUE(at::equal(before, standard.ptr()->named_parameters()["tok_emb.weight"]));

  auto tied = nn::make("gpt(vocab=32, context=8, width=16, depth=1, heads=2, ops=unit, tied=true)");
  const at::Tensor tied_before = tied.ptr()->named_parameters()["tok_emb.weight"].clone();
  EXPECT_THAT(error_of([&] { Parametrization::u_mup().apply(tied); }), HasSubstr("tied=false"));
  EXPECT_TRUE(at::equal(tied_before, tied.ptr()->named_parameters()["tok_emb.weight"]));

  auto mlp = nn::make("mlp(in=8, hidden=[16], out=4)");
  EXPECT_THAT(error_of([&] { Parametrization::u_mup().apply(mlp); }),
              HasSubstr("no TransformerBlock"));
  EXPECT_THAT(error_of([] { Parametrization::u_mup(UmupOptions().optimizer(OptimizerKind::SGD)); }),
              HasSubstr("Adam"));
  EXPECT_THAT(error_of([] { Parametrization::u_mup(UmupOptions().output_mult(0)); }),
              HasSubstr("output_mult must be finite and > 0"));
}

}  // namespace
}  // namespace torchinit
