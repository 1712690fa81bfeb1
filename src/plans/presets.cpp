// Presets: named plans for common recipes. Each rule list is ordered most specific first.
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <functional>
#include <string>
#include <string_view>

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

// Depth presets scale each block's residual outputs by its index i: rules for the residual
// projections of torchinit's Transformers (and HF/torchtitan-style `layers.<i>.` paths), one per
// block, for i < layers. A model with more blocks than `layers`, or residual projections at other
// paths, finds no rule for them (an error in strict mode, never a silent default).
// Each block's rules are a required group: a model with fewer blocks than `layers` (or none at
// these paths) is an error too, not a plan whose depth scaling silently applies to nothing.
void per_block_residual_out(Plan& p, std::string_view name, int64_t layers,
                            const std::function<std::string(int64_t)>& spec_of_block) {
  for (int64_t i = 0; i < layers; ++i) {
    const std::string spec = spec_of_block(i);
    const std::string why = fmt::format(
        "{} scales block {}'s residual projections (layers={}): give it a model with {} blocks "
        "at layers.<i>.attn.proj and layers.<i>.mlp.fc2 (torchinit::nn::GPT, ViT), or the "
        "number of blocks the model has",
        name, i, layers, layers);
    p.rule(fmt::format("layers.{}.attn.proj.weight", i), spec)
        .required(why)
        .rule(fmt::format("layers.{}.mlp.fc2.weight", i), spec)
        .required(why);
  }
}

// deepnet and t_fixup: `plain` on Q and K, `scaled` on V and the first MLP layer; the three
// attention rules are required (a fused QKV cannot scale V alone), `build` says how to split it.
void value_and_mlp_in_scaled(Plan& p, std::string_view name, const std::string& plain,
                             const std::string& scaled, std::string_view build) {
  const std::string split =
      fmt::format("{} scales V apart from Q and K: build the model with separate projections ({})",
                  name, build);
  p.rule("*.attn.q.weight", plain)
      .required(split)
      .rule("*.attn.k.weight", plain)
      .required(split)
      .rule("*.attn.v.weight", scaled)
      .required(split)
      .rule("*.mlp.fc1.weight", scaled);
}

// deepnet and t_fixup: `plain` for every role but the residual projections, which get `scaled`
// and are required.
void residual_out_scaled(Plan& p, std::string_view name, const std::string& plain,
                         const std::string& scaled) {
  p.rule(":input", plain)
      .rule(":recurrent", plain)
      .rule(":weight", plain)
      .rule(":bias", "zeros")
      .rule(":residual_out", scaled)
      .required(fmt::format(
          "{} scales the residual projections (role residual_out); this model has none", name))
      .rule(":readout", plain);
}

void require_layers(std::string_view name, int64_t layers) {
  TORCH_CHECK(layers > 0, "torchinit::Plan::preset: ", name,
              " needs the number of transformer layers (Plan::preset(\"", name,
              "\", layers)) to scale residual projections");
}

}  // namespace

