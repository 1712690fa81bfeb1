// μP (parametrization.h): each parameter's class and multipliers from Tensor Programs V's
// Table 8 on GPT, the forward multipliers in the modules' buffers (and through torch::save and
// torch::load), optimizer groups, the folded readout (Table 3) training the same function as
// the multiplier form, the base model reproduced at the base width, and bad input.
#include <ATen/ops/allclose.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/activation.h>
#include <torch/optim/adam.h>
#include <torch/serialize.h>

#include <cmath>
#include <map>
#include <sstream>
#include <string>

#include "test_util.h"
#include "torchinit/check.h"
#include "torchinit/nn/gpt.h"
#include "torchinit/nn/mlp.h"
#include "torchinit/nn/transformer_block.h"
#include "torchinit/param_groups.h"
#include "torchinit/parametrization.h"
#include "torchinit/plan.h"

namespace torchinit {
namespace {

using ::testing::HasSubstr;
using torchinit::testutil::error_of;

// GPT-2's init at the base width: N(0, 0.02) weights and embeddings, unit norms, zero biases.
const char* kBasePlan =
    ":norm_scale = ones\n:norm_shift = zeros\n:bias = zeros\n* = normal(std=0.02)";

nn::GPT gpt(int64_t width, bool tied = false) {
  return nn::GPT(nn::GPTOptions(64, 16, width, 2, 2).tied(tied));
}

std::map<std::string, at::Tensor> snapshot(const torch::nn::Module& m) {
  std::map<std::string, at::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value().clone();
  for (const auto& b : m.named_buffers()) out[b.key()] = b.value().clone();
  return out;
}

bool unchanged(const torch::nn::Module& m, const std::map<std::string, at::Tensor>& before) {
  for (const auto& [path, t] : snapshot(m))
    if (!at::equal(t, before.at(path))) return false;
  return true;
}

TEST(Mup, GptClassesAndMultipliersFollowTable8) {
  auto base = gpt(32);
  auto model = gpt(128);  // m = 4; two heads, so the head width grows 16 → 64 as well
  const Report rep =
      Parametrization::mup(*base, Plan::parse(kBasePlan)).apply(*model, ApplyOptions().seed(7));
  EXPECT_EQ(rep.parametrization(), "mup(optimizer=adam)");

  const Multipliers& qkv = rep.at("layers.0.attn.qkv.weight").multipliers;  // 3 blocks of d×d
  EXPECT_EQ(qkv.width_class, "hidden");
  EXPECT_DOUBLE_EQ(qkv.width_mult, 4);
  EXPECT_DOUBLE_EQ(qkv.init_scale, 0.5);
  EXPECT_DOUBLE_EQ(qkv.lr, 0.25);
  EXPECT_DOUBLE_EQ(qkv.weight_decay, 4);
  EXPECT_DOUBLE_EQ(rep.at("layers.0.attn.qkv.weight").theory.std(), 0.01);
  EXPECT_EQ(rep.at("layers.1.mlp.fc2.weight").multipliers.width_class, "hidden");

  for (const char* vector : {"tok_emb.weight", "pos_emb.weight", "layers.0.ln1.weight",
                             "layers.0.attn.qkv.bias", "norm.bias"}) {
    SCOPED_TRACE(vector);
    const ReportRow& row = rep.at(vector);
    EXPECT_EQ(row.multipliers.width_class, "vector");
    EXPECT_DOUBLE_EQ(row.multipliers.lr, 1);
    EXPECT_DOUBLE_EQ(row.multipliers.init_scale, 1);
  }
  EXPECT_DOUBLE_EQ(rep.at("tok_emb.weight").theory.std(), 0.02);

  const ReportRow& head = rep.at("head.weight");
  EXPECT_EQ(head.multipliers.width_class, "readout");
  EXPECT_DOUBLE_EQ(head.multipliers.forward, 0.25);
  EXPECT_DOUBLE_EQ(head.multipliers.lr, 1);
  EXPECT_DOUBLE_EQ(head.theory.std(), 0.02);
  EXPECT_DOUBLE_EQ(model->head->multiplier.item<double>(), 0.25);
  // Logits q·kᵀ/d_head, written as β = √(16/64) on standard attention.
  for (const auto* block : {"layers.0", "layers.1"}) {
    auto attn = model->layers[block[7] - '0']->as<nn::TransformerBlock>()->attn;
    EXPECT_DOUBLE_EQ(attn->logit_multiplier.item<double>(), 0.5) << block;
  }
  EXPECT_DOUBLE_EQ(
      model->layers[0]->as<nn::TransformerBlock>()->mlp->fc2->multiplier.item<double>(), 1);

  EXPECT_TRUE(check(*model, rep).passed()) << check(*model, rep).table();
  EXPECT_THAT(rep.table(), HasSubstr("buffer layers.0.attn.logit_multiplier = 0.5"));
  EXPECT_THAT(rep.json(), HasSubstr("\"parametrization\": \"mup(optimizer=adam)\""));
}

TEST(Mup, SgdLearningRatesFollowTable8) {
  auto base = gpt(32);
  auto model = gpt(128);
  const Report rep = Parametrization::mup(*base, Plan::parse(kBasePlan),
                                          MupOptions().optimizer(OptimizerKind::SGD))
                         .explain(*model);
  EXPECT_DOUBLE_EQ(rep.at("tok_emb.weight").multipliers.lr, 4);           // vector: η·m
  EXPECT_DOUBLE_EQ(rep.at("layers.0.mlp.fc1.weight").multipliers.lr, 1);  // hidden: η·m_out/m
  EXPECT_DOUBLE_EQ(rep.at("head.weight").multipliers.lr, 4);              // readout: η·m
  EXPECT_DOUBLE_EQ(rep.at("head.weight").multipliers.weight_decay, 0.25);
}

TEST(Mup, AtTheBaseWidthItIsTheBasePlan) {
  auto base = gpt(32);
  auto model = gpt(32);
  auto direct = gpt(32);
  const Plan plan = Plan::parse(kBasePlan);
  const Report rep = Parametrization::mup(*base, plan).apply(*model, ApplyOptions().seed(3));
  plan.apply(*direct, ApplyOptions().seed(3));
  for (const auto& row : rep.rows()) {
    EXPECT_EQ(row.multipliers.width_class, "finite") << row.path;
    EXPECT_DOUBLE_EQ(row.multipliers.lr, 1) << row.path;
  }
  EXPECT_TRUE(rep.buffers().empty());
  const auto a = model->named_parameters(), b = direct->named_parameters();
  for (const auto& p : a) EXPECT_TRUE(at::equal(p.value(), b[p.key()])) << p.key();
}

TEST(Mup, TiedHeadIsTheEmbeddingWithAReadoutMultiplier) {
  auto base = gpt(32, true);
  auto model = gpt(128, true);
  const Report rep = Parametrization::mup(*base, Plan::parse(kBasePlan)).apply(*model);
  EXPECT_EQ(rep.at("head.weight").path, "tok_emb.weight");
  EXPECT_EQ(rep.at("head.weight").multipliers.width_class, "vector");
  EXPECT_DOUBLE_EQ(model->head->multiplier.item<double>(), 0.25);
  // The tie is set_data (two TensorImpls, one storage): the optimizer still gets it once.
  size_t grouped = 0;
  for (auto& g : param_groups(*model, rep, torch::optim::AdamOptions(1e-3)))
    grouped += g.params().size();
  EXPECT_EQ(grouped, rep.rows().size());
  EXPECT_EQ(grouped + 1, model->parameters().size());
}

TEST(Mup, MultipliersSurviveSaveAndLoad) {
  auto base = gpt(32);
  auto model = gpt(128);
  Parametrization::mup(*base, Plan::parse(kBasePlan)).apply(*model, ApplyOptions().seed(1));
  std::stringstream stream;
  torch::save(model, stream);
  auto loaded = gpt(128);  // fresh: multipliers 1
  torch::load(loaded, stream);
  EXPECT_DOUBLE_EQ(loaded->head->multiplier.item<double>(), 0.25);
  EXPECT_DOUBLE_EQ(
      loaded->layers[1]->as<nn::TransformerBlock>()->attn->logit_multiplier.item<double>(), 0.5);
  const auto tokens = at::randint(64, {2, 8}, at::kLong);
  EXPECT_TRUE(at::equal(model->forward(tokens), loaded->forward(tokens)));
}

TEST(Mup, ParamGroupsScaleLearningRateAndWeightDecay) {
  auto base = gpt(32);
  auto model = gpt(128);
  const Report rep = Parametrization::mup(*base, Plan::parse(kBasePlan)).apply(*model);
  auto groups = param_groups(*model, rep, torch::optim::AdamWOptions(1e-3).weight_decay(0.1));
  std::map<double, size_t> params_by_lr;
  size_t total = 0;
  for (auto& g : groups) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(g.options());
    params_by_lr[o.lr()] += g.params().size();
    EXPECT_NEAR(o.lr() * o.weight_decay(), 1e-4, 1e-18);  // lr·wd kept
    total += g.params().size();
  }
  EXPECT_EQ(params_by_lr.size(), 2u);
  // Hidden: qkv, proj, fc1, fc2 weights of 2 blocks.
  EXPECT_EQ(params_by_lr.at(0.25e-3), 8u);
  EXPECT_EQ(total, model->parameters().size());
  torch::optim::AdamW opt(std::move(groups), torch::optim::AdamWOptions(1e-3));
  const auto tokens = at::randint(64, {2, 8}, at::kLong);
  model->forward(tokens).square().mean().backward();
  opt.step();  // the groups are usable as they are

