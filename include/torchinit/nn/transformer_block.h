// The Transformer block (GPT-2, ViT): pre-LN by default, x + attn(ln1(x)), then + mlp(ln2(x)),
// with multi-head self-attention on a fused Q/K/V projection and a GELU MLP; post-LN (Vaswani et
// al. 2017; DeepNet's DeepNorm with α) or without norms (T-Fixup) as options, and Q, K, V as
// three projections if asked. The projections are `Projection`s, so plans target them by role:
// `attn.qkv` (3 blocks) or `attn.q`, `attn.k`, `attn.v`, and `attn.proj` and `mlp.fc2`
// (`residual_out`: they write into the residual stream).
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <iosfwd>
#include <string>

#include "torchinit/nn/projection.h"

namespace torchinit::nn {

// Options for `TransformerBlock` (and its parts).
struct TransformerBlockOptions {
  TransformerBlockOptions(int64_t width, int64_t heads);

  // Model width d (features of the residual stream).
  TORCH_ARG(int64_t, width);
  // Attention heads; must divide width.
  TORCH_ARG(int64_t, heads);
  // The MLP's hidden width is mlp_ratio · width.
  TORCH_ARG(int64_t, mlp_ratio) = 4;
  // Causal attention (a decoder: position t attends to positions <= t).
  TORCH_ARG(bool, causal) = false;
  // Where the LayerNorms are: "pre" (x + f(LN(x))), "post" (LN(α x + f(x)), Vaswani et al. 2017
  // and DeepNet's DeepNorm) or "none" (α x + f(x), T-Fixup). α: the block's buffer
  // `residual_multiplier`, 1 by default; pre-LN blocks do not use it.
  TORCH_ARG(std::string, norm) = "pre";
  // One fused Q/K/V projection `attn.qkv` (3 blocks), or three: `attn.q`, `attn.k`, `attn.v`
  // (schemes that scale V and not Q, K: DeepNet, T-Fixup).
  TORCH_ARG(bool, fused_qkv) = true;
  // "standard" ops, or "unit": u-μP's unit-scaled ops (Blake et al. 2024, graphcore-research/
  // unit-scaling), for Parametrization::u_mup, which sets their scales. Pre-LN only; the
  // projections have no bias. With T tokens, head width d_h, β = `logit_multiplier`, γ =
  // `act_multiplier` and τ = `residual_tau`:
  //   attention  softmax(β q kᵀ/d_h) v · s, s = 1/I(1/(1 + 4 d_h/β²), √(c/T), 1), c = ln T
  //              when causal, else 1
  //   MLP        fc2(gelu(γ x)/γ · I(1/(1 + 1/(4γ²)), 2, √(2/(1 - 1/π))))
  //   residual   x ← (τ f(LN(x)) + x)/√(1 + τ²), τ per branch (attention, MLP)
  // where I(a, lo, hi) = lo^(1-a) hi^a interpolates logarithmically (unit-scaling's empirical
  // models of the ops' output scale, kept as they are there).
  TORCH_ARG(std::string, ops) = "standard";
};

// Multi-head self-attention: qkv (d → 3d, 3 blocks), softmax(β q kᵀ/√(d/h)) v per head, then
// proj (d → d, residual_out). [batch, tokens, d] → [batch, tokens, d]. β is the buffer
// `logit_multiplier`: 1 by default (standard attention), √(base head width / head width) under
// μP (logits ∝ 1/head width, equal to standard attention at the base width; parametrization.h).
// With ops "unit", the logits are β q kᵀ/d_h and the output is scaled (TransformerBlockOptions).
class SelfAttentionImpl : public torch::nn::Cloneable<SelfAttentionImpl> {
 public:
  explicit SelfAttentionImpl(TransformerBlockOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& input);

  TransformerBlockOptions options;
  Projection qkv{nullptr};                        // fused_qkv
  Projection q{nullptr}, k{nullptr}, v{nullptr};  // !fused_qkv
  Projection proj{nullptr};
  torch::Tensor logit_multiplier;  // 0-dim buffer β
};
TORCH_MODULE(SelfAttention);

// fc1 (d → r·d) → GELU → fc2 (r·d → d, residual_out). With ops "unit", the scaled GELU with the
// buffer `act_multiplier` γ (TransformerBlockOptions).
class FeedForwardImpl : public torch::nn::Cloneable<FeedForwardImpl> {
 public:
  explicit FeedForwardImpl(TransformerBlockOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& input);

  TransformerBlockOptions options;
  Projection fc1{nullptr};
  Projection fc2{nullptr};
  torch::Tensor act_multiplier;  // 0-dim buffer γ; ops "unit" only
};
TORCH_MODULE(FeedForward);

// x + attn(ln1(x)), then x + mlp(ln2(x)) (norm "pre"); LN1(α x + attn(x)), then
// LN2(α x + mlp(x)) ("post"); α x + attn(x), then α x + mlp(x) ("none", no ln1/ln2). Paths: ln1,
// attn.qkv (or attn.q, attn.k, attn.v), attn.proj, ln2, mlp.fc1, mlp.fc2.
class TransformerBlockImpl : public torch::nn::Cloneable<TransformerBlockImpl> {
 public:
  explicit TransformerBlockImpl(TransformerBlockOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& input);

  TransformerBlockOptions options;
  torch::nn::LayerNorm ln1{nullptr};  // null for norm "none"
  SelfAttention attn{nullptr};
  torch::nn::LayerNorm ln2{nullptr};  // null for norm "none"
  FeedForward mlp{nullptr};
  torch::Tensor residual_multiplier;  // 0-dim buffer α
  torch::Tensor residual_tau;         // [2] buffer τ (attention, MLP); ops "unit" only
};
TORCH_MODULE(TransformerBlock);

}  // namespace torchinit::nn
