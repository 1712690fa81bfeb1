// Transformers (gpt, vit): shapes, paths in HF/torchtitan style, causality, tied heads, the roles
// and blocks plans see (residual_out, readout, fused QKV), presets checked against their theory,
// probes, and errors that name the argument.
#include <ATen/ops/equal.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/utils.h>

#include <cmath>
#include <string>
#include <vector>

#include "test_util.h"
#include "torchinit/check.h"
#include "torchinit/nn/gpt.h"
#include "torchinit/nn/make.h"
#include "torchinit/nn/probe.h"
#include "torchinit/nn/vit.h"
#include "torchinit/plan.h"

namespace torchinit::nn {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using torchinit::testutil::error_of;

std::vector<std::string> paths(const torch::nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& p : m.named_parameters()) out.push_back(p.key());
  return out;
}

TEST(Transformers, GptShapesAndPaths) {
  GPT lm(GPTOptions(96, 32, 64, 2, 4));
  const auto tokens = at::randint(96, {2, 16}, at::kLong);
  EXPECT_EQ(lm->forward(tokens).sizes(), (std::vector<int64_t>{2, 16, 96}));
  const auto p = paths(*lm);
  for (const char* want :
       {"tok_emb.weight", "pos_emb.weight", "layers.1.ln1.weight", "layers.1.attn.qkv.weight",
        "layers.1.attn.qkv.bias", "layers.1.attn.proj.weight", "layers.1.mlp.fc1.weight",
        "layers.1.mlp.fc2.weight", "layers.1.ln2.bias", "norm.weight", "head.weight"})
    EXPECT_THAT(p, Contains(std::string(want)));
  EXPECT_EQ(lm->layers[0]->named_parameters()["attn.qkv.weight"].sizes(),
            (std::vector<int64_t>{192, 64}));
  EXPECT_FALSE(lm->named_parameters().contains("head.bias"));
}

TEST(Transformers, GptIsCausal) {
  torch::manual_seed(1);
  GPT lm(GPTOptions(50, 16, 32, 2, 4));
  auto tokens = at::randint(50, {1, 12}, at::kLong);
  const auto before = lm->forward(tokens);
  tokens[0][8] = (tokens[0][8].item<int64_t>() + 1) % 50;  // change a later token
  const auto after = lm->forward(tokens);
  EXPECT_TRUE(at::equal(before.narrow(1, 0, 8), after.narrow(1, 0, 8)));  // earlier ones unchanged
  EXPECT_FALSE(at::equal(before.narrow(1, 8, 4), after.narrow(1, 8, 4)));
}

TEST(Transformers, VitShapesPathsAndProbe) {
  ViT vit(ViTOptions(10, 32, 2, 4));
  EXPECT_EQ(vit->forward(at::randn({3, 1, 28, 28})).sizes(), (std::vector<int64_t>{3, 10}));
  EXPECT_EQ(vit->pos_emb->weight.sizes(), (std::vector<int64_t>{49, 32}));  // 7×7 patches
  struct Steps : Probe {
    std::vector<std::string> seen;
    void record(const std::string& path, const std::string&, const at::Tensor&,
                const torch::nn::Module*) override {
      seen.push_back(path);
    }
  } steps;
  forward_probed(*vit, at::randn({2, 1, 28, 28}), steps);
  EXPECT_EQ(steps.seen, (std::vector<std::string>{"patch", "tokens", "layers.0", "layers.1", "norm",
                                                  "mean_pool", "head"}));
}

TEST(Transformers, PlansSeeResidualOutputsReadoutsAndFusedQkv) {
  auto lm = make("gpt(vocab=96, context=32, width=64, depth=2, heads=4)");
  const Report r = Plan::preset("gpt2", 2).explain(lm);
  const ReportRow& qkv = r.at("layers.0.attn.qkv.weight");
  EXPECT_EQ(qkv.blocks, 3);
  EXPECT_EQ(qkv.fans.fan_in, 64);
  EXPECT_EQ(qkv.fans.fan_out, 64);  // one block, not the fused 192 rows
  EXPECT_EQ(qkv.role, "weight");
  for (const char* p : {"layers.0.attn.proj.weight", "layers.1.mlp.fc2.weight"}) {
    EXPECT_EQ(r.at(p).role, "residual_out") << p;
    // GPT-2: residual projections N(0, 0.02/sqrt(2 L)), L = 2.
    EXPECT_NEAR(r.at(p).theory.std(), 0.02 / std::sqrt(4.0), 1e-15) << p;
  }
  EXPECT_EQ(r.at("head.weight").role, "readout");
  EXPECT_EQ(r.at("layers.0.mlp.fc1.weight").role, "weight");
  EXPECT_EQ(r.at("tok_emb.weight").role, "embedding");
  EXPECT_NEAR(r.at("head.weight").theory.std(), 0.02, 1e-15);
}

