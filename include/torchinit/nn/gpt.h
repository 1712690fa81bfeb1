// GPT: a decoder-only language model (Radford et al. 2019): token and position embeddings,
// pre-LN causal Transformer blocks, a final LayerNorm and a readout to the vocabulary, tied to
// the token embedding or not. Paths as in HF/torchtitan: tok_emb.weight, pos_emb.weight,
// layers.3.attn.qkv.weight, layers.3.mlp.fc2.weight, norm.weight, head.weight.
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <iosfwd>
#include <string>

#include "torchinit/nn/probe.h"
#include "torchinit/nn/projection.h"

namespace torchinit::nn {

// Options for `GPT`.
//
// Example:
//   GPT lm(GPTOptions(50257, 1024, 768, 12, 12).tied(true));   // GPT-2 small's shapes
struct GPTOptions {
  GPTOptions(int64_t vocab, int64_t context, int64_t width, int64_t depth, int64_t heads);

  TORCH_ARG(int64_t, vocab);    // vocabulary size
  TORCH_ARG(int64_t, context);  // positions (longest input)
  TORCH_ARG(int64_t, width);    // model width d
  TORCH_ARG(int64_t, depth);    // Transformer blocks
  TORCH_ARG(int64_t, heads);    // attention heads (divides width)
  TORCH_ARG(int64_t, mlp_ratio) = 4;
  // The blocks' LayerNorms (TransformerBlockOptions::norm): "pre" (with a final LayerNorm
  // `norm`), "post" or "none" (no final LayerNorm).
  TORCH_ARG(std::string, norm) = "pre";
  // One fused Q/K/V projection per block, or attn.q, attn.k, attn.v.
  TORCH_ARG(bool, fused_qkv) = true;
  // head.weight is tok_emb.weight (one tensor; the head then has no bias of its own either way).
  TORCH_ARG(bool, tied) = false;
  // The blocks' ops (TransformerBlockOptions::ops): "standard" or "unit" (u-μP, pre-LN only;
  // the embedding is then (token + position)/√2, unit-scaling's scaled add of two unit inputs).
  TORCH_ARG(std::string, ops) = "standard";
};

// Token ids [batch, tokens] (int64, tokens <= context) → logits [batch, tokens, vocab].
// forward_probed() takes token ids too and records embed (token + position), each block, norm
// and head.
class GPTImpl : public torch::nn::Cloneable<GPTImpl>, public Probed {
 public:
  explicit GPTImpl(GPTOptions options);

  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& tokens);
  torch::Tensor forward_probed(const torch::Tensor& tokens, Probe& probe) override;

  GPTOptions options;
  torch::nn::Embedding tok_emb{nullptr};
  torch::nn::Embedding pos_emb{nullptr};
  torch::nn::Sequential layers{nullptr};
  torch::nn::LayerNorm norm{nullptr};  // null unless the blocks are pre-LN
  Projection head{nullptr};            // role readout, no bias

 private:
  torch::Tensor embed(const torch::Tensor& tokens);
};

// A `ModuleHolder` for `GPTImpl`.
TORCH_MODULE(GPT);

}  // namespace torchinit::nn
