// Bottleneck: the 1×1–3×3–1×1 residual block of ResNet-50/101/152 (He et al. 2016), with the
// stride on the 3×3 conv as in torchvision (ResNet v1.5).
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <iosfwd>

namespace torchinit::nn {

// Options for `Bottleneck`.
//
// Example:
//   Bottleneck block(BottleneckOptions(256, 128).stride(2));  // outputs 512 channels
struct BottleneckOptions {
  BottleneckOptions(int64_t in_channels, int64_t channels);

  // Channels of the input.
  TORCH_ARG(int64_t, in_channels);
  // Channels of the 1×1 and 3×3 convs; the block outputs channels * BottleneckImpl::expansion.
  TORCH_ARG(int64_t, channels);
  // Stride of the 3×3 conv (and of the shortcut).
  TORCH_ARG(int64_t, stride) = 1;
};

// x → conv1 (1×1) → bn1 → relu → conv2 (3×3, stride) → bn2 → relu → conv3 (1×1, ×4 channels)
// → bn3, plus the shortcut, then relu. The shortcut is the identity, or `downsample` (1×1 conv
// with the stride + BatchNorm2d: `downsample.0`, `downsample.1`) when the stride or the channels
// change. Convs have no bias.
//
// Example:
//   Bottleneck block(BottleneckOptions(64, 64));
//   torch::Tensor y = block(torch::randn({2, 64, 8, 8}));  // [2, 256, 8, 8]
class BottleneckImpl : public torch::nn::Cloneable<BottleneckImpl> {
 public:
  static constexpr int64_t expansion = 4;

  explicit BottleneckImpl(BottleneckOptions options);

  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& input);

  BottleneckOptions options;
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::Conv2d conv2{nullptr};
  torch::nn::BatchNorm2d bn2{nullptr};
  torch::nn::Conv2d conv3{nullptr};
  torch::nn::BatchNorm2d bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};  // null for an identity shortcut
};

// A `ModuleHolder` for `BottleneckImpl`.
TORCH_MODULE(Bottleneck);

}  // namespace torchinit::nn