TEST(Transformers, EveryPresetAppliesAndPassesItsCheck) {
  // alpha = 1e-6 family-wise per model: a false alarm has probability 1e-6.
  for (const char* spec : {"gpt(vocab=96, context=32, width=64, depth=2, heads=4)",
                           "vit(classes=10, width=64, depth=2, heads=4)"}) {
    for (const std::string preset : {"torch_default", "he", "xavier", "lecun_selu", "gpt2"}) {
      SCOPED_TRACE(std::string(spec) + " | " + preset);
      auto net = make(spec);
      const Report r =
          Plan::preset(preset, preset == "gpt2" ? 2 : 0).apply(net, ApplyOptions().seed(5));
      EXPECT_TRUE(check(net, r, CheckOptions().alpha(1e-6)).passed());
    }
  }
}

// The depth presets against their papers' formulas, row by row, on a 3-block GPT of width 64
// (MLP hidden width 256).
TEST(TransformerPresets, DepthPresetsFollowTheirFormulas) {
  const char* spec = "gpt(vocab=96, context=32, width=64, depth=3, heads=4)";
  auto lm = make(spec);
  const auto std_of = [](const Report& r, const std::string& path) {
    return r.at(path).theory.std();
  };
  // Megatron-style depth init: N(0, 0.02), block i's residual outputs 0.02/sqrt(2(i+1)).
  const Report megatron = Plan::preset("megatron_depth", 3).explain(lm);
  for (int i = 0; i < 3; ++i) {
    const double want = 0.02 / std::sqrt(2.0 * (i + 1));
    EXPECT_NEAR(std_of(megatron, "layers." + std::to_string(i) + ".attn.proj.weight"), want, 1e-15);
    EXPECT_NEAR(std_of(megatron, "layers." + std::to_string(i) + ".mlp.fc2.weight"), want, 1e-15);
  }
  EXPECT_NEAR(std_of(megatron, "layers.1.attn.qkv.weight"), 0.02, 1e-15);
  EXPECT_NEAR(std_of(megatron, "head.weight"), 0.02, 1e-15);
  // GPT-NeoX: small_init sqrt(2/(5d)), wang_init 2/(L sqrt(d)) on residual outputs, d = 64.
  const Report neox = Plan::preset("gpt_neox", 3).explain(lm);
  const double small = std::sqrt(2.0 / (5 * 64)), wang = 2.0 / (3 * std::sqrt(64.0));
  for (const char* p :
       {"tok_emb.weight", "layers.0.attn.qkv.weight", "layers.2.mlp.fc1.weight", "head.weight"})
    EXPECT_NEAR(std_of(neox, p), small, 1e-15) << p;
  for (const char* p : {"layers.0.attn.proj.weight", "layers.2.mlp.fc2.weight"})
    EXPECT_NEAR(std_of(neox, p), wang, 1e-15) << p;
  // OLMo mitchell: N(0, 1/fan_in) cut at ±3 std; residual outputs of block i 1/(2 (i+1) fan_in).
  const Report olmo = Plan::preset("olmo_mitchell", 3).explain(lm);
  const auto param = [&](const std::string& path, const char* name) {
    return olmo.at(path).theory.param(name);
  };
  EXPECT_NEAR(param("layers.0.attn.qkv.weight", "std"), 1 / std::sqrt(64.0), 1e-15);
  EXPECT_NEAR(param("layers.0.attn.qkv.weight", "b"), 3 / std::sqrt(64.0), 1e-15);
  EXPECT_NEAR(param("tok_emb.weight", "std"), 1 / std::sqrt(64.0), 1e-15);
  for (int i = 0; i < 3; ++i) {
    const std::string block = "layers." + std::to_string(i);
    EXPECT_NEAR(param(block + ".attn.proj.weight", "std"), 1 / std::sqrt(2.0 * 64 * (i + 1)),
                1e-15);
    EXPECT_NEAR(param(block + ".mlp.fc2.weight", "std"), 1 / std::sqrt(2.0 * 256 * (i + 1)), 1e-15);
  }
  // The cut at 3 std is not compensated: the std after it is 0.9866 of the parameter.
  EXPECT_NEAR(
      olmo.at("layers.0.mlp.fc1.weight").theory.std() / param("layers.0.mlp.fc1.weight", "std"),
      0.98658, 1e-5);
}

