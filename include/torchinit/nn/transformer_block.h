// The pre-LN Transformer block (GPT-2, ViT): x + attn(ln1(x)), then + mlp(ln2(x)), with
// multi-head self-attention on a fused Q/K/V projection and a GELU MLP. The projections are
// `Projection`s, so plans target them by role: `attn.qkv` (3 blocks), and `attn.proj` and
// `mlp.fc2` (`residual_out`: they write into the residual stream).
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <iosfwd>

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
};

// Multi-head self-attention: qkv (d → 3d, 3 blocks), softmax(β q kᵀ/√(d/h)) v per head, then
// proj (d → d, residual_out). [batch, tokens, d] → [batch, tokens, d]. β is the buffer
// `logit_multiplier`: 1 by default (standard attention), √(base head width / head width) under
// μP (logits ∝ 1/head width, equal to standard attention at the base width; parametrization.h).
class SelfAttentionImpl : public torch::nn::Cloneable<SelfAttentionImpl> {
 public:
  explicit SelfAttentionImpl(TransformerBlockOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& input);

  TransformerBlockOptions options;
  Projection qkv{nullptr};
  Projection proj{nullptr};
  torch::Tensor logit_multiplier;  // 0-dim buffer β
};
TORCH_MODULE(SelfAttention);

// fc1 (d → r·d) → GELU → fc2 (r·d → d, residual_out).
class FeedForwardImpl : public torch::nn::Cloneable<FeedForwardImpl> {
 public:
  explicit FeedForwardImpl(TransformerBlockOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& input);

  TransformerBlockOptions options;
  Projection fc1{nullptr};
  Projection fc2{nullptr};
};
TORCH_MODULE(FeedForward);

// x + attn(ln1(x)), then x + mlp(ln2(x)). Paths: ln1, attn.qkv, attn.proj, ln2, mlp.fc1,
// mlp.fc2.
class TransformerBlockImpl : public torch::nn::Cloneable<TransformerBlockImpl> {
 public:
  explicit TransformerBlockImpl(TransformerBlockOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& input);

  TransformerBlockOptions options;
  torch::nn::LayerNorm ln1{nullptr};
  SelfAttention attn{nullptr};
  torch::nn::LayerNorm ln2{nullptr};
  FeedForward mlp{nullptr};
};
TORCH_MODULE(TransformerBlock);

}  // namespace torchinit::nn
