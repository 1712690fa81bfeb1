// ConvNet: a VGG-style convolutional classifier, 1-D or 2-D.
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "torchinit/nn/probe.h"

namespace torchinit::nn {

// Options for `ConvNet`: one stage per entry of `channels`, each `convs` times
// conv (kernel_size, stride 1, 'same' padding) → norm → activation, with 2× max pooling
// between stages; then global average pooling and a Linear classifier.
//
// Example:
//   ConvNet net(ConvNetOptions(3, {32, 64}, 10).convs(2).dims(2));
struct ConvNetOptions {
  ConvNetOptions(int64_t in_channels, std::vector<int64_t> channels, int64_t classes);

  // Channels of the input.
  TORCH_ARG(int64_t, in_channels);
  // Output channels of each stage (at least one stage).
  TORCH_ARG(std::vector<int64_t>, channels);
  // Outputs of the classifier.
  TORCH_ARG(int64_t, classes);
  // Convolutions per stage.
  TORCH_ARG(int64_t, convs) = 2;
  // Kernel size of every convolution; odd, so that padding kernel_size/2 keeps the size.
  TORCH_ARG(int64_t, kernel_size) = 3;
  // 1 (Conv1d, input [batch, in_channels, length]) or 2 (Conv2d, [batch, in_channels, h, w]).
  TORCH_ARG(int64_t, dims) = 2;
  // "batch" (BatchNorm after each conv, convs without bias) or "none" (convs with bias).
  TORCH_ARG(std::string, norm) = "batch";
  // Activation spec after each conv (nn/activation_module.h).
  TORCH_ARG(std::string, activation) = "relu";
};

// VGG-style network. Parameter paths: `features.<i>.weight` (convs and norms, in order) and
// `classifier.weight`. Each pooling halves the spatial size, so inputs need at least
// 2^(stages-1) positions per spatial dimension.
//
// Example:
//   ConvNet net(ConvNetOptions(3, {32, 64}, 10));
//   torch::Tensor logits = net(torch::randn({8, 3, 32, 32}));  // [8, 10]
class ConvNetImpl : public torch::nn::Cloneable<ConvNetImpl>, public Probed {
 public:
  explicit ConvNetImpl(ConvNetOptions options);

  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& input);
  // forward() that reports every layer's output to `probe` (nn/probe.h); a separate name,
  // since AnyModule needs forward() without overloads.
  torch::Tensor forward_probed(const torch::Tensor& input, Probe& probe) override;

  ConvNetOptions options;
  torch::nn::Sequential features{nullptr};
  torch::nn::Linear classifier{nullptr};
};

// A `ModuleHolder` for `ConvNetImpl`.
TORCH_MODULE(ConvNet);

}  // namespace torchinit::nn
