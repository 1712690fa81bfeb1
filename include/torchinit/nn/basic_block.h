// BasicBlock: the two-conv residual block of ResNet-18/34 (He et al. 2016).
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

// Options for `BasicBlock`.
//
// Example:
//   BasicBlock block(BasicBlockOptions(64, 128).stride(2));  // with a projection shortcut
struct BasicBlockOptions {
  BasicBlockOptions(int64_t in_channels, int64_t channels);

  // Channels of the input.
  TORCH_ARG(int64_t, in_channels);
  // Channels of both convs; the block outputs channels * BasicBlockImpl::expansion.
  TORCH_ARG(int64_t, channels);
  // Stride of the first conv (and of the shortcut).
  TORCH_ARG(int64_t, stride) = 1;
};

// x → conv1 (3×3, stride) → bn1 → relu → conv2 (3×3) → bn2, plus the shortcut, then relu.
// The shortcut is the identity, or `downsample` (1×1 conv with the stride + BatchNorm2d, named
// `downsample.0` and `downsample.1` as in torchvision) when the stride or the channels change.
// Convs have no bias.
//
// Example:
//   BasicBlock block(BasicBlockOptions(64, 64));
//   torch::Tensor y = block(torch::randn({2, 64, 8, 8}));  // [2, 64, 8, 8]
class BasicBlockImpl : public torch::nn::Cloneable<BasicBlockImpl> {
 public:
  static constexpr int64_t expansion = 1;

  explicit BasicBlockImpl(BasicBlockOptions options);

  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& input);

  BasicBlockOptions options;
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::Conv2d conv2{nullptr};
  torch::nn::BatchNorm2d bn2{nullptr};
  torch::nn::Sequential downsample{nullptr};  // null for an identity shortcut
};

// A `ModuleHolder` for `BasicBlockImpl`.
TORCH_MODULE(BasicBlock);

}  // namespace torchinit::nn
