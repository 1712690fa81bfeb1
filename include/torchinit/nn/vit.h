// ViT: an encoder classifier for small images (Dosovitskiy et al. 2021): non-overlapping
// patches embedded by a strided Conv2d, learned position embeddings, pre-LN Transformer blocks,
// a final LayerNorm, the mean over tokens and a readout to the classes. Paths: patch.weight,
// pos_emb.weight, layers.3.attn.qkv.weight, layers.3.mlp.fc2.weight, norm.weight, head.weight.
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <iosfwd>
#include <string>

#include "torchinit/nn/probe.h"
#include "torchinit/nn/projection.h"

namespace torchinit::nn {

// Options for `ViT`.
//
// Example:
//   ViT vit(ViTOptions(10, 64, 4, 4));   // Fashion-MNIST: 28×28, 1 channel, 4×4 patches
struct ViTOptions {
  ViTOptions(int64_t classes, int64_t width, int64_t depth, int64_t heads);

  TORCH_ARG(int64_t, classes);
  TORCH_ARG(int64_t, width);  // model width d
  TORCH_ARG(int64_t, depth);  // Transformer blocks
  TORCH_ARG(int64_t, heads);  // attention heads (divides width)
  TORCH_ARG(int64_t, mlp_ratio) = 4;
  // The blocks' LayerNorms (TransformerBlockOptions::norm): "pre" (with a final LayerNorm
  // `norm`), "post" or "none" (no final LayerNorm).
  TORCH_ARG(std::string, norm) = "pre";
  // One fused Q/K/V projection per block, or attn.q, attn.k, attn.v.
  TORCH_ARG(bool, fused_qkv) = true;
  TORCH_ARG(int64_t, image) = 28;    // input height and width
  TORCH_ARG(int64_t, patch) = 4;     // patch side (divides image)
  TORCH_ARG(int64_t, channels) = 1;  // input channels
};

// Images [batch, channels, image, image] → logits [batch, classes]. forward_probed() records
// patch, tokens (with positions), each block, norm, mean_pool and head.
class ViTImpl : public torch::nn::Cloneable<ViTImpl>, public Probed {
 public:
  explicit ViTImpl(ViTOptions options);

  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& images);
  torch::Tensor forward_probed(const torch::Tensor& images, Probe& probe) override;

  ViTOptions options;
  torch::nn::Conv2d patch{nullptr};
  torch::nn::Embedding pos_emb{nullptr};  // one row per patch
  torch::nn::Sequential layers{nullptr};
  torch::nn::LayerNorm norm{nullptr};  // null unless the blocks are pre-LN
  Projection head{nullptr};            // role readout

 private:
  void check_input(const torch::Tensor& images) const;
};

// A `ModuleHolder` for `ViTImpl`.
TORCH_MODULE(ViT);

}  // namespace torchinit::nn
