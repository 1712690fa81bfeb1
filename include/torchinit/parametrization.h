// Parametrizations: per parameter, the init scale, the forward multiplier and the learning-rate and
// weight-decay multipliers, from a model and the same architecture at a base width.
//
// μP (Maximal Update Parametrization; Yang et al., "Tensor Programs V: Tuning Large Neural
// Networks via Zero-Shot Hyperparameter Transfer", 2022, Table 8, as microsoft/mup implements it).
// A dimension is "infinite" when it differs from the base model's; m is the ratio. Each
// parameter's class and multipliers (η: the optimizer's learning rate; σ: the base plan's init
// std of that parameter at the base width):
//
//   class    which dims grow          init std   forward   Adam lr   SGD lr
//   finite   none                     σ          1         η         η
//   vector   one (input and embedding σ          1         η         η·m
//            weights, biases, norms)
//   hidden   fan-in and fan-out       σ/√m       1         η/m       η·m_out/m
//   readout  fan-in only              σ          1/m       η         η·m
//
// and attention logits q·kᵀ/d_head instead of q·kᵀ/√d_head, written as the multiplier
// β = √(base d_head / d_head) on standard attention, so that the model at the base width is the
// standard-parametrized one. Weight decay multipliers are 1/lr multipliers: LibTorch's Adam,
// AdamW and SGD decay by lr·wd per step, and μP keeps that product independent of width (mup's
// default, decoupled_wd=False).
//
// Where the forward multipliers live, so that torch::save/torch::load keep them: the buffer
// `multiplier` of torchinit::nn::Projection (every readout of GPT and ViT) and `logit_multiplier`
// of torchinit::nn::SelfAttention. A readout of another module type (torch::nn::Linear, as in
// torchinit::nn::MLP) has no multiplier buffer; it gets the equivalent form without one (the
// paper's Table 3): init σ/m and lr η/m for Adam and SGD alike, which trains the same function
// (αW with α = 1/m: Adam moves W by η per step, αW by αη; SGD moves αW by α²·η·m). The Report
// row says which form a readout got. A torch::nn::MultiheadAttention whose head width grows keeps
// its 1/√d_head logits and the report warns.
//
//   auto model = torchinit::nn::make("gpt(vocab=256, context=64, width=512, depth=4, heads=8)");
//   auto mup = torchinit::Parametrization::mup(
//       "gpt(vocab=256, context=64, width=64, depth=4, heads=8)",   // the base model
//       torchinit::Plan::parse(":norm_scale = ones\n:bias = zeros\n* = normal(std=0.02)"));
//   torchinit::Report rep = mup.apply(model, torchinit::ApplyOptions().seed(42));
//   torch::optim::AdamW opt(torchinit::param_groups(*model.ptr(), rep,
//                                                   torch::optim::AdamWOptions(1e-3)));
//
// u-μP (Blake et al., "u-μP: The Unit-Scaled Maximal Update Parametrization", 2024, Table 2, as
// graphcore-research/unit-scaling implements it) moves every scale into the ops, so there is no
// base model and every weight starts at unit scale. It needs a model built with unit-scaled ops
// (gpt(..., ops=unit): TransformerBlockOptions::ops says what they compute). Per parameter, with
// L the number of blocks and δ = L^(-1/2) inside the blocks (depth-μP), 1 outside:
//
//   class    parameters                     init      forward      Adam lr
//   input    embeddings [n, d]              N(0, 1)   1            η·δ/√d
//   hidden   block projections [out, in]    N(0, 1)   1/√in        η·δ/√in
//   readout  the head [classes, d]          N(0, 1)   α_out/d      η
//   vector   LayerNorm weights, biases      1, 0      1            η·δ
//
// The residual branches add as (τ_k f + x)/√(1 + τ_k²), τ_k for branch k = 0 … 2L-1 (attention
// even, MLP odd) from unit-scaling's transformer rule (u-μP, App. G): α_mlp = α_res
// √(2/(1 + r²)), α_attn = r α_mlp, τ_k = α_k / √(L + a_k α_attn² + m_k α_mlp²), with a_k =
// ⌊(k+1)/2⌋ attention and m_k = ⌊k/2⌋ MLP branches before k (α_res: residual_mult, r:
// residual_attn_ratio). The attention's β is attn_softmax_mult, the GELU's γ ffn_act_mult.
// Weight-decay multipliers are 1/lr multipliers (lr·wd as at η: unit-scaling's independent
// weight decay, up to the base lr). Forward multipliers live in buffers (Projection
// `multiplier`, SelfAttention `logit_multiplier`, FeedForward `act_multiplier`, TransformerBlock
// `residual_tau`), so torch::save/torch::load keep them.
//
// Gradients are autograd's exact ones of this forward. unit-scaling also rescales some weight
// gradients in the backward pass only (by 1/√batch), which Adam's update does not see (it
// divides by the gradient's RMS; ε aside); so the Adam rules above are u-μP's, and SGD, whose
// update does see it, is not offered.
//
//   auto model = torchinit::nn::make("gpt(vocab=256, context=64, width=512, depth=4, heads=8, "
//                                    "ops=unit)");
//   torchinit::Report rep = torchinit::Parametrization::u_mup().apply(model);
//   torch::optim::Adam opt(torchinit::param_groups(*model.ptr(), rep,
//                                                  torch::optim::AdamOptions(1e-2)));
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "torchinit/plan.h"

