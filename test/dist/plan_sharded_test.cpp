// Plan::apply_sharded on a module whose parameters are shards equals slicing Plan::apply on the
// full module: bytes, keys, fans and theory; stacked LSTM gates whose blocks a shard cuts.
#include <ATen/Functions.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>

#include <map>

#include "test_util.h"
#include "torchinit/plan.h"
#include "torchinit/shard.h"

namespace {

using torchinit::ParamShard;
using torchinit::Slice;
using torchinit::testutil::ContainsAll;
using torchinit::testutil::error_of;
using torchinit::testutil::same_bytes;

torch::nn::Sequential make_net() {
  return torch::nn::Sequential(torch::nn::Linear(23, 37),
                               torch::nn::Conv2d(torch::nn::Conv2dOptions(5, 13, 3)),
                               torch::nn::LSTM(torch::nn::LSTMOptions(11, 7)));
}

// The part of `full` named by `slice`.
at::Tensor part_of(const at::Tensor& full, const Slice& slice) {
  std::vector<at::Tensor> parts;
  const at::Tensor flat = full.reshape({-1});
  for (const auto& r : slice.runs(full.sizes().vec()))
    parts.push_back(flat.narrow(0, r.first, r.count));
  return at::cat(parts).reshape(slice.shard_shape(full.sizes().vec()));
}

TEST(PlanSharded, EqualsSlicingApplyOnTheFullModule) {
  const auto plan = torchinit::Plan::parse(R"(
      @Conv2d.weight = kaiming_normal(mode=fan_out, nonlinearity=relu)
      @LSTM.weight_hh* = orthogonal
      @LSTM.weight_ih* = xavier_uniform
      @LSTM.bias* = kaiming_uniform(a=2.23606797749979, mode=fan_out)
      :weight = xavier_normal
      :bias = kaiming_uniform(a=2.23606797749979)   # LibTorch's bias: fans lent by the weight
  )");
  auto full = make_net();
  const auto full_report = plan.apply(*full, torchinit::ApplyOptions().seed(77));
  // Three different cuts of the same network, each as one rank would hold it.
  const std::vector<std::map<std::string, Slice>> cuts = {
      {{"0.weight", Slice::rows(10, 29)},
       {"0.bias", Slice::rows(10, 29)},
       {"1.weight", Slice::rows(3, 8)},
       {"2.weight_ih_l0", Slice::rows(5, 20)},  // cuts gates 0, 1, 2
       {"2.weight_hh_l0", Slice::cols(2, 5)},
       {"2.bias_ih_l0", Slice::flat(6, 27)}},
      {{"0.weight", Slice::cols(0, 9)},
       {"1.weight", Slice::flat(100, 400)},
       {"2.weight_ih_l0", Slice::flat(70, 200)},
       {"2.weight_hh_l0", Slice::box({{13, 27}, {1, 6}})}},
      {{"0.weight", Slice::flat(0, 1)}, {"1.bias", Slice::rows(12, 13)}},
      // Every weight flat: the shards are 1-D, their roles and fans still the full weights'.
      {{"0.weight", Slice::flat(0, 500)},
       {"1.weight", Slice::flat(7, 585)},
       {"2.weight_ih_l0", Slice::flat(0, 308)},
       {"2.weight_hh_l0", Slice::flat(1, 195)}},
  };
  for (const auto& cut : cuts) {
    auto sharded = make_net();
    torchinit::ShardMap map;
    for (auto& item : sharded->named_parameters()) {
      const auto it = cut.find(item.key());
      if (it == cut.end()) continue;
      const std::vector<int64_t> full_shape = item.value().sizes().vec();
      item.value().set_data(at::empty(it->second.shard_shape(full_shape)));
      map.emplace(item.key(), ParamShard{full_shape, it->second});
    }
    const auto report = plan.apply_sharded(*sharded, map, torchinit::ApplyOptions().seed(77));
    const auto full_params = full->named_parameters();
    for (const auto& item : sharded->named_parameters()) {
      const at::Tensor& want = full_params[item.key()];
      const auto it = cut.find(item.key());
      const at::Tensor expected = it == cut.end() ? want : part_of(want, it->second);
      EXPECT_TRUE(same_bytes(item.value(), expected))
          << item.key() << (it == cut.end() ? "" : " " + it->second.str());
      const auto& row = report.at(item.key());
      const auto& full_row = full_report.at(item.key());
      EXPECT_EQ(row.shape, full_row.shape) << item.key();
      EXPECT_EQ(row.fans.fan_in, full_row.fans.fan_in) << item.key();
      EXPECT_EQ(row.fans.fan_out, full_row.fans.fan_out) << item.key();
      EXPECT_EQ(row.spec, full_row.spec) << item.key();
      EXPECT_EQ(row.theory.str(), full_row.theory.str()) << item.key();
      EXPECT_EQ(row.key, full_row.key) << item.key();
    }
  }
}

TEST(PlanSharded, ErrorsNameTheParameterAndChangeNothing) {
  const auto plan = torchinit::Plan::parse(":weight = xavier_normal\n:bias = zeros");
  auto net = make_net();
  auto params = net->named_parameters();
  params["0.weight"].set_data(at::full({5, 23}, 3.0));
  const at::Tensor before = params["0.weight"].clone();
  torchinit::ShardMap wrong_shape{{"0.weight", ParamShard{{37, 23}, Slice::rows(0, 6)}}};
  EXPECT_TRUE(ContainsAll(error_of([&] { plan.apply_sharded(*net, wrong_shape); }),
                          {"torchinit::Plan::apply_sharded", "0.weight", "[5, 23]", "[6, 23]",
                           "No parameter was changed"}));
  torchinit::ShardMap typo{{"0.weight", ParamShard{{37, 23}, Slice::rows(0, 5)}},
                           {"0.wieght", ParamShard{{37, 23}, Slice::rows(0, 5)}}};
  EXPECT_TRUE(ContainsAll(error_of([&] { plan.apply_sharded(*net, typo); }),
                          {"0.wieght", "does not have", "0.weight"}));
  EXPECT_TRUE(same_bytes(net->named_parameters()["0.weight"], before));
}

}  // namespace
