// MLP: a multilayer perceptron.
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "torchinit/nn/probe.h"

namespace torchinit::nn {

// Options for `MLP`: for each hidden width, Linear → norm → activation → dropout; then a last
// Linear to `out_features`.
//
// Example:
//   MLP mlp(MLPOptions(784, {256, 256}, 10).activation("leaky_relu(0.2)").norm("batch"));
struct MLPOptions {
  MLPOptions(int64_t in_features, std::vector<int64_t> hidden, int64_t out_features);

  // Size of the last dimension of the input.
  TORCH_ARG(int64_t, in_features);
  // Widths of the hidden layers; empty gives a single Linear.
  TORCH_ARG(std::vector<int64_t>, hidden);
  // Size of the last dimension of the output.
  TORCH_ARG(int64_t, out_features);
  // Activation spec after each hidden layer (nn/activation_module.h): relu, leaky_relu(0.2),
  // tanh, sigmoid, selu, elu(1.0), gelu, silu, ...
  TORCH_ARG(std::string, activation) = "relu";
  // Normalization after each hidden Linear: "none", "batch" (BatchNorm1d; input must be
  // [batch, in_features]) or "layer" (LayerNorm over the features).
  TORCH_ARG(std::string, norm) = "none";
  // Dropout probability after each hidden activation; 0 adds no Dropout module.
  TORCH_ARG(double, dropout) = 0.0;
  // Whether the Linear layers have biases.
  TORCH_ARG(bool, bias) = true;
};

// Multilayer perceptron: [..., in_features] → [..., out_features]. Every layer lives in the
// Sequential `layers`, so parameter paths read `layers.0.weight`, `layers.2.bias`, ...
//
// Example:
//   MLP mlp(MLPOptions(784, {256, 256}, 10));
//   torch::Tensor logits = mlp(torch::randn({8, 784}));  // [8, 10]
class MLPImpl : public torch::nn::Cloneable<MLPImpl>, public Probed {
 public:
  explicit MLPImpl(MLPOptions options);

  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& input);
  // forward() that reports every layer's output to `probe` (nn/probe.h); a separate name,
  // since AnyModule needs forward() without overloads.
  torch::Tensor forward_probed(const torch::Tensor& input, Probe& probe) override;

  MLPOptions options;
  torch::nn::Sequential layers{nullptr};
};

// A `ModuleHolder` for `MLPImpl`.
TORCH_MODULE(MLP);

}  // namespace torchinit::nn
