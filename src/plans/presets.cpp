// Presets: named plans for common recipes. Each rule list is ordered most specific first.
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <string>

#include "torchinit/plan.h"

namespace torchinit {
namespace {

// Norms, embeddings, and the roles without a scheme of their own in the literature (PReLU's
// slopes, MultiheadAttention's bias_k/bias_v), which keep LibTorch's defaults.
void norms_and_embeddings(Plan& p, const char* embedding) {
  p.rule(":norm_scale", "ones")
      .rule(":norm_shift", "zeros")
      .rule(":embedding", embedding)
      .rule(":slope", "torch_default")
      .rule(":bias_kv", "torch_default");
}

// The roles of Transformer projections (nn/projection.h): residual-stream outputs and readouts.
// Added last, so that the rules above keep their numbers.
void residual_out_and_readout(Plan& p, const std::string& residual_out,
                              const std::string& readout) {
  p.rule(":residual_out", residual_out).rule(":readout", readout);
}

}  // namespace

std::vector<std::string> Plan::presets() {
  return {"torch_default", "he", "xavier", "lecun_selu", "orthogonal_rnn", "resnet", "gpt2"};
}

Plan Plan::preset(std::string_view name, int64_t layers) {
  Plan p;
  if (name == "torch_default") {
    // LibTorch's reset_parameters for every parameter of a module type torchinit knows
    // (ParamInfo::torch_default, module_desc.cpp); parameters of other types match no rule.
    p.rule("*", "torch_default");
  } else if (name == "he") {
    p.rule(":recurrent", "orthogonal").rule(":input", "kaiming_normal(nonlinearity=relu)");
    norms_and_embeddings(p, "normal");
    p.rule(":weight", "kaiming_normal(nonlinearity=relu)").rule(":bias", "zeros");
    residual_out_and_readout(p, "kaiming_normal(nonlinearity=relu)",
                             "kaiming_normal(nonlinearity=linear)");
  } else if (name == "xavier") {
    p.rule(":recurrent", "xavier_uniform").rule(":input", "xavier_uniform");
    norms_and_embeddings(p, "normal");
    p.rule(":weight", "xavier_uniform").rule(":bias", "zeros");
    residual_out_and_readout(p, "xavier_uniform", "xavier_uniform");
  } else if (name == "lecun_selu") {
    // Self-normalizing networks (Klambauer et al. 2017): N(0, 1/fan_in), zero biases.
    p.rule(":recurrent", "lecun_normal").rule(":input", "lecun_normal");
    norms_and_embeddings(p, "normal");
    p.rule(":weight", "lecun_normal").rule(":bias", "zeros");
    residual_out_and_readout(p, "lecun_normal", "lecun_normal");
  } else if (name == "orthogonal_rnn") {
    // Orthogonal recurrent weights per gate (Saxe et al. 2014; Henaff et al. 2016).
    p.rule(":recurrent", "orthogonal").rule(":input", "xavier_uniform");
    norms_and_embeddings(p, "normal");
    p.rule(":weight", "xavier_uniform").rule(":bias", "zeros");
    residual_out_and_readout(p, "xavier_uniform", "xavier_uniform");
  } else if (name == "resnet") {
    // He et al. 2016 convs (fan_out, relu) and Goyal et al. 2017 zero-gamma: the last norm of
    // each residual branch (bn2 of BasicBlock, bn3 of Bottleneck) starts at 0, so every block
    // starts as the identity.
    // Everything else keeps LibTorch's defaults.
    p.rule("@Conv*.weight", "kaiming_normal(mode=fan_out, nonlinearity=relu)")
        .rule("layer*.bn3.weight", "zeros")
        .rule("layer*.bn2.weight", "zeros")
        .rule("*", "torch_default");
  } else if (name == "gpt2") {
    TORCH_CHECK(layers > 0,
                "torchinit::Plan::preset: gpt2 needs the number of transformer "
                "layers (Plan::preset(\"gpt2\", layers)) to scale residual projections");
    // Radford et al. 2019: N(0, 0.02), residual projections N(0, 0.02/sqrt(2·layers)).
    const std::string residual =
        fmt::format("normal(std={})", 0.02 / std::sqrt(2.0 * double(layers)));
    p.rule("*c_proj.weight", residual).rule("*out_proj.weight", residual);
    norms_and_embeddings(p, "normal(std=0.02)");
    p.rule(":input", "normal(std=0.02)")
        .rule(":recurrent", "normal(std=0.02)")
        .rule(":weight", "normal(std=0.02)")
        .rule(":bias", "zeros");
    residual_out_and_readout(p, residual, "normal(std=0.02)");
  } else {
    std::vector<std::string> names = presets();
    TORCH_CHECK(false, "torchinit::Plan::preset: unknown preset '", name, "';",
                did_you_mean(name, names), " presets: ", fmt::format("{}", fmt::join(names, ", ")));
  }
  return p;
}

}  // namespace torchinit
