// Tied weights (one tensor reachable by several paths) and Embedding padding rows under plans.
#include <ATen/ops/empty.h>
#include <gtest/gtest.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

#include <string>
#include <vector>

#include "test_util.h"
#include "torchinit/plan.h"
#include "torchinit/shard.h"

namespace torchinit {
namespace {

namespace tnn = torch::nn;
using testutil::ContainsAll;
using testutil::error_of;
using testutil::same_bytes;

// A language model whose output head shares the embedding table: the Linear head's weight is
// the embedding's storage (set_data, as LibTorch C++ code ties weights).
struct TiedLM : tnn::Module {
  explicit TiedLM(int64_t vocab = 50, int64_t dim = 16) {
    emb = register_module("emb", tnn::Embedding(vocab, dim));
    head = register_module("head", tnn::Linear(dim, vocab));
    torch::NoGradGuard no_grad;
    head->weight.set_data(emb->weight);
  }
  tnn::Embedding emb{nullptr};
  tnn::Linear head{nullptr};
};

// The same Linear registered under two names: one TensorImpl per parameter, two paths each.
struct SharedBlock : tnn::Module {
  SharedBlock() {
    a = register_module("a", tnn::Linear(32, 32));
    register_module("b", a);
  }
  tnn::Linear a{nullptr};
};

const char* kIssuePlan = ":embedding = normal(std=0.02)\n:weight = xavier_uniform\n:bias = zeros";

TEST(TiedWeights, ConflictingRulesAreAnErrorInStrictModeAndNothingIsWritten) {
  TiedLM lm;
  testutil::fill_pattern_(lm.emb->weight);
  const at::Tensor before = lm.emb->weight.detach().clone();
  const std::string e = error_of([&] { Plan::parse(kIssuePlan).apply(lm); });
  EXPECT_TRUE(ContainsAll(e, {"emb.weight", "head.weight", "tied", "rule 1", ":embedding", "rule 2",
                              ":weight = xavier_uniform", "normal(mean=0, std=0.02)",
                              "strict(false)", "No parameter was changed"}));
  EXPECT_TRUE(same_bytes(lm.emb->weight, before));
}

TEST(TiedWeights, NonStrictInitializesOnceByTheCanonicalPathsRule) {
  TiedLM lm;
  const Report rep = Plan::parse(kIssuePlan).apply(lm, ApplyOptions().seed(5).strict(false));
  // One row for the shared tensor, found by either path; the canonical path is the first in
  // named_parameters order.
  ASSERT_EQ(rep.rows().size(), 2u);  // emb.weight (= head.weight) and head.bias
  const ReportRow& row = rep.at("head.weight");
  EXPECT_EQ(row.path, "emb.weight");
  EXPECT_EQ(row.aliases, std::vector<std::string>{"head.weight"});
  EXPECT_EQ(row.spec, "normal(mean=0, std=0.02)");
  EXPECT_EQ(row.key, hash_key("emb.weight"));
  ASSERT_EQ(rep.warnings().size(), 1u);
  EXPECT_TRUE(ContainsAll(rep.warnings()[0], {"emb.weight", "head.weight", "rule 2"}));
  // The tensor holds what the Report says: the canonical rule's values under the canonical key,
  // written once (a second write, xavier's, would replace them).
  at::Tensor expected = at::empty({50, 16});
  init_(expected, "normal(std=0.02)", InitOptions().seed(5).key("emb.weight"));
  EXPECT_TRUE(same_bytes(lm.emb->weight, expected));
  EXPECT_TRUE(same_bytes(lm.head->weight, expected));
  const ModuleCheck mc = check(lm, rep);
  EXPECT_EQ(mc.results().size(), 2u);  // the tied tensor once
  EXPECT_FALSE(mc.results()[0].rejected()) << mc.table();
  EXPECT_NE(rep.table().find("also head.weight"), std::string::npos) << rep.table();
  EXPECT_NE(rep.json().find("\"aliases\": [\n        \"head.weight\""), std::string::npos)
      << rep.json();
}

TEST(TiedWeights, AgreeingRulesAreSilent) {
  TiedLM lm;
  const Report rep = Plan::parse("head.weight = normal(std=0.02)\n" + std::string(kIssuePlan))
                         .apply(lm, ApplyOptions().seed(5));
  for (const auto& w : rep.warnings()) EXPECT_EQ(w.find("tied"), std::string::npos) << w;
  EXPECT_EQ(rep.at("emb.weight").spec, "normal(mean=0, std=0.02)");
  // An alias that no rule matches takes the canonical path's rule.
  TiedLM other;
  EXPECT_NO_THROW(Plan::parse(":embedding = normal(std=0.02)\nhead.bias = zeros").apply(other));
}

TEST(TiedWeights, AnAliasRuleWithoutACanonicalRuleIsNamed) {
  TiedLM lm;
  const std::string e =
      error_of([&] { Plan::parse("head.* = zeros").apply(lm, ApplyOptions().seed(1)); });
  EXPECT_TRUE(ContainsAll(e, {"emb.weight: no rule", "head.weight", "give emb.weight a rule"}));
  testutil::fill_pattern_(lm.emb->weight);
  const at::Tensor before = lm.emb->weight.detach().clone();
  const Report rep = Plan::parse("head.* = zeros").apply(lm, ApplyOptions().strict(false));
  EXPECT_TRUE(same_bytes(lm.emb->weight, before));
  ASSERT_FALSE(rep.warnings().empty());
  EXPECT_NE(rep.warnings()[0].find("left unchanged"), std::string::npos) << rep.warnings()[0];
}

TEST(TiedWeights, SharedSubmoduleIsInitializedOnce) {
  SharedBlock m;
  const Report rep = Plan::preset("he").apply(m, ApplyOptions().seed(3));
  ASSERT_EQ(rep.rows().size(), 2u);
  EXPECT_EQ(rep.at("b.weight").path, "a.weight");
  EXPECT_EQ(rep.at("a.bias").aliases, std::vector<std::string>{"b.bias"});
  at::Tensor expected = at::empty({32, 32});
  init_(expected, "kaiming_normal(nonlinearity=relu)", InitOptions().seed(3).key("a.weight"));
  EXPECT_TRUE(same_bytes(m.a->weight, expected));
  EXPECT_EQ(check(m, rep).results().size(), 2u);
  // With the LibTorch backend the generator is drawn once for the tensor.
  SharedBlock t;
  torch::manual_seed(9);
  Plan::parse(":weight = uniform(-1, 1)\n:bias = zeros")
      .apply(t, ApplyOptions().backend(Backend::Torch));
  torch::manual_seed(9);
  const at::Tensor once = at::empty({32, 32}).uniform_(-1, 1);
  EXPECT_TRUE(same_bytes(t.a->weight, once));
}

// Two parameters that are different views of one storage.
struct Views : tnn::Module {
  Views(int64_t p0, int64_t q0) {
    base = at::empty({10});
    register_parameter("p", base.narrow(0, p0, 5));
    register_parameter("q", base.narrow(0, q0, 5));
  }
  at::Tensor base;
};

struct Interleaved : tnn::Module {
  Interleaved() {
    base = at::empty({256, 512});
    register_parameter("even", base.slice(1, 0, 512, 2));
    register_parameter("odd", base.slice(1, 1, 512, 2));
  }
  at::Tensor base;
};

TEST(TiedWeights, OverlappingViewsAreAnErrorDisjointViewsAreNot) {
  Views overlapping(0, 3);
  testutil::fill_pattern_(overlapping.base);
  const at::Tensor before = overlapping.base.clone();
  EXPECT_TRUE(
      ContainsAll(error_of([&] {
                    Plan::parse("* = uniform(-1, 1)").apply(overlapping, ApplyOptions().seed(1));
                  }),
                  {"p [5]", "q [5]", "overlap", "No parameter was changed"}));
  EXPECT_TRUE(same_bytes(overlapping.base, before));
  Views disjoint(0, 5);
  EXPECT_EQ(Plan::parse("* = uniform(-1, 1)").apply(disjoint, ApplyOptions().seed(1)).rows().size(),
            2u);
  // Interleaved views (even and odd columns) share a memory range but no element.
  Interleaved columns;
  const Report rep = Plan::parse("* = uniform(-1, 1)").apply(columns, ApplyOptions().seed(1));
  EXPECT_EQ(rep.rows().size(), 2u);
  EXPECT_TRUE(check(columns, rep).passed());
}

TEST(TiedWeights, ApplyShardedSlicesTheTiedTensorOnce) {
  const Plan plan = Plan::parse(":embedding = normal(std=0.02)\n:bias = zeros");
  TiedLM full;
  plan.apply(full, ApplyOptions().seed(8));
  // Rows [10, 30) of the shared [50, 16] table, named by its alias.
  TiedLM sharded(20, 16);
  ShardMap shards{{"head.weight", ParamShard{{50, 16}, Slice::rows(10, 30)}},
                  {"head.bias", ParamShard{{50}, Slice::rows(10, 30)}}};
  const Report rep = plan.apply_sharded(sharded, shards, ApplyOptions().seed(8));
  EXPECT_EQ(rep.at("head.weight").path, "emb.weight");
  EXPECT_EQ(rep.at("emb.weight").shape, (std::vector<int64_t>{50, 16}));
  EXPECT_TRUE(same_bytes(sharded.emb->weight, full.emb->weight.narrow(0, 10, 20)));
  // Different shards for the two paths of one tensor are refused.
  TiedLM bad(20, 16);
  shards.emplace("emb.weight", ParamShard{{50, 16}, Slice::rows(0, 20)});
  EXPECT_NE(error_of([&] {
              plan.apply_sharded(bad, shards, ApplyOptions().seed(8));
            }).find("different shards"),
            std::string::npos);
}

TEST(PaddingIdx, PaddingRowIsZeroUnderEveryPresetAndChecked) {
  for (const auto& name : Plan::presets()) {
    SCOPED_TRACE(name);
    tnn::Embedding emb(tnn::EmbeddingOptions(200, 64).padding_idx(7));
    const Report rep =
        Plan::preset(name, /*layers=*/2)
            .apply(*emb, ApplyOptions().seed(4).strict(!testutil::needs_transformer_blocks(name)));
    EXPECT_EQ(rep.at("weight").padding_idx, std::optional<int64_t>(7));
    EXPECT_TRUE(emb->weight[7].eq(0).all().item<bool>());
    EXPECT_GT(emb->weight[6].abs().sum().item<double>(), 0);
    EXPECT_NE(rep.table().find("padding row 7 = 0"), std::string::npos);
    const ModuleCheck mc = check(*emb, rep);
    EXPECT_TRUE(mc.passed()) << mc.table();
    ASSERT_EQ(mc.paths().size(), 2u);
    EXPECT_EQ(mc.paths()[0], "weight[padding_idx=7]");
    // The padding row is checked exactly, the others against the theory.
    {
      torch::NoGradGuard g;
      emb->weight[7][3] = 1e-3;
    }
    EXPECT_FALSE(check(*emb, rep).passed());
  }
}

TEST(PaddingIdx, ShardsZeroTheirPartOfThePaddingRow) {
  const Plan plan = Plan::preset("gpt2", 2);
  tnn::Embedding full(tnn::EmbeddingOptions(40, 8).padding_idx(12));
  plan.apply(*full, ApplyOptions().seed(2));
  for (const Slice& s : {Slice::rows(10, 20), Slice::flat(95, 140)}) {
    tnn::Embedding shard(tnn::EmbeddingOptions(40, 8).padding_idx(12));
    const auto shape = s.shard_shape({40, 8}, "test");
    {
      torch::NoGradGuard g;
      shard->weight.set_data(at::empty(shape));
    }
    plan.apply_sharded(*shard, {{"weight", ParamShard{{40, 8}, s}}}, ApplyOptions().seed(2));
    const at::Tensor want =
        s.is_flat() ? full->weight.reshape({-1}).narrow(0, 95, 45) : full->weight.narrow(0, 10, 10);
    EXPECT_TRUE(same_bytes(shard->weight, want)) << s.str();
    // Row 12 is elements [96, 104): shard row 2 of rows [10, 20), elements [1, 9) of [95, 140).
    const at::Tensor part = s.is_flat() ? shard->weight.narrow(0, 1, 8) : shard->weight[2];
    EXPECT_TRUE(part.eq(0).all().item<bool>()) << s.str();
  }
}

}  // namespace
}  // namespace torchinit
