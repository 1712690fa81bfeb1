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
#pragma once

#include <cstdint>
#include <map>
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

  // Initializes every parameter (the base plan's family with the μP std), sets the modules'
  // forward-multiplier buffers, and returns the Report with each row's multipliers. Everything
  // is validated before any tensor or buffer is written.
  Report apply(torch::nn::Module& model, const ApplyOptions& options = {}) const;
  Report apply(const torch::nn::AnyModule& model, const ApplyOptions& options = {}) const;
  // The same report without writing anything.
  Report explain(const torch::nn::Module& model, const ApplyOptions& options = {}) const;

  // "mup(optimizer=adam)", "deepnet(layers=N)".
  std::string name() const;

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

  Base base_;
  Plan base_plan_;
  MupOptions options_;
  int64_t deepnet_layers_ = 0;  // > 0: DeepNet instead of μP
};

}  // namespace torchinit
