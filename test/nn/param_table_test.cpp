// nn::param_table: Llama's parameters as shapes (nothing allocated), their roles and fans, and
// shards initialized from the table holding the bytes of the full table's init.
#include "torchinit/nn/param_table.h"

#include <ATen/ops/empty.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>

#include "test_util.h"
#include "torchinit/plan.h"
#include "torchinit/plan_params.h"

namespace {

using torchinit::ModuleParam;

std::map<std::string, torchinit::ParamInfo> by_path(const std::vector<ModuleParam>& table) {
  std::map<std::string, torchinit::ParamInfo> out;
  for (const auto& p : table) out[p.info.path] = p.info;
  return out;
}

// Llama-7B: 32 blocks of 9 parameters, the embedding, the final norm and the head; 6.74e9
// parameters (Touvron et al. 2023, Table 2: "6.7B").
TEST(ParamTable, LlamaDefaultsAreLlama7BShapedAndAllocateNothing) {
  const auto table = torchinit::nn::param_table("llama");
  ASSERT_EQ(table.size(), 1u + 32 * 9 + 2);
  int64_t total = 0;
  for (const auto& p : table) {
    EXPECT_FALSE(p.tensor.defined()) << p.info.path;
    total += p.info.numel();
  }
  EXPECT_EQ(total,
            2 * 32000LL * 4096 + 32 * (4 * 4096LL * 4096 + 3 * 4096LL * 11008 + 2 * 4096) + 4096);
  const auto info = by_path(table);
  EXPECT_EQ(info.at("tok_emb.weight").role, "embedding");
  EXPECT_EQ(info.at("tok_emb.weight").shape, (std::vector<int64_t>{32000, 4096}));
  EXPECT_EQ(info.at("layers.7.norm1.weight").role, "norm_scale");
  EXPECT_EQ(info.at("layers.7.attn.q.weight").role, "weight");
  EXPECT_EQ(info.at("layers.7.attn.proj.weight").role, "residual_out");
  EXPECT_EQ(info.at("layers.31.mlp.fc2.weight").role, "residual_out");
  EXPECT_EQ(info.at("layers.31.mlp.fc2.weight").shape, (std::vector<int64_t>{4096, 11008}));
  EXPECT_EQ(info.at("layers.31.mlp.fc2.weight").fans().fan_in, 11008);
  EXPECT_EQ(info.at("layers.31.mlp.fc2.weight").fans().fan_out, 4096);
  EXPECT_EQ(info.at("layers.0.mlp.gate.weight").fans().fan_in, 4096);
  EXPECT_EQ(info.at("head.weight").role, "readout");
}

// A small Llama under megatron_depth: each parameter cut by rows (attention in, MLP in, head,
// embedding, norms) or by columns (the residual projections), two ranks' shards initialized from
// the table alone; together they are the bytes of the full table's init.
TEST(ParamTable, ShardsFromTheTableAreTheFullInitsBytes) {
  const std::string spec = "llama(dim=64, layers=2, heads=4, hidden=160, vocab=100)";
  const auto plan = torchinit::Plan::preset("megatron_depth", 2);
  const auto options = torchinit::ApplyOptions().seed(11);
  std::vector<ModuleParam> full = torchinit::nn::param_table(spec);
  for (auto& p : full) p.tensor = at::empty(p.info.shape);
  torchinit::apply_params(plan, full, options);
  for (int rank = 0; rank < 2; ++rank) {
    std::vector<ModuleParam> mine = torchinit::nn::param_table(spec);
    torchinit::ShardMap shards;
    for (auto& p : mine) {
      const bool by_cols = p.info.role == "residual_out";
      const int64_t n = p.info.shape[by_cols ? 1 : 0], half = n / 2;
      const auto b = rank == 0 ? 0 : half, e = rank == 0 ? half : n;
      const torchinit::Slice slice =
          by_cols ? torchinit::Slice::cols(b, e) : torchinit::Slice::rows(b, e);
      shards[p.info.path] = {p.info.shape, slice};
      p.tensor = at::empty(slice.shard_shape(p.info.shape));
    }
    torchinit::apply_sharded_params(plan, mine, shards, options);
    for (size_t i = 0; i < mine.size(); ++i) {
      const auto& s = shards.at(mine[i].info.path);
      const auto range = s.slice.resolve(s.full_shape, "test");
      at::Tensor want = full[i].tensor;
      for (size_t d = 0; d < range.size(); ++d)
        want = want.slice(int64_t(d), range[d].first, range[d].second);
      EXPECT_TRUE(torchinit::testutil::same_bytes(mine[i].tensor, want.contiguous()))
          << mine[i].info.path << " rank " << rank;
    }
  }
}

TEST(ParamTable, ErrorsNameTheArgumentAndTheFix) {
  EXPECT_NE(torchinit::testutil::error_of([] { torchinit::nn::param_table("lama"); }).find("llama"),
            std::string::npos);
  const std::string unknown =
      torchinit::testutil::error_of([] { torchinit::nn::param_table("llama(dims=64)"); });
  EXPECT_NE(unknown.find("no argument 'dims'; did you mean 'dim'?"), std::string::npos) << unknown;
  const std::string heads =
      torchinit::testutil::error_of([] { torchinit::nn::param_table("llama(dim=96, heads=7)"); });
  EXPECT_NE(heads.find("heads (7) to divide dim (96)"), std::string::npos) << heads;
  const std::string size =
      torchinit::testutil::error_of([] { torchinit::nn::param_table("llama(layers=0)"); });
  EXPECT_NE(size.find("argument 'layers' expects an integer >= 1, got 0"), std::string::npos)
      << size;
}

}  // namespace
