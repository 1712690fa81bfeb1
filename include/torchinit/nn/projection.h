// Projection: a Linear layer that says what it is for, so plans can target it by role: the
// fused Q/K/V projection of attention (3 blocks), a projection that writes into a residual
// stream (`residual_out`: attention's output projection, the MLP's second layer) or a model's
// readout (`readout`). Its layout is declared in LayoutRegistry::global() (type "Projection"),
// from its options, not from its name or its place in a model.
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <iosfwd>
#include <string>

namespace torchinit::nn {

// Options for `Projection`.
//
// Example:
//   Projection qkv(ProjectionOptions(64, 3 * 64).blocks(3));           // fused Q, K, V
//   Projection out(ProjectionOptions(64, 64).role("residual_out"));
struct ProjectionOptions {
  ProjectionOptions(int64_t in_features, int64_t out_features);

  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, out_features);
  TORCH_ARG(bool, bias) = true;
  // The weight's role: "weight", "residual_out" or "readout" (parameter_roles()).
  TORCH_ARG(std::string, role) = "weight";
  // Stacked blocks along the output rows (3 for fused Q/K/V), each with the fans of one block.
  TORCH_ARG(int64_t, blocks) = 1;
};

// y = (α x) Wᵀ + b, W [out_features, in_features], drawn as torch::nn::Linear draws
// (kaiming_uniform with a = √5; bias U(±1/√in_features)), so the `torch_default` spec reproduces
// it. α is the buffer `multiplier` (1 by default, where the layer is torch::nn::Linear to the
// bit): a parametrization's forward multiplier of the weight (μP's 1/m on a readout,
// parametrization.h), a buffer so that torch::save/torch::load keep it.
class ProjectionImpl : public torch::nn::Cloneable<ProjectionImpl> {
 public:
  explicit ProjectionImpl(ProjectionOptions options);

  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& input);

  ProjectionOptions options;
  torch::Tensor weight;
  torch::Tensor bias;        // undefined without bias
  torch::Tensor multiplier;  // 0-dim buffer α
};

// A `ModuleHolder` for `ProjectionImpl`.
TORCH_MODULE(Projection);

}  // namespace torchinit::nn