namespace torchinit {

enum class OptimizerKind { Adam, SGD };  // Adam-like (Adam, AdamW, RMSprop) or SGD-like

struct MupOptions {
  // The optimizer the learning-rate multipliers are for.
  TORCH_ARG(OptimizerKind, optimizer) = OptimizerKind::Adam;
};

// u-μP's hyperparameters (u-μP, Table 3): each 1 by default, and width-independent.
struct UmupOptions {
  TORCH_ARG(OptimizerKind, optimizer) = OptimizerKind::Adam;  // Adam only (parametrization.h)
  TORCH_ARG(double, residual_mult) = 1;        // α_res: residual branches vs the embedding
  TORCH_ARG(double, residual_attn_ratio) = 1;  // r: attention branches vs MLP branches
  TORCH_ARG(double, attn_softmax_mult) = 1;    // β: the attention logits' multiplier
  TORCH_ARG(double, ffn_act_mult) = 1;         // γ: the GELU's input multiplier
  TORCH_ARG(double, output_mult) = 1;          // α_out: the readout's multiplier (over 1/d)
};

class Parametrization {
 public:
  // μP against `base`, the same architecture at the base width (the same parameter paths; each
  // dimension at most the model's). `base_plan` gives each parameter's init at the base width;
  // μP rescales the std it gives there. An element-wise family (constant, uniform, normal,
  // truncated normal, or a fan-based one that resolves to them) is required wherever a dimension
  // grows; c10::Error otherwise, naming the parameter.
  static Parametrization mup(const torch::nn::Module& base, const Plan& base_plan,
                             const MupOptions& options = {});
  // The base model from a model spec (nn::make).
  static Parametrization mup(std::string_view base_model, const Plan& base_plan,
                             const MupOptions& options = {});
  // DeepNet (Wang et al. 2022) for N = layers post-LN blocks: Plan::preset("deepnet", layers)'s
  // init (gain β = (8N)^(-1/4) on V, the attention output and the MLP) and the DeepNorm residual
  // multiplier α = (2N)^(1/4) in every TransformerBlock's `residual_multiplier` buffer, so that
  // each block computes LN(α x + f(x)). c10::Error, before any write, unless the model has N
  // blocks, all post-LN with separate Q, K, V (gpt(..., norm=post, qkv=split)).
  static Parametrization deepnet(int64_t layers);
  // u-μP. c10::Error, before any write, unless every TransformerBlock has ops "unit", the model
  // has at least one, its head is not tied to an embedding, every hyperparameter is finite and
  // > 0 and the optimizer is Adam.
  static Parametrization u_mup(const UmupOptions& options = {});

  // Initializes every parameter (the base plan's family with the μP std), sets the modules'
  // forward-multiplier buffers, and returns the Report with each row's multipliers. Everything
  // is validated before any tensor or buffer is written.
  Report apply(torch::nn::Module& model, const ApplyOptions& options = {}) const;
  Report apply(const torch::nn::AnyModule& model, const ApplyOptions& options = {}) const;
  // The same report without writing anything.
  Report explain(const torch::nn::Module& model, const ApplyOptions& options = {}) const;

  // "mup(optimizer=adam)", "deepnet(layers=N)", "u_mup(optimizer=adam, residual_mult=1, …)".
  std::string name() const;

  // The slope of log2 update RMS against log2 width that this parametrization predicts for a
  // layer whose probe type is `layer_type` (coordcheck.h): 0, Θ(1) updates, except u-μP's
  // embedding ("embed"), -1/2: its Adam learning rate is η/√d (Table 2).
  double predicted_update_slope(std::string_view layer_type) const;

  // What the base model was, by path: its Report (shapes, fans, theory), the in/out features of
  // its Projections and the head width of its SelfAttentions.
  struct Base {
    Report report;
    std::map<std::string, std::pair<int64_t, int64_t>> projections;
    std::map<std::string, int64_t> head_widths;
    std::map<std::string, int64_t> multihead_head_widths;  // torch::nn::MultiheadAttention
  };

 private:
  Parametrization(Base base, Plan base_plan, MupOptions options);
  // Writes into `writable` (the model itself) unless it is null (explain).
  Report resolve(const torch::nn::Module& model, const ApplyOptions& options,
                 torch::nn::Module* writable) const;
  Report resolve_deepnet(const torch::nn::Module& model, const ApplyOptions& options,
                         torch::nn::Module* writable) const;
  Report resolve_u_mup(const torch::nn::Module& model, const ApplyOptions& options,
                       torch::nn::Module* writable) const;

  Base base_;
  Plan base_plan_;
  MupOptions options_;
  int64_t deepnet_layers_ = 0;        // > 0: DeepNet instead of μP
  std::optional<UmupOptions> u_mup_;  // set: u-μP instead of μP
};

namespace detail {
// τ_k of u-μP's transformer residual rule (parametrization.h) for branch k of `branches` = 2L.
double u_mup_residual_tau(int64_t branch, int64_t branches, double residual_mult,
                          double residual_attn_ratio);
}  // namespace detail

}  // namespace torchinit