  EXPECT_THAT(error_of([&] { param_groups(*model, rep, torch::optim::SGDOptions(0.1)); }),
              HasSubstr("MupOptions().optimizer(OptimizerKind::SGD)"));
  const Report plain = Plan::parse(kBasePlan).explain(*model);
  EXPECT_THAT(error_of([&] { param_groups(*model, plain, torch::optim::AdamOptions(1e-3)); }),
              HasSubstr("Parametrization::mup"));
}

// A readout without a multiplier buffer (MLP's last torch::nn::Linear) gets Table 3's folded form.
TEST(Mup, MlpReadoutIsFolded) {
  nn::MLP base(nn::MLPOptions(16, {32, 32}, 10));
  nn::MLP model(nn::MLPOptions(16, {128, 128}, 10));
  const Report rep = Parametrization::mup(*base, Plan::parse("*.bias = zeros\n* = normal(std=0.1)"))
                         .apply(*model, ApplyOptions().seed(5));
  EXPECT_EQ(rep.at("layers.0.weight").multipliers.width_class, "vector");
  EXPECT_EQ(rep.at("layers.2.weight").multipliers.width_class, "hidden");
  const ReportRow& readout = rep.at("layers.4.weight");
  EXPECT_EQ(readout.multipliers.width_class, "readout (folded)");
  EXPECT_DOUBLE_EQ(readout.theory.std(), 0.1 / 4);
  EXPECT_DOUBLE_EQ(readout.multipliers.lr, 0.25);
  EXPECT_TRUE(check(*model, rep).passed());
}

// The folded form trains the same function as the multiplier: αW with Adam at η equals W' = αW
// at α·η, step by step (up to Adam's ε, negligible here).
TEST(Mup, FoldedReadoutTrainsLikeTheMultiplier) {
  torch::manual_seed(0);
  const double alpha = 0.25, lr = 1e-2;
  nn::Projection with(nn::ProjectionOptions(64, 3).role("readout"));
  nn::Projection folded(nn::ProjectionOptions(64, 3).role("readout"));
  {
    torch::NoGradGuard no_grad;
    with->multiplier.fill_(alpha);
    folded->weight.copy_(with->weight * alpha);
    folded->bias.copy_(with->bias);
  }
  torch::optim::Adam a({torch::optim::OptimizerParamGroup(
                            {with->weight}, std::make_unique<torch::optim::AdamOptions>(lr)),
                        torch::optim::OptimizerParamGroup(
                            {with->bias}, std::make_unique<torch::optim::AdamOptions>(lr))},
                       torch::optim::AdamOptions(lr));
  torch::optim::Adam b(
      {torch::optim::OptimizerParamGroup({folded->weight},
                                         std::make_unique<torch::optim::AdamOptions>(alpha * lr)),
       torch::optim::OptimizerParamGroup({folded->bias},
                                         std::make_unique<torch::optim::AdamOptions>(lr))},
      torch::optim::AdamOptions(lr));
  const at::Tensor x = at::randn({32, 64});
  const at::Tensor y = at::randn({32, 3});
  for (int step = 0; step < 5; ++step) {
    a.zero_grad();
    b.zero_grad();
    (with->forward(x) - y).square().mean().backward();
    (folded->forward(x) - y).square().mean().backward();
    a.step();
    b.step();
  }
  EXPECT_TRUE(at::allclose(with->forward(x), folded->forward(x), 1e-5, 1e-6));
}

TEST(Mup, BadInputNamesTheFixAndWritesNothing) {
  auto model = gpt(32);
  Plan::parse(kBasePlan).apply(*model, ApplyOptions().seed(9));
  const auto before = snapshot(*model);
  auto wider = gpt(128);
  EXPECT_THAT(error_of([&] { Parametrization::mup(*wider, Plan::parse(kBasePlan)).apply(*model); }),
              HasSubstr("the base model is wider than the model"));
  nn::GPT deeper(nn::GPTOptions(64, 16, 32, 3, 2));
  auto shallow = nn::GPT(nn::GPTOptions(64, 16, 16, 1, 2));
  EXPECT_THAT(
      error_of([&] { Parametrization::mup(*shallow, Plan::parse(kBasePlan)).apply(*model); }),
      HasSubstr("'layers.1"));
  auto small = gpt(16);
  EXPECT_THAT(error_of([&] {
                Parametrization::mup(*small,
                                     Plan::parse(":bias = zeros\n:norm_scale = ones\n"
                                                 ":norm_shift = zeros\n:embedding = normal\n"
                                                 "* = orthogonal"))
                    .apply(*model);
              }),
              HasSubstr("cannot rescale"));
  EXPECT_TRUE(unchanged(*model, before));
  (void)deeper;
}

TEST(Mup, MultiheadAttentionWithGrowingHeadsWarns) {
  torch::nn::MultiheadAttention base(torch::nn::MultiheadAttentionOptions(16, 2));
  torch::nn::MultiheadAttention model(torch::nn::MultiheadAttentionOptions(64, 2));
  const Report rep = Parametrization::mup(*base, Plan::parse("*bias = zeros\n* = normal(std=0.02)"))
                         .explain(*model);
  ASSERT_EQ(rep.warnings().size(), 1u);
  EXPECT_THAT(rep.warnings()[0], HasSubstr("use torchinit::nn::SelfAttention"));
}

}  // namespace
}  // namespace torchinit