std::vector<std::string> Plan::presets() {
  return {"torch_default", "he",   "xavier",         "lecun_selu", "orthogonal_rnn",
          "resnet",        "gpt2", "megatron_depth", "gpt_neox",   "olmo_mitchell",
          "deepnet"};
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
    require_layers(name, layers);
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
  } else if (name == "megatron_depth") {
    // Depth-scaled residual init by block index (Megatron-LM's scaled init, Shoeybi et al. 2019,
    // as torchtitan's depth_init and OLMo-core's llama_depth apply it): N(0, 0.02) everywhere,
    // block i's residual projections N(0, 0.02/sqrt(2(i+1))).
    require_layers(name, layers);
    per_block_residual_out(p, name, layers, [](int64_t i) {
      return fmt::format("normal(std={})", 0.02 / std::sqrt(2.0 * double(i + 1)));
    });
    norms_and_embeddings(p, "normal(std=0.02)");
    p.rule(":input", "normal(std=0.02)")
        .rule(":recurrent", "normal(std=0.02)")
        .rule(":weight", "normal(std=0.02)")
        .rule(":bias", "zeros")
        .rule(":readout", "normal(std=0.02)");
  } else if (name == "gpt_neox") {
    // GPT-NeoX (Black et al. 2022): small_init N(0, 2/(5d)) (Nguyen & Salazar 2019,
    // "Transformers without tears") for embeddings and weights, wang_init N(0, (2/(L sqrt(d)))^2)
    // (Wang & Komatsuzaki 2021, GPT-J) for residual projections; d = the width they read from or
    // write to: fan_in for small_init, fan_out (the residual width) for wang_init.
    require_layers(name, layers);
    const std::string small_init = "variance_scaling(scale=0.4, distribution=untruncated_normal)";
    const std::string wang_init =
        fmt::format("variance_scaling(scale={}, mode=fan_out, distribution=untruncated_normal)",
                    4.0 / (double(layers) * double(layers)));
    norms_and_embeddings(p, small_init.c_str());
    p.rule(":input", small_init)
        .rule(":recurrent", small_init)
        .rule(":weight", small_init)
        .rule(":bias", "zeros");
    // As residual_out_and_readout(), with the residual rule required.
    p.rule(":residual_out", wang_init)
        .required(
            "gpt_neox scales the residual projections (role residual_out: attention's output and "
            "the MLP's second layer of torchinit::nn::GPT and ViT, or a Projection with "
            "role=residual_out); this model has none")
        .rule(":readout", small_init);
  } else if (name == "olmo_mitchell") {
    // OLMo's "mitchell" init (Groeneveld et al. 2024): every weight and embedding N(0, 1/fan_in)
    // cut at ±3 std; block i's residual projections N(0, 1/(2 (i+1) fan_in)) cut at ±3 std
    // (fan_in: d for attention's output, the MLP's hidden width for its second layer).
    require_layers(name, layers);
    const std::string fan_in = "scaled_trunc_normal(cutoff=3)";
    per_block_residual_out(p, name, layers, [](int64_t i) {
      return fmt::format("scaled_trunc_normal(scale={}, cutoff=3)", 1.0 / (2.0 * double(i + 1)));
    });
    norms_and_embeddings(p, fan_in.c_str());
    p.rule(":input", fan_in)
        .rule(":recurrent", fan_in)
        .rule(":weight", fan_in)
        .rule(":bias", "zeros")
        .rule(":readout", fan_in);
  } else if (name == "deepnet") {
    // DeepNet (Wang et al. 2022, "DeepNet: Scaling Transformers to 1,000 Layers"), for an
    // encoder-only or decoder-only stack of N = layers post-LN blocks: xavier_normal with gain
    // β = (8N)^(-1/4) on V, the attention output and both MLP layers, gain 1 on Q and K; the
    // forward multiplier α = (2N)^(1/4) on the residual (DeepNorm, LN(α x + f(x))) is set by
    // Parametrization::deepnet. Embeddings N(0, 1/d) as fairseq's Transformer.
    require_layers(name, layers);
    const double beta = std::pow(8.0 * double(layers), -0.25);
    const std::string scaled = fmt::format("xavier_normal(gain={})", beta);
    value_and_mlp_in_scaled(p, name, "xavier_normal", scaled,
                            "gpt(..., qkv=split), TransformerBlockOptions::fused_qkv(false)");
    norms_and_embeddings(p, "lecun_normal");
    residual_out_scaled(p, name, "xavier_normal", scaled);
  } else if (name == "t_fixup") {
    // T-Fixup (Huang et al. 2020, "Improving Transformer Optimization Through Better
    // Initialization"), its decoder rule for a stack of L = layers blocks without LayerNorm
    // (gpt(..., norm=none, qkv=split)): xavier everywhere, V, the attention output and both MLP
    // layers scaled by s = (9L)^(-1/4); embeddings N(0, 1/d) scaled by s too.
    require_layers(name, layers);
    const double s = std::pow(9.0 * double(layers), -0.25);
    const std::string scaled = fmt::format("xavier_uniform(gain={})", s);
    value_and_mlp_in_scaled(p, name, "xavier_uniform", scaled, "gpt(..., norm=none, qkv=split)");
    // N(0, s²/d) for an embedding [rows, d] (fan_in = d).
    norms_and_embeddings(
        p,
        fmt::format("variance_scaling(scale={}, distribution=untruncated_normal)", s * s).c_str());
    residual_out_scaled(p, name, "xavier_uniform", scaled);
  } else {
    std::vector<std::string> names = presets();
    TORCH_CHECK(false, "torchinit::Plan::preset: unknown preset '", name, "';",
                did_you_mean(name, names), " presets: ", fmt::format("{}", fmt::join(names, ", ")));
  }
  return p;
}

}  // namespace torchinit