TEST(TransformerPresets, DepthPresetsRefuseModelsDeeperThanToldOrNoDepth) {
  auto lm = make("gpt(vocab=96, context=32, width=64, depth=3, heads=4)");
  // Block 2's residual projections have no rule: an error, not a silent default.
  EXPECT_THAT(error_of([&] { Plan::preset("megatron_depth", 2).apply(lm); }),
              HasSubstr("layers.2.attn.proj.weight"));
  for (const char* name : {"megatron_depth", "gpt_neox", "olmo_mitchell"})
    EXPECT_THAT(error_of([&] { Plan::preset(name); }), HasSubstr("number of transformer layers"));
}

// A depth preset on a model with fewer blocks than told, or with no residual projections at all,
// would scale nothing: an error naming the fix, nothing written (a warning when not strict).
TEST(TransformerPresets, DepthPresetsRefuseModelsShallowerThanToldOrWithoutResidualRoles) {
  auto lm = make("gpt(vocab=96, context=32, width=64, depth=2, heads=4)");
  const at::Tensor before = lm.ptr()->named_parameters()["tok_emb.weight"].clone();
  for (const char* name : {"megatron_depth", "olmo_mitchell"}) {
    EXPECT_THAT(error_of([&] { Plan::preset(name, 3).apply(lm); }),
                HasSubstr("scales block 2's residual projections (layers=3)"))
        << name;
  }
  EXPECT_TRUE(at::equal(before, lm.ptr()->named_parameters()["tok_emb.weight"]));
  const Report lenient =
      Plan::preset("megatron_depth", 3).apply(lm, ApplyOptions().strict(false).seed(1));
  EXPECT_THAT(lenient.warnings().back(), HasSubstr("scales block 2's residual projections"));

  auto mlp = make("mlp(in=8, hidden=[16], out=4)");
  EXPECT_THAT(error_of([&] { Plan::preset("gpt_neox", 2).apply(mlp); }),
              HasSubstr("gpt_neox scales the residual projections"));
  EXPECT_THAT(error_of([&] { Plan::preset("megatron_depth", 1).apply(mlp); }),
              HasSubstr("scales block 0's residual projections"));
  // gpt2 has been applied to any module since 0.1: its residual rules only warn.
  EXPECT_NO_THROW(Plan::preset("gpt2", 2).apply(mlp));
}

TEST(Transformers, TiedHeadIsTheTokenEmbedding) {
  auto lm = make("gpt(vocab=96, context=32, width=64, depth=1, heads=4, tied=true)");
  const auto params = lm.ptr()->named_parameters();
  EXPECT_EQ(params["head.weight"].data_ptr(), params["tok_emb.weight"].data_ptr());
  // gpt2 gives both N(0, 0.02): one row, one write.
  const Report r = Plan::preset("gpt2", 1).apply(lm, ApplyOptions().seed(3));
  EXPECT_EQ(r.at("head.weight").path, "tok_emb.weight");
  EXPECT_THAT(r.at("tok_emb.weight").aliases, Contains(std::string("head.weight")));
  // he gives the embedding N(0, 1) and the readout kaiming_normal: a tie must not hide that.
  EXPECT_THAT(error_of([&] { Plan::preset("he").apply(lm, ApplyOptions().seed(3)); }),
              HasSubstr("tied"));
}

TEST(Transformers, BadOptionsNameTheArgument) {
  EXPECT_THAT(error_of([] { make("gpt(vocab=96, context=32, width=60, depth=2, heads=8)"); }),
              HasSubstr("heads"));
  EXPECT_THAT(error_of([] { make("vit(classes=10, width=64, depth=2, heads=4, patch=5)"); }),
              HasSubstr("patch"));
  GPT lm(GPTOptions(96, 8, 32, 1, 4));
  EXPECT_THAT(error_of([&] {
                lm->forward(at::randint(96, {1, 9}, at::kLong));
              }),
              HasSubstr("tokens <= 8"));
  EXPECT_THAT(error_of([&] { lm->forward(at::randn({1, 4})); }), HasSubstr("int64 token ids"));
}

}  // namespace
}  // namespace torchinit::nn
