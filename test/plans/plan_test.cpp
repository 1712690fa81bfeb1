// Plans, module layouts and presets on plain LibTorch modules.
#include "torchinit/plan.h"

#include <ATen/ops/empty.h>
#include <gtest/gtest.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>
#include <torch/utils.h>

#include <cmath>

#include "test_util.h"
#include "torchinit/module_layout.h"
#include "torchinit/testing.h"

namespace torchinit {
namespace {

namespace tnn = torch::nn;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "";
}

ParamInfo info_of(const tnn::Module& m, const std::string& path) {
  for (auto& p : module_params(m))
    if (p.info.path == path) return p.info;
  ADD_FAILURE() << "no parameter " << path;
  return {};
}

void expect_fans(const ParamInfo& p, int64_t fan_in, int64_t fan_out) {
  const ParamInfo unit = p.layout.blocks > 1 ? p.block(0) : p;
  const Fans f = unit.fans();
  EXPECT_EQ(f.fan_in, fan_in) << p.path;
  EXPECT_EQ(f.fan_out, fan_out) << p.path;
}

// A user module with named members: paths do not depend on registration order.
struct TwoLayer : tnn::Module {
  explicit TwoLayer(bool reversed, bool extra = false) {
    if (reversed) {
      b = register_module("b", tnn::Linear(16, 8));
      a = register_module("a", tnn::Linear(32, 16));
    } else {
      a = register_module("a", tnn::Linear(32, 16));
      b = register_module("b", tnn::Linear(16, 8));
    }
    if (extra) c = register_module("c", tnn::Linear(8, 4));
  }
  tnn::Linear a{nullptr}, b{nullptr}, c{nullptr};
};

TEST(ModuleLayout, FansOfEveryLayerType) {
  expect_fans(info_of(*tnn::Linear(32, 64), "weight"), 32, 64);
  expect_fans(info_of(*tnn::Conv2d(tnn::Conv2dOptions(4, 8, 3)), "weight"), 36, 72);
  expect_fans(info_of(*tnn::Conv1d(tnn::Conv1dOptions(4, 8, 5)), "weight"), 20, 40);
  expect_fans(info_of(*tnn::Conv3d(tnn::Conv3dOptions(2, 4, 3)), "weight"), 54, 108);
  // Grouped: weight [16, 2, 3, 3]; each output sees in/groups = 2 channels, each input feeds
  // out/groups = 4 outputs. torch.nn.init would say fan_out = 16·9 (pytorch#23854).
  const ParamInfo grouped = info_of(*tnn::Conv2d(tnn::Conv2dOptions(8, 16, 3).groups(4)), "weight");
  expect_fans(grouped, 18, 36);
  EXPECT_EQ(ParamInfo::from_shape(grouped.shape).fans().fan_out, 144);  // PyTorch's convention
  // Depthwise: weight [8, 1, 3, 3].
  expect_fans(info_of(*tnn::Conv2d(tnn::Conv2dOptions(8, 8, 3).groups(8)), "weight"), 9, 9);
  // ConvTranspose: weight [in, out/groups, k, k]; torch.nn.init swaps the fans (pytorch#7865).
  const ParamInfo tr =
      info_of(*tnn::ConvTranspose2d(tnn::ConvTranspose2dOptions(4, 8, 3)), "weight");
  EXPECT_EQ(tr.shape, (std::vector<int64_t>{4, 8, 3, 3}));
  expect_fans(tr, 36, 72);
  EXPECT_EQ(ParamInfo::from_shape(tr.shape).fans().fan_in, 72);
  expect_fans(
      info_of(*tnn::ConvTranspose2d(tnn::ConvTranspose2dOptions(8, 16, 3).groups(2)), "weight"), 36,
      72);
  // LSTM: weight_ih [4H, in], weight_hh [4H, H], per gate block (pytorch#9221).
  tnn::LSTM lstm(tnn::LSTMOptions(4, 8));
  const ParamInfo ih = info_of(*lstm, "weight_ih_l0");
  EXPECT_EQ(ih.role, "input");
  EXPECT_EQ(ih.layout.blocks, 4);
  expect_fans(ih, 4, 8);
  EXPECT_EQ(info_of(*lstm, "weight_hh_l0").role, "recurrent");
  expect_fans(info_of(*lstm, "weight_hh_l0"), 8, 8);
  expect_fans(info_of(*lstm, "bias_ih_l0"), 8, 8);  // biases borrow one gate's fans
  EXPECT_EQ(info_of(*tnn::GRU(tnn::GRUOptions(4, 8)), "weight_hh_l0").layout.blocks, 3);
  // MultiheadAttention: fused Q/K/V (pytorch#166378).
  tnn::MultiheadAttention mha(tnn::MultiheadAttentionOptions(8, 2));
  EXPECT_EQ(info_of(*mha, "in_proj_weight").layout.blocks, 3);
  expect_fans(info_of(*mha, "in_proj_weight"), 8, 8);
  EXPECT_EQ(info_of(*mha, "out_proj.weight").module_type, "Linear");
  EXPECT_EQ(info_of(*tnn::Embedding(10, 4), "weight").role, "embedding");
  tnn::BatchNorm2d bn(4);
  EXPECT_EQ(info_of(*bn, "weight").role, "norm_scale");
  EXPECT_EQ(info_of(*bn, "bias").role, "norm_shift");
}

TEST(Plan, ParseTextJsonAndRoundTrip) {
  const Plan p = Plan::parse(R"(
      # comment line
      @Conv2d.weight = kaiming_normal(mode=fan_out, nonlinearity=relu)   # trailing comment
      *.bias         = zeros
      :recurrent     = orthogonal(gain=1)
  )");
  ASSERT_EQ(p.rules().size(), 3u);
  EXPECT_EQ(p.rules()[0].selector, "@Conv2d.weight");
  EXPECT_EQ(p.rules()[0].line, 3);
  EXPECT_EQ(Plan::parse(p.str()).str(), p.str());
  EXPECT_EQ(Plan::parse(p.json()).str(), p.str());
  const Plan j = Plan::parse(R"([{"selector": ":bias", "spec": "zeros"}])");
  EXPECT_EQ(j.str(), ":bias = zeros\n");
  EXPECT_EQ(Plan().rule(":weight", "xavier_uniform").str(), ":weight = xavier_uniform\n");
}

TEST(Plan, ParseErrorsCarryLines) {
  const std::string unknown =
      error_of([] { Plan::parse(":bias = zeros\n\n:weight = kaiming_norml\n"); });
  EXPECT_NE(unknown.find("line 3"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("did you mean 'kaiming_normal'"), std::string::npos) << unknown;
  const std::string role = error_of([] { Plan::parse(":recurent = orthogonal"); });
  EXPECT_NE(role.find("did you mean 'recurrent'"), std::string::npos) << role;
  EXPECT_NE(error_of([] { Plan::parse("no equals sign here"); }).find("line 1"), std::string::npos);
  EXPECT_NE(error_of([] { Plan::parse("[{\"selector\": 1}]"); }).find("JSON rule 1"),
            std::string::npos);
  EXPECT_NE(error_of([] { Plan::parse("{\"rules\": [}"); }).find("invalid JSON"),
            std::string::npos);
}

TEST(Plan, ApplyReportsAndMatchesTheory) {
  tnn::Sequential net(tnn::Linear(64, 128), tnn::ReLU(), tnn::Linear(128, 10));
  const Plan plan = Plan::parse(":weight = kaiming_normal(nonlinearity=relu)\n:bias = zeros\n");
  const Report rep = plan.apply(*net, ApplyOptions().seed(42));
  ASSERT_EQ(rep.rows().size(), 4u);
  const ReportRow& w0 = rep.at("0.weight");
  EXPECT_EQ(w0.module_type, "Linear");
  EXPECT_EQ(w0.fans.fan_in, 64);
  EXPECT_EQ(w0.spec, "kaiming_normal(a=0, mode=fan_in, nonlinearity=relu)");
  EXPECT_DOUBLE_EQ(w0.theory.std(), std::sqrt(2.0 / 64));
  EXPECT_EQ(w0.key, hash_key("0.weight"));
  const ModuleCheck mc = check(*net, rep);
  EXPECT_TRUE(mc.passed()) << mc.table();
  EXPECT_EQ(mc.results().size(), 4u);
  EXPECT_NE(rep.table().find("0.weight"), std::string::npos);
  EXPECT_NE(rep.json().find("\"0.weight\""), std::string::npos);
  EXPECT_NE(error_of([&] { rep.at("0.wieght"); }).find("did you mean '0.weight'"),
            std::string::npos);
}

TEST(Plan, ValuesDependOnPathsNotOrder) {
  const Plan plan = Plan::parse(":weight = xavier_uniform\n:bias = uniform(-0.1, 0.1)\n");
  TwoLayer x(false), y(true), z(false, /*extra=*/true);
  plan.apply(x, ApplyOptions().seed(5));
  plan.apply(y, ApplyOptions().seed(5));
  plan.apply(z, ApplyOptions().seed(5));
  EXPECT_TRUE(x.a->weight.equal(y.a->weight));
  EXPECT_TRUE(x.b->bias.equal(y.b->bias));
  EXPECT_TRUE(x.a->weight.equal(z.a->weight));  // adding a layer changes no other
  EXPECT_TRUE(x.b->weight.equal(z.b->weight));
  TwoLayer w(false);
  plan.apply(w, ApplyOptions().seed(6));
  EXPECT_FALSE(x.a->weight.equal(w.a->weight));
}

TEST(Plan, StrictModeAndNothingChangedOnError) {
  tnn::Sequential net(tnn::Linear(8, 4), tnn::Conv2d(tnn::Conv2dOptions(2, 3, 3)));
  std::vector<at::Tensor> before;
  for (auto& p : net->parameters()) before.push_back(p.detach().clone());
  const std::string unmatched = error_of([&] { Plan::parse(":weight = zeros").apply(*net); });
  EXPECT_NE(unmatched.find("0.bias"), std::string::npos) << unmatched;
  EXPECT_NE(unmatched.find("strict(false)"), std::string::npos) << unmatched;
  // eye fits the Linear weight but not the 4-D conv weight: nothing may be written.
  const std::string eye =
      error_of([&] { Plan::parse(":weight = eye\n:bias = zeros").apply(*net); });
  EXPECT_NE(eye.find("rule 1"), std::string::npos) << eye;
  EXPECT_NE(eye.find("1.weight [3, 2, 3, 3]"), std::string::npos) << eye;
  EXPECT_NE(eye.find("No parameter was changed"), std::string::npos) << eye;
  const auto params = net->parameters();
  for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(params[i].equal(before[i])) << i;
  // Non-strict: unmatched parameters are left alone and reported.
  const Report rep =
      Plan::parse(":weight = zeros").apply(*net, ApplyOptions().strict(false).seed(1));
  EXPECT_EQ(rep.at("0.bias").spec, "");
  EXPECT_TRUE(net[0]->as<tnn::Linear>()->bias.equal(before[1]));
  // explain writes nothing; a rule that matches nothing is a warning.
  const Report ex = Plan::parse(":weight = ones\n:bias = ones\n@GRU.* = zeros").explain(*net);
  EXPECT_TRUE(net[0]->as<tnn::Linear>()->weight.equal(at::zeros({4, 8})));
  ASSERT_EQ(ex.warnings().size(), 1u);
  EXPECT_NE(ex.warnings()[0].find("@GRU.*"), std::string::npos);
}

TEST(Plan, PerGateOrthogonalDiffersFromTorchWholeMatrix) {
  tnn::LSTM lstm(tnn::LSTMOptions(16, 16));
  const Report rep = Plan::parse(":recurrent = orthogonal\n:input = orthogonal\n:bias = zeros")
                         .apply(*lstm, ApplyOptions().seed(3));
  EXPECT_EQ(rep.at("weight_hh_l0").blocks, 4);
  const at::Tensor w = lstm->named_parameters()["weight_hh_l0"];
  for (int64_t g = 0; g < 4; ++g) EXPECT_TRUE(test::IsOrthogonal(w.narrow(0, 16 * g, 16)));
  EXPECT_FALSE(test::IsOrthogonal(w));  // the stack has W^T W = 4 I
  EXPECT_TRUE(check(*lstm, rep).passed());
  // torch.nn.init's behaviour, on the bare tensor: the stacked [64, 16] matrix is semi-orthogonal.
  at::Tensor whole = at::empty({64, 16});
  init_(whole, "orthogonal", InitOptions().seed(3));
  EXPECT_TRUE(test::IsOrthogonal(whole));
  EXPECT_FALSE(test::IsOrthogonal(whole.narrow(0, 0, 16)));
}

TEST(Plan, TorchDefaultPresetReproducesLibTorchBounds) {
  // Linear, conv, transposed conv, LSTM: every weight and bias U(±1/sqrt(torch's fan_in)).
  tnn::Sequential net(tnn::Linear(20, 30), tnn::Conv2d(tnn::Conv2dOptions(3, 6, 3)),
                      tnn::ConvTranspose2d(tnn::ConvTranspose2dOptions(6, 4, 3)),
                      tnn::LSTM(tnn::LSTMOptions(5, 7)));
  const Report rep = Plan::preset("torch_default").apply(*net, ApplyOptions().seed(1));
  auto bound = [&](const std::string& path) { return rep.at(path).theory.param("b"); };
  EXPECT_NEAR(bound("0.weight"), 1 / std::sqrt(20.0), 1e-15);
  EXPECT_NEAR(bound("0.bias"), 1 / std::sqrt(20.0), 1e-15);
  EXPECT_NEAR(bound("1.weight"), 1 / std::sqrt(27.0), 1e-15);
  EXPECT_NEAR(bound("1.bias"), 1 / std::sqrt(27.0), 1e-15);
  EXPECT_NEAR(bound("2.weight"), 1 / std::sqrt(4.0 * 9), 1e-15);  // torch: size(1)·k
  EXPECT_NEAR(bound("2.bias"), 1 / std::sqrt(4.0 * 9), 1e-15);
  for (const char* p : {"3.weight_ih_l0", "3.weight_hh_l0", "3.bias_ih_l0", "3.bias_hh_l0"})
    EXPECT_NEAR(bound(p), 1 / std::sqrt(7.0), 1e-15) << p;
  EXPECT_TRUE(check(*net, rep).passed()) << check(*net, rep).table();
  // With the LibTorch backend, a fresh Linear under the same manual seed gets the same values.
  torch::manual_seed(11);
  tnn::Linear reference(20, 30);
  tnn::Linear ours(20, 30);
  torch::manual_seed(11);
  Plan::preset("torch_default").apply(*ours, ApplyOptions().backend(Backend::Torch));
  EXPECT_TRUE(reference->weight.allclose(ours->weight, 1e-6, 0));
  EXPECT_TRUE(reference->bias.allclose(ours->bias, 1e-6, 0));
}

TEST(Plan, EveryPresetAppliesAndChecks) {
  tnn::Sequential net(tnn::Embedding(50, 16), tnn::Linear(16, 32), tnn::BatchNorm1d(32),
                      tnn::Conv1d(tnn::Conv1dOptions(32, 32, 3)), tnn::GRU(tnn::GRUOptions(32, 32)),
                      tnn::MultiheadAttention(tnn::MultiheadAttentionOptions(32, 4)));
  for (const auto& name : Plan::presets()) {
    const Plan plan = Plan::preset(name, /*layers=*/4);
    const bool blocks = testutil::needs_transformer_blocks(name);
    if (blocks) {  // this net has no residual projections for the depth scaling
      EXPECT_NE(error_of([&] { plan.apply(*net); }).find(" scales "), std::string::npos) << name;
    }
    const Report rep = plan.apply(*net, ApplyOptions().seed(9).strict(!blocks));
    EXPECT_EQ(rep.rows().size(), net->parameters().size()) << name;
    // Small parameters cannot reach the power check; only rejections count here.
    const ModuleCheck mc = check(*net, rep);
    for (const auto& r : mc.results()) EXPECT_FALSE(r.rejected()) << name << ": " << r.summary();
  }
  EXPECT_NE(error_of([] { Plan::preset("gpt2"); }).find("layers"), std::string::npos);
  EXPECT_NE(error_of([] { Plan::preset("resnt"); }).find("did you mean 'resnet'"),
            std::string::npos);
}

TEST(Plan, StructuralSchemes) {
  // LSTM forget-gate bias 1 (Jozefowicz et al. 2015): PyTorch sums bias_ih and bias_hh, so one
  // carries the 1 and the other is zero.
  tnn::LSTM lstm(tnn::LSTMOptions(8, 16));
  const Report rep = Plan::parse(R"(
      @LSTM.bias_ih* = forget_gate_bias(1)
      @LSTM.bias_hh* = zeros
      :recurrent = orthogonal
      :input = xavier_uniform
  )")
                         .apply(*lstm, ApplyOptions().seed(2));
  const at::Tensor b = lstm->named_parameters()["bias_ih_l0"];
  EXPECT_TRUE(b.narrow(0, 16, 16).eq(1).all().item<bool>());
  EXPECT_EQ(b.ne(0).sum().item<int64_t>(), 16);
  EXPECT_TRUE(check(*lstm, rep).passed());
  // Chrono (Tallec & Ollivier 2018), on a fresh LSTM.
  tnn::LSTM chrono_lstm(tnn::LSTMOptions(8, 256));
  const Report cr = Plan::parse(R"(
      @LSTM.bias_ih* = chrono(t_max=50)
      @LSTM.bias_hh* = zeros
      :recurrent = orthogonal
      :input = xavier_uniform
  )")
                        .apply(*chrono_lstm, ApplyOptions().seed(4));
  const ModuleCheck chrono_check = check(*chrono_lstm, cr);
  EXPECT_TRUE(chrono_check.passed()) << chrono_check.table();
  at::Tensor broken = chrono_lstm->named_parameters()["bias_ih_l0"].detach().clone();
  broken[3] = 0.5;  // gate i no longer -f
  EXPECT_TRUE(check(broken, cr.at("bias_ih_l0").theory).rejected());
  // IRNN (Le et al. 2015): identity recurrent weights, zero biases.
  tnn::RNN rnn(tnn::RNNOptions(8, 16).nonlinearity(torch::kReLU));
  Plan::parse(R"(
      @RNN.weight_hh* = eye
      @RNN.bias* = zeros
      :input = normal(std=0.001)
  )")
      .apply(*rnn, ApplyOptions().seed(1));
  EXPECT_TRUE(rnn->named_parameters()["weight_hh_l0"].equal(at::eye(16)));
  // Delta-orthogonal convs (Xiao et al. 2018), Fixup (Zhang et al. 2019), a zeroed named layer.
  tnn::Sequential net(tnn::Conv2d(tnn::Conv2dOptions(16, 32, 3)),
                      tnn::Conv2d(tnn::Conv2dOptions(32, 32, 3)), tnn::Linear(32, 10));
  const Report r2 = Plan::parse(R"(
      0.weight = delta_orthogonal(gain=relu)
      1.weight = fixup(layers=4)
      2.weight = zeros
      :bias = zeros
  )")
                        .apply(*net, ApplyOptions().seed(3));
  EXPECT_EQ(r2.at("0.weight").theory.family(), "delta_orthogonal");
  EXPECT_DOUBLE_EQ(r2.at("1.weight").theory.std(), std::sqrt(2.0 / (32 * 9)) / 2);
  EXPECT_TRUE(net[2]->as<tnn::Linear>()->weight.eq(0).all().item<bool>());
  const ModuleCheck mc = check(*net, r2);
  EXPECT_TRUE(mc.passed()) << mc.table();
  // A delta-orthogonal kernel with a nonzero off-center tap is rejected.
  at::Tensor w = net[0]->as<tnn::Conv2d>()->weight.detach().clone();
  w[0][0][0][0] = 0.5;
  EXPECT_TRUE(check(w, r2.at("0.weight").theory).rejected());
}

}  // namespace
}  // namespace torchinit
