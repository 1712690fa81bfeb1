// DeepNet (Parametrization::deepnet, the deepnet preset) and the Transformer block variants it
// needs: post-LN blocks with the residual multiplier α, separate Q/K/V projections, blocks
// without norms; the init's per-parameter theory, α in the buffers, and bad input.
#include <ATen/ops/allclose.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "test_util.h"
#include "torchinit/check.h"
#include "torchinit/nn/gpt.h"
#include "torchinit/nn/make.h"
#include "torchinit/nn/transformer_block.h"
#include "torchinit/parametrization.h"
#include "torchinit/plan.h"
#include "torchinit/residual_stream.h"

namespace torchinit {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using torchinit::testutil::error_of;

std::vector<std::string> paths(const torch::nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& p : m.named_parameters()) out.push_back(p.key());
  return out;
}

TEST(TransformerVariants, SplitQkvAndNormsGiveTheirPaths) {
  auto split = nn::make("gpt(vocab=32, context=8, width=16, depth=1, heads=2, qkv=split)");
  EXPECT_THAT(paths(*split.ptr()), Contains(std::string("layers.0.attn.v.weight")));
  EXPECT_THAT(paths(*split.ptr()), Not(Contains(std::string("layers.0.attn.qkv.weight"))));
  auto none = nn::make("gpt(vocab=32, context=8, width=16, depth=1, heads=2, norm=none)");
  for (const auto& p : paths(*none.ptr())) {
    EXPECT_THAT(p, Not(HasSubstr("ln"))) << p;
    EXPECT_NE(p, "norm.weight");
  }
  const auto tokens = at::randint(32, {2, 8}, at::kLong);
  for (const char* norm : {"pre", "post", "none"}) {
    auto lm = nn::make(fmt::format(
        "gpt(vocab=32, context=8, width=16, depth=2, heads=2, norm={}, qkv=split)", norm));
    EXPECT_EQ(lm.forward(tokens).sizes(), (std::vector<int64_t>{2, 8, 32})) << norm;
  }
  EXPECT_THAT(
      error_of([] { nn::make("gpt(vocab=32, context=8, width=16, depth=1, heads=2, norm=mid)"); }),
      HasSubstr("norm"));
}

// Post-LN with α: LN1(α x + attn(x)), then LN2(α x + mlp(x)), computed by hand from the parts.
TEST(TransformerVariants, PostLnBlockIsDeepNorm) {
  nn::TransformerBlock block(nn::TransformerBlockOptions(16, 2).norm("post").fused_qkv(false));
  {
    torch::NoGradGuard no_grad;
    block->residual_multiplier.fill_(2.0);
  }
  const at::Tensor x = at::randn({3, 5, 16});
  const at::Tensor h = block->ln1->forward(2.0 * x + block->attn->forward(x));
  const at::Tensor want = block->ln2->forward(2.0 * h + block->mlp->forward(h));
  EXPECT_TRUE(at::allclose(block->forward(x), want, 1e-6, 1e-6));
}

TEST(DeepNet, InitAndResidualMultiplierFollowThePaper) {
  const int64_t layers = 3, d = 32;
  auto lm = nn::make("gpt(vocab=64, context=8, width=32, depth=3, heads=2, norm=post, qkv=split)");
  const Report rep = Parametrization::deepnet(layers).apply(lm, ApplyOptions().seed(4));
  EXPECT_EQ(rep.parametrization(), "deepnet(layers=3)");
  const double beta = std::pow(8.0 * layers, -0.25), alpha = std::pow(2.0 * layers, 0.25);
  const double xavier = std::sqrt(2.0 / (d + d));  // xavier_normal of a d×d projection
  EXPECT_NEAR(rep.at("layers.0.attn.q.weight").theory.std(), xavier, 1e-12);
  EXPECT_NEAR(rep.at("layers.1.attn.k.weight").theory.std(), xavier, 1e-12);
  EXPECT_NEAR(rep.at("layers.2.attn.v.weight").theory.std(), beta * xavier, 1e-12);
  EXPECT_NEAR(rep.at("layers.0.attn.proj.weight").theory.std(), beta * xavier, 1e-12);
  EXPECT_NEAR(rep.at("layers.0.mlp.fc1.weight").theory.std(), beta * std::sqrt(2.0 / (d + 4 * d)),
              1e-12);
  EXPECT_NEAR(rep.at("layers.0.mlp.fc2.weight").theory.std(), beta * std::sqrt(2.0 / (4 * d + d)),
              1e-12);
  ASSERT_EQ(rep.buffers().size(), 3u);
  EXPECT_EQ(rep.buffers()[0].first, "layers.0.residual_multiplier");
  for (size_t i = 0; i < 3; ++i) {
    const auto* block = dynamic_cast<nn::TransformerBlockImpl*>(
        lm.ptr()->named_modules()[fmt::format("layers.{}", i)].get());
    ASSERT_NE(block, nullptr);
    EXPECT_EQ(block->residual_multiplier.item<float>(), float(alpha));  // a float32 buffer
  }
  const ModuleCheck mc = check(lm, rep);
  EXPECT_TRUE(mc.passed()) << mc.table();
}

