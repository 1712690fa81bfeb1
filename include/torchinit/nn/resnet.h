// ResNet (He et al. 2016, "Deep Residual Learning for Image Recognition") with torchvision's
// layer counts and parameter names.
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "torchinit/nn/probe.h"

namespace torchinit::nn {

// Options for `ResNet`.
//
// Example:
//   ResNet net(ResNetOptions(18).classes(10).stem("cifar"));
struct ResNetOptions {
  /* implicit */ ResNetOptions(int64_t depth);

  // 18 or 34 (BasicBlock), 50, 101 or 152 (Bottleneck).
  TORCH_ARG(int64_t, depth);
  // Outputs of the classifier `fc`.
  TORCH_ARG(int64_t, classes) = 1000;
  // "imagenet": conv1 7×7 stride 2 + 3×3 max pool stride 2 (input downsampled 4×, as
  // torchvision); "cifar": conv1 3×3 stride 1 and no pooling (for 32×32 inputs).
  TORCH_ARG(std::string, stem) = "imagenet";
  // Base channels: stages have width, 2·width, 4·width, 8·width channels (times the block's
  // expansion at their outputs). 64 is torchvision's.
  TORCH_ARG(int64_t, width) = 64;
  // Channels of the input.
  TORCH_ARG(int64_t, in_channels) = 3;
};

// ResNet classifier: [batch, in_channels, h, w] → [batch, classes]. Submodules are named as in
// torchvision, so parameter paths read `conv1.weight`, `bn1.bias`, `layer1.0.conv2.weight`,
// `layer2.0.downsample.0.weight`, `fc.weight`: torchvision's state_dict keys.
//
// Example:
//   ResNet net(ResNetOptions(18).classes(10).stem("cifar"));
//   torch::Tensor logits = net(torch::randn({2, 3, 32, 32}));  // [2, 10]
class ResNetImpl : public torch::nn::Cloneable<ResNetImpl>, public Probed {
 public:
  explicit ResNetImpl(ResNetOptions options);

  // Blocks per stage for a depth, as torchvision: 18 → {2, 2, 2, 2}, 34 and 50 → {3, 4, 6, 3},
  // 101 → {3, 4, 23, 3}, 152 → {3, 8, 36, 3}; c10::Error for other depths.
  static std::vector<int64_t> blocks_per_stage(int64_t depth);
  // Whether a depth uses Bottleneck blocks (50 and deeper) rather than BasicBlock.
  static bool uses_bottleneck(int64_t depth);

  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& input);
  // forward() that reports every layer's output to `probe` (nn/probe.h); a separate name,
  // since AnyModule needs forward() without overloads.
  torch::Tensor forward_probed(const torch::Tensor& input, Probe& probe) override;

  ResNetOptions options;
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::MaxPool2d maxpool{nullptr};  // null with the cifar stem
  torch::nn::Sequential layer1{nullptr};
  torch::nn::Sequential layer2{nullptr};
  torch::nn::Sequential layer3{nullptr};
  torch::nn::Sequential layer4{nullptr};
  torch::nn::Linear fc{nullptr};
};

// A `ModuleHolder` for `ResNetImpl`.
TORCH_MODULE(ResNet);

}  // namespace torchinit::nn
