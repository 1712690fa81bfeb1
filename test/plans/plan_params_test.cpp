// Plans over parameter lists described as JSON (module_desc_json.h, plan_params.h): what the
// Python package sends through the op library. The descriptions made from LibTorch's modules
// must give the ParamInfo, the Report and the bytes that Plan::apply gives on the modules.
#include "torchinit/plan_params.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/equal.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/rnn.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_util.h"
#include "torchinit/module_desc_json.h"
#include "torchinit/module_layout.h"
#include "torchinit/plan.h"

namespace torchinit {
namespace {

namespace tnn = torch::nn;
using testutil::ContainsAll;
using testutil::error_of;

// One module of every layout family, a tied weight and a Transformer-style ancestor.
struct ZooImpl : tnn::Module {
  ZooImpl() {
    register_module("lin", tnn::Linear(6, 5));
    register_module("conv", tnn::Conv2d(tnn::Conv2dOptions(4, 6, 3).groups(2)));
    register_module("convt", tnn::ConvTranspose1d(tnn::ConvTranspose1dOptions(8, 4, 3)));
    register_module("emb", emb);
    register_module("bn", tnn::BatchNorm2d(5));
    register_module("ln", tnn::LayerNorm(tnn::LayerNormOptions({6})));
    register_module("prelu", tnn::PReLU(tnn::PReLUOptions().num_parameters(3).init(0.1)));
    register_module(
        "lstm", tnn::LSTM(tnn::LSTMOptions(4, 8).num_layers(2).bidirectional(true).proj_size(3)));
    register_module("gru", tnn::GRU(tnn::GRUOptions(4, 8)));
    register_module("mha",
                    tnn::MultiheadAttention(
                        tnn::MultiheadAttentionOptions(16, 4).kdim(6).vdim(10).add_bias_kv(true)));
    register_module("dec", dec);
    torch::NoGradGuard no_grad;
    dec->weight.set_data(emb->weight);  // tied, as LibTorch C++ code ties weights
  }
  tnn::Embedding emb{tnn::EmbeddingOptions(10, 4).padding_idx(-2)};
  tnn::Linear dec{tnn::LinearOptions(4, 10).bias(false)};
};
TORCH_MODULE(Zoo);

// The JSON a front end would send for `root`: the C++ walk's order and positions.
std::string describe_as_json(const tnn::Module& root, std::vector<at::Tensor>& tensors) {
  nlohmann::json modules = nlohmann::json::array(), params = nlohmann::json::array();
  std::function<void(const tnn::Module&, const std::string&, const std::string&,
                     std::vector<std::string>)>
      walk = [&](const tnn::Module& m, const std::string& prefix, const std::string& attribute,
                 std::vector<std::string> ancestors) {
        ModuleDesc desc = describe_module(m);
        desc.ancestor_types = ancestors;
        desc.attribute = attribute;
        const size_t index = modules.size();
        modules.push_back(nlohmann::json::parse(module_desc_to_json(desc)));
        for (const auto& p : m.named_parameters(/*recurse=*/false)) {
          params.push_back({{"path", prefix.empty() ? p.key() : prefix + "." + p.key()},
                            {"name", p.key()},
                            {"module", index},
                            {"shape", p.value().sizes().vec()}});
          tensors.push_back(p.value());
        }
        ancestors.push_back(desc.type);
        for (const auto& c : m.named_children())
          walk(*c.value(), prefix.empty() ? c.key() : prefix + "." + c.key(), c.key(), ancestors);
      };
  walk(root, "", "", {});
  return nlohmann::json{{"modules", modules}, {"params", params}}.dump();
}

TEST(PlanParams, JsonDescriptionsGiveTheModulesLayouts) {
  Zoo zoo;
  std::vector<at::Tensor> tensors;
  const auto from_json = params_from_json(describe_as_json(*zoo, tensors), tensors);
  const auto from_module = module_params(*zoo);
  ASSERT_EQ(from_json.size(), from_module.size());
  for (size_t i = 0; i < from_json.size(); ++i) {
    const ParamInfo& a = from_json[i].info;
    const ParamInfo& b = from_module[i].info;
    SCOPED_TRACE(b.path);
    EXPECT_EQ(a.path, b.path);
    EXPECT_EQ(a.module_type, b.module_type);
    EXPECT_EQ(a.module_class, b.module_class);
    EXPECT_EQ(a.role, b.role);
    EXPECT_EQ(a.shape, b.shape);
    EXPECT_EQ(a.layout.blocks, b.layout.blocks);
    EXPECT_EQ(a.layout.groups, b.layout.groups);
    EXPECT_EQ(a.layout.transposed, b.layout.transposed);
    EXPECT_EQ(a.torch_default, b.torch_default);
    EXPECT_EQ(a.padding_idx, b.padding_idx);
    EXPECT_EQ(a.note, b.note);
    EXPECT_EQ(a.module_fans.has_value(), b.module_fans.has_value());
    EXPECT_TRUE(from_json[i].tensor.is_same(from_module[i].tensor));
  }
}

TEST(PlanParams, ApplyOnTheDescriptionGivesPlanApplysBytesAndReport) {
  for (const char* preset : {"torch_default", "he", "xavier"}) {
    SCOPED_TRACE(preset);
    Zoo a, b;
    std::vector<at::Tensor> tensors;
    const std::string json = describe_as_json(*b, tensors);
    const Plan plan = Plan::preset(preset);
    // Non-strict: the tied dec.weight keeps emb.weight's rule (torch_default differs per path).
    const ApplyOptions options = ApplyOptions().seed(7).strict(false);
    const Report ra = plan.apply(*a, options);
    const Report rb = apply_params(plan, params_from_json(json, tensors), options);
    EXPECT_EQ(ra.table(), rb.table());
    EXPECT_EQ(ra.json(), rb.json());
    const auto pa = a->named_parameters(), pb = b->named_parameters();
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t i = 0; i < pa.size(); ++i)
      EXPECT_TRUE(at::equal(pa[i].value(), pb[i].value())) << pa[i].key();
    EXPECT_TRUE(check_params(params_from_json(json, tensors), rb).passed());
    EXPECT_EQ(explain_params(plan, params_from_json(json, tensors), options).table(),
              plan.explain(*a, options).table());
  }
}

TEST(PlanParams, BadDescriptionsNameTheKeyAndTheFix) {
  EXPECT_TRUE(
      ContainsAll(error_of([] { module_desc_from_json(R"({"type": "LSTM", "hiden_size": 8})"); }),
                  {"unknown key 'hiden_size'", "did you mean 'hidden_size'?"}));
  EXPECT_TRUE(ContainsAll(
      error_of([] { module_desc_from_json(R"({"type": "LSTM", "hidden_size": "8"})"); }),
      {"'hidden_size' expects an integer", "\"8\""}));
  EXPECT_TRUE(ContainsAll(error_of([] { module_desc_from_json(R"({"hidden_size": 8})"); }),
                          {"'type' is required"}));
  EXPECT_TRUE(ContainsAll(error_of([] {
                            module_desc_from_json(
                                R"({"type": "X", "params": {"w": {"layout": {"blocks": true}}}})");
                          }),
                          {"params['w'].layout", "'blocks' expects an integer"}));
  EXPECT_TRUE(ContainsAll(error_of([] { module_desc_from_json("{"); }), {"invalid JSON"}));
  const at::Tensor w = at::empty({3, 4});
  const std::string lin = R"({"modules": [{"type": "Linear", "in_features": 4, "out_features": 3}],
                              "params": [{"path": "fc.weight", "name": "weight", "module": 0, "shape": [3, 5]}]})";
  EXPECT_TRUE(ContainsAll(error_of([&] { params_from_json(lin, {w}); }),
                          {"fc.weight", "[3,5]", "has [3, 4]"}));
  EXPECT_TRUE(
      ContainsAll(error_of([&] { params_from_json(lin, {}); }), {"1 parameters but 0 tensors"}));
  const std::string bad_index =
      R"({"modules": [], "params": [{"path": "w", "name": "weight", "module": 0, "shape": [3, 4]}]})";
  EXPECT_TRUE(ContainsAll(error_of([&] { params_from_json(bad_index, {w}); }),
                          {"params[0] (w)", "'module' must index 'modules'"}));
}

// Shapes without storage: explain works on the meta device, apply refuses before writing.
struct MetaLayerImpl : tnn::Module {
  MetaLayerImpl() {
    const auto meta = at::TensorOptions().device(at::kMeta);
    register_parameter("weight", at::empty({32, 64}, meta));
    register_parameter("bias", at::empty({32}, meta));
  }
};
TORCH_MODULE(MetaLayer);

TEST(PlanParams, MetaModulesCanBeExplainedButNotApplied) {
  MetaLayer layer;
  const Plan plan = Plan::parse("weight = kaiming_normal\nbias = zeros");
  const Report r = plan.explain(*layer);
  ASSERT_EQ(r.rows().size(), 2u);
  EXPECT_EQ(r.at("weight").fans.fan_in, 64);
  EXPECT_TRUE(ContainsAll(error_of([&] { plan.apply(*layer); }),
                          {"meta device", "No parameter was changed"}));
}

}  // namespace
}  // namespace torchinit
