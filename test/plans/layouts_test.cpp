// Module layouts: roles and fans of every LibTorch type from its C++ type and options, the same
// rules from plain data (ModuleDesc), unknown user types (roles from parameter names only, a
// note in the Report), and layouts declared for one's own module types.
#include <ATen/ops/empty.h>
#include <ATen/ops/ones.h>
#include <gtest/gtest.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/rnn.h>
#include <torch/utils.h>

#include <atomic>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"
#include "torchinit/layout_registry.h"
#include "torchinit/module_layout.h"
#include "torchinit/plan.h"

namespace torchinit {
namespace {

namespace tnn = torch::nn;
using testutil::ContainsAll;
using testutil::error_of;
using testutil::same_bytes;

ParamInfo layout_info_of(const tnn::Module& m, const std::string& path) {
  for (auto& p : module_params(m))
    if (p.info.path == path) return p.info;
  ADD_FAILURE() << "no parameter " << path;
  return {};
}

std::vector<std::string> roles_of(const tnn::Module& m) {
  std::vector<std::string> roles;
  for (auto& p : module_params(m)) roles.push_back(p.info.role);
  return roles;
}

using Roles = std::vector<std::string>;

TEST(ModuleLayouts, RolesOfEveryLibTorchType) {
  EXPECT_EQ(roles_of(*tnn::Linear(4, 3)), (Roles{"weight", "bias"}));
  EXPECT_EQ(roles_of(*tnn::Bilinear(2, 3, 4)), (Roles{"weight", "bias"}));
  EXPECT_EQ(roles_of(*tnn::ConvTranspose3d(tnn::ConvTranspose3dOptions(2, 4, 3))),
            (Roles{"weight", "bias"}));
  EXPECT_EQ(roles_of(*tnn::EmbeddingBag(10, 4)), (Roles{"embedding"}));
  EXPECT_EQ(roles_of(*tnn::GroupNorm(2, 4)), (Roles{"norm_scale", "norm_shift"}));
  EXPECT_EQ(roles_of(*tnn::LayerNorm(tnn::LayerNormOptions({3, 4}))),
            (Roles{"norm_scale", "norm_shift"}));
  EXPECT_EQ(roles_of(*tnn::PReLU()), (Roles{"slope"}));
  EXPECT_EQ(roles_of(*tnn::GRUCell(4, 8)), (Roles{"input", "recurrent", "bias", "bias"}));
  EXPECT_EQ(roles_of(*tnn::LSTM(tnn::LSTMOptions(4, 8).proj_size(3))),
            (Roles{"input", "recurrent", "bias", "bias", "recurrent"}));
  EXPECT_EQ(roles_of(*tnn::MultiheadAttention(
                tnn::MultiheadAttentionOptions(8, 2).kdim(3).vdim(5).add_bias_kv(true))),
            (Roles{"weight", "weight", "weight", "bias", "bias_kv", "bias_kv", "weight", "bias"}));
  // Cells stack their gates like the full recurrent modules.
  const ParamInfo cell = layout_info_of(*tnn::LSTMCell(4, 8), "weight_hh");
  EXPECT_EQ(cell.layout.blocks, 4);
  EXPECT_EQ(cell.block(0).fans().fan_out, 8);
  // LSTM's projection [proj, H]: fan_in H.
  const ParamInfo hr =
      layout_info_of(*tnn::LSTM(tnn::LSTMOptions(4, 8).proj_size(3)), "weight_hr_l0");
  EXPECT_EQ(hr.fans().fan_in, 8);
  EXPECT_EQ(hr.fans().fan_out, 3);
  // Bilinear: the bias borrows the weight's fans.
  EXPECT_EQ(layout_info_of(*tnn::Bilinear(2, 3, 4), "bias").fans().fan_in, 6);
  for (const char* t :
       {"Linear", "Bilinear", "Conv1d", "ConvTranspose3d", "Embedding", "EmbeddingBag",
        "BatchNorm3d", "InstanceNorm2d", "LayerNorm", "GroupNorm", "PReLU", "RNN", "LSTM", "GRU",
        "RNNCell", "LSTMCell", "GRUCell", "MultiheadAttention"})
    EXPECT_NE(std::find(known_module_types().begin(), known_module_types().end(), t),
              known_module_types().end())
        << t;
}

// The rules from data, as a front end that is not C++ (Python) would call them, give what the
// C++ modules give.
TEST(ModuleLayouts, DescriptionsFromDataMatchTheModules) {
  ModuleDesc lstm;
  lstm.type = "LSTM";
  lstm.in_features = 4;
  lstm.hidden_size = 8;
  lstm.num_layers = 2;
  lstm.bidirectional = true;
  lstm.proj_size = 3;
  tnn::LSTM real(tnn::LSTMOptions(4, 8).num_layers(2).bidirectional(true).proj_size(3));
  for (const auto& mp : module_params(*real)) {
    const ParamInfo d = describe_parameter(lstm, mp.info.path, mp.info.shape);
    EXPECT_EQ(d.role, mp.info.role) << mp.info.path;
    EXPECT_EQ(d.layout.blocks, mp.info.layout.blocks) << mp.info.path;
    EXPECT_EQ(d.torch_default, mp.info.torch_default) << mp.info.path;
  }
  ModuleDesc conv;
  conv.type = "ConvTranspose2d";
  conv.in_features = 8;
  conv.out_features = 16;
  conv.kernel_size = {3, 3};
  conv.groups = 2;
  conv.transposed = true;
  const ParamInfo w = describe_parameter(conv, "weight", {8, 8, 3, 3});
  const ParamInfo b = describe_parameter(conv, "bias", {16});
  EXPECT_EQ(w.fans().fan_in, 36);
  EXPECT_EQ(w.fans().fan_out, 72);
  EXPECT_EQ(b.fans().fan_in, 36);
  EXPECT_EQ(
      b.torch_default,
      layout_info_of(*tnn::ConvTranspose2d(tnn::ConvTranspose2dOptions(8, 16, 3).groups(2)), "bias")
          .torch_default);
  ModuleDesc emb;
  emb.type = "Embedding";
  emb.padding_idx = -2;
  EXPECT_EQ(describe_parameter(emb, "weight", {10, 4}).padding_idx, std::optional<int64_t>(8));
  // A description that contradicts the shape is an error that says what it expected.
  lstm.hidden_size = 5;
  EXPECT_TRUE(ContainsAll(error_of([&] {
                            describe_parameter(lstm, "weight_hh_l0", {32, 3});
                          }),
                          {"torchinit::describe_parameter", "weight_hh_l0", "[32, 3]", "20 rows"}));
  emb.padding_idx = 10;
  EXPECT_TRUE(ContainsAll(error_of([&] {
                            describe_parameter(emb, "weight", {10, 4});
                          }),
                          {"padding_idx 10"}));
}

// A weight-normalized linear layer of a user's own (Salimans & Kingma 2016): w = g·v/|v|.
struct WeightNormLinearImpl : tnn::Module {
  WeightNormLinearImpl(int64_t in, int64_t out) : in(in), out(out) {
    weight_v = register_parameter("weight_v", at::empty({out, in}).normal_(0, 0.05));
    weight_g = register_parameter("weight_g", at::ones({out, 1}));
    bias = register_parameter("bias", at::zeros({out}));
  }
  int64_t in, out;
  at::Tensor weight_v, weight_g, bias;
};

// A user module whose class name contains "Norm" but which is a plain affine map.
struct MyNormalizedLinearImpl : tnn::Module {
  MyNormalizedLinearImpl() {
    weight = register_parameter("weight", at::empty({16, 32}));
    bias = register_parameter("bias", at::empty({16}));
  }
  at::Tensor weight, bias;
};

TEST(UnknownTypes, RolesComeFromParameterNamesOnly) {
  WeightNormLinearImpl wn(64, 32);
  EXPECT_EQ(roles_of(wn), (Roles{"unknown", "unknown", "bias"}));
  const ParamInfo v = layout_info_of(wn, "weight_v");
  EXPECT_EQ(v.module_type, "WeightNormLinear");
  EXPECT_EQ(v.fans().fan_in, 64);  // the tensor convention
  EXPECT_TRUE(v.torch_default.empty());
  EXPECT_TRUE(ContainsAll(
      v.note, {"WeightNormLinear is not a module type torchinit knows", "LayoutRegistry"}));
  MyNormalizedLinearImpl n;
  EXPECT_EQ(roles_of(n), (Roles{"weight", "bias"}));
}

TEST(UnknownTypes, PresetsDoNotGuessAndTheReportSaysWhy) {
  WeightNormLinearImpl wn(64, 32);
  const at::Tensor v = wn.weight_v.detach().clone(), g = wn.weight_g.detach().clone();
  // Strict: the parameters no rule matches are named with their type and the fix.
  EXPECT_TRUE(ContainsAll(error_of([&] { Plan::preset("he").apply(wn); }),
                          {"weight_v", "weight_g", "WeightNormLinear is not a module type",
                           "LayoutRegistry", "@WeightNormLinear.weight_v = ", "strict(false)"}));
  const Report rep = Plan::preset("he").apply(wn, ApplyOptions().strict(false).seed(1));
  EXPECT_TRUE(same_bytes(wn.weight_v, v));  // not zeroed as a "norm shift"
  EXPECT_TRUE(same_bytes(wn.weight_g, g));
  EXPECT_EQ(rep.at("weight_v").spec, "");
  EXPECT_NE(rep.table().find("note: WeightNormLinear is not a module type torchinit knows"),
            std::string::npos)
      << rep.table();
  EXPECT_NE(rep.json().find("is not a module type torchinit knows"), std::string::npos);
  // torch_default has nothing to say about a type LibTorch does not define.
  EXPECT_TRUE(ContainsAll(error_of([&] { Plan::preset("torch_default").apply(wn); }),
                          {"weight_v", "weight_g", "bias"}));
  // @Type selectors still match by the class name.
  const Report own = Plan::parse(
                         "@WeightNormLinear.weight_v = kaiming_normal\n"
                         "@WeightNormLinear.weight_g = ones\n:bias = zeros")
                         .apply(wn, ApplyOptions().seed(2));
  EXPECT_DOUBLE_EQ(own.at("weight_v").theory.std(), std::sqrt(2.0 / (1 + 0.0)) / 8);
  // A 1-D rule needing fans names the unknown type too.
  EXPECT_TRUE(ContainsAll(
      error_of([&] { Plan::parse("* = xavier_uniform").apply(wn, ApplyOptions().seed(1)); }),
      {"bias [32]", "Note:", "not a module type torchinit knows"}));
}

TEST(UnknownTypes, NormInTheClassNameIsNotANorm) {
  MyNormalizedLinearImpl n;
  const Report rep = Plan::preset("he").apply(n, ApplyOptions().seed(3));
  EXPECT_EQ(rep.at("weight").role, "weight");
  EXPECT_DOUBLE_EQ(rep.at("weight").theory.std(), std::sqrt(2.0 / 32));
  EXPECT_EQ(rep.at("bias").spec, "zeros");
  EXPECT_TRUE(check(n, rep).passed()) << check(n, rep).table();
}

TEST(PReLU, SlopeKeepsItsInitUnderEveryPreset) {
  for (const auto& name : Plan::presets()) {
    SCOPED_TRACE(name);
    tnn::Sequential net(tnn::Linear(8, 8),
                        tnn::PReLU(tnn::PReLUOptions().num_parameters(8).init(0.1)));
    const Report rep = Plan::preset(name, 2).apply(
        *net, ApplyOptions().seed(1).strict(!testutil::needs_transformer_blocks(name)));
    EXPECT_EQ(rep.at("1.weight").role, "slope");
    EXPECT_EQ(rep.at("1.weight").spec, "constant(val=0.1)");
    EXPECT_TRUE(net[1]->as<tnn::PReLU>()->weight.eq(0.1f).all().item<bool>());
  }
}

TEST(UserLayouts, DeclaredLayoutsGiveRolesFansAndDefaults) {
  auto& registry = LayoutRegistry::global();
  registry.add<WeightNormLinearImpl>([](const WeightNormLinearImpl& m) {
    ModuleDesc d;
    d.type = "WeightNormLinear";
    d.params["weight_v"] = ParamDesc("weight", "normal(std=0.05)");
    d.params["weight_g"] = ParamDesc("norm_scale", "ones");
    d.params["bias"] = ParamDesc("bias", "zeros", Fans{m.in, m.out});
    return d;
  });
  WeightNormLinearImpl wn(64, 32);
  EXPECT_EQ(roles_of(wn), (Roles{"weight", "norm_scale", "bias"}));
  EXPECT_TRUE(layout_info_of(wn, "weight_v").note.empty());
  const Report he = Plan::preset("he").apply(wn, ApplyOptions().seed(4));
  EXPECT_DOUBLE_EQ(he.at("weight_v").theory.std(), std::sqrt(2.0 / 64));
  EXPECT_EQ(he.at("weight_g").spec, "ones");
  const Report td = Plan::preset("torch_default").apply(wn, ApplyOptions().seed(4));
  EXPECT_EQ(td.at("weight_v").spec, "normal(mean=0, std=0.05)");
  EXPECT_TRUE(check(wn, td).passed()) << check(wn, td).table();
  // Declaring twice is refused; removing the declaration makes the type unknown again.
  EXPECT_NE(error_of([&] {
              registry.add<WeightNormLinearImpl>(ModuleDesc{});
            }).find("already has a declared layout"),
            std::string::npos);
  EXPECT_TRUE(registry.remove<WeightNormLinearImpl>());
  EXPECT_FALSE(registry.remove<WeightNormLinearImpl>());
  EXPECT_EQ(layout_info_of(wn, "weight_v").role, "unknown");
  // A declared role must be one of the roles.
  registry.add<MyNormalizedLinearImpl>([] {
    ModuleDesc d;
    d.type = "MyNormalizedLinear";
    d.params["weight"] = ParamDesc("gamma");
    return d;
  }());
  EXPECT_NE(error_of([] { module_params(MyNormalizedLinearImpl()); }).find("role 'gamma'"),
            std::string::npos);
  EXPECT_TRUE(registry.remove<MyNormalizedLinearImpl>());
}

// A user class derived from a LibTorch type is that type (its C++ class selects too).
struct ScaledLinearImpl : tnn::LinearImpl {
  ScaledLinearImpl() : tnn::LinearImpl(12, 6) {}
};

TEST(UserLayouts, DerivedClassesAreTheirLibTorchBaseOrWhatTheyDeclare) {
  ScaledLinearImpl s;
  const ParamInfo w = layout_info_of(s, "weight");
  EXPECT_EQ(w.module_type, "Linear");
  EXPECT_EQ(w.module_class, "ScaledLinear");
  EXPECT_EQ(layout_info_of(s, "bias").fans().fan_in, 12);
  EXPECT_EQ(Plan::parse("@ScaledLinear.* = zeros").apply(s).at("weight").spec, "zeros");
  EXPECT_EQ(Plan::parse("@Linear.* = zeros").apply(s).at("bias").spec, "zeros");
  // Declared as a LibTorch type with other options: the declaration wins.
  ModuleDesc as_conv;
  as_conv.type = "Conv1d";
  as_conv.in_features = 12;
  as_conv.out_features = 6;
  as_conv.kernel_size = {1};
  LayoutRegistry::global().add<ScaledLinearImpl>(as_conv);
  EXPECT_EQ(layout_info_of(s, "weight").module_type, "Conv1d");
  EXPECT_TRUE(LayoutRegistry::global().remove<ScaledLinearImpl>());
}

TEST(UserLayouts, RegistryIsThreadSafe) {
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t)
    readers.emplace_back([&] {
      WeightNormLinearImpl wn(8, 4);
      while (!stop) {
        const std::string role = layout_info_of(wn, "weight_g").role;
        if (role != "unknown" && role != "norm_scale") ++wrong;
      }
    });
  for (int i = 0; i < 200; ++i) {
    ModuleDesc d;
    d.type = "WeightNormLinear";
    d.params["weight_g"] = ParamDesc("norm_scale");
    LayoutRegistry::global().add<WeightNormLinearImpl>(d);
    LayoutRegistry::global().remove<WeightNormLinearImpl>();
  }
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(wrong, 0);
}

}  // namespace
}  // namespace torchinit