TEST(DeepNet, BadInputNamesTheFixAndWritesNothing) {
  auto pre = nn::make("gpt(vocab=64, context=8, width=32, depth=2, heads=2, qkv=split)");
  EXPECT_THAT(error_of([&] { Parametrization::deepnet(2).apply(pre); }),
              HasSubstr("DeepNorm is post-LN: build the model with norm=post"));
  auto post =
      nn::make("gpt(vocab=64, context=8, width=32, depth=2, heads=2, norm=post, qkv=split)");
  EXPECT_THAT(error_of([&] { Parametrization::deepnet(3).apply(post); }),
              HasSubstr("the model has 2 TransformerBlocks and deepnet was told 3"));
  auto fused = nn::make("gpt(vocab=64, context=8, width=32, depth=2, heads=2, norm=post)");
  const at::Tensor before = fused.ptr()->named_parameters()["tok_emb.weight"].clone();
  EXPECT_THAT(error_of([&] { Parametrization::deepnet(2).apply(fused); }),
              HasSubstr("deepnet scales V apart from Q and K"));
  EXPECT_TRUE(at::equal(before, fused.ptr()->named_parameters()["tok_emb.weight"]));
  const auto* block =
      dynamic_cast<nn::TransformerBlockImpl*>(fused.ptr()->named_modules()["layers.0"].get());
  ASSERT_NE(block, nullptr);
  EXPECT_DOUBLE_EQ(block->residual_multiplier.item<double>(), 1.0);
  EXPECT_THAT(error_of([] { Parametrization::deepnet(0); }), HasSubstr("layers must be > 0"));
  // The residual recursion is for pre-LN blocks: not silently wrong on others.
  const Report rep = Plan::preset("deepnet", 2).explain(post);
  EXPECT_THAT(error_of([&] { residual_stream(*post.ptr(), rep); }),
              HasSubstr("for pre-LN blocks with a fused QKV"));
}

// T-Fixup's decoder rule (Huang et al. 2020) on blocks without norms: xavier, with V, the
// attention output, the MLP and the embeddings scaled by (9L)^(-1/4).
TEST(TFixup, ScalesFollowThePaper) {
  const int64_t layers = 4, d = 32;
  auto lm = nn::make("gpt(vocab=64, context=8, width=32, depth=4, heads=2, norm=none, qkv=split)");
  const Report rep = Plan::preset("t_fixup", layers).apply(lm, ApplyOptions().seed(8));
  const double s = std::pow(9.0 * layers, -0.25), xavier = std::sqrt(2.0 / (d + d));
  EXPECT_NEAR(rep.at("layers.3.attn.q.weight").theory.std(), xavier, 1e-12);
  EXPECT_NEAR(rep.at("layers.3.attn.v.weight").theory.std(), s * xavier, 1e-12);
  EXPECT_NEAR(rep.at("layers.3.attn.proj.weight").theory.std(), s * xavier, 1e-12);
  EXPECT_NEAR(rep.at("layers.0.mlp.fc2.weight").theory.std(), s * std::sqrt(2.0 / (5 * d)), 1e-12);
  EXPECT_NEAR(rep.at("tok_emb.weight").theory.std(), s / std::sqrt(double(d)), 1e-12);
  EXPECT_NEAR(rep.at("pos_emb.weight").theory.std(), s / std::sqrt(double(d)), 1e-12);
  const ModuleCheck mc = check(lm, rep);
  EXPECT_TRUE(mc.passed()) << mc.table();
  auto fused = nn::make("gpt(vocab=64, context=8, width=32, depth=4, heads=2, norm=none)");
  EXPECT_THAT(error_of([&] { Plan::preset("t_fixup", layers).apply(fused); }),
              HasSubstr("t_fixup scales V apart from Q and K"));
}

}  // namespace
}  // namespace torchinit
