// LSUV, layer-sequential unit-variance initialization (Mishkin & Matas 2016, "All you need is a
// good init"): a data-driven init. Every Linear/Conv weight is first made orthogonal (biases
// zero); then, layer by layer from the input, the layer's output variance on a batch is measured
// and its weight divided by the standard deviation, until the variance is within `tolerance` of
// 1 or `max_iter` rescales are spent.
//
//   auto mlp = torchinit::nn::MLP(torchinit::nn::MLPOptions(784, {256, 256}, 10));
//   torchinit::LsuvReport r = torchinit::lsuv_(*mlp, batch, torchinit::LsuvOptions().seed(1));
//   std::cout << r.table();
//
// Works on whatever nn::forward_probed walks: torch::nn::Sequential and nn::Probed modules
// such as torchinit's MLP, ConvNet and ResNet (the convs and Linear layers reached in the walk; a
// residual block's inner convs are not rescaled). Deterministic: the orthogonal pre-init uses the
// plan streams with `seed`, and the N(0, 1) batch of the shape overload is drawn from `seed`.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <cstdint>
#include <string>
#include <vector>

namespace torch::nn {
class Module;
}  // namespace torch::nn

namespace torchinit {

struct LsuvOptions {
  // |Var(output) - 1| <= tolerance ends a layer.
  TORCH_ARG(double, tolerance) = 0.1;
  // At most this many rescales per layer.
  TORCH_ARG(int, max_iter) = 10;
  // Seed of the orthogonal pre-init (and of the batch drawn by the shape overload).
  TORCH_ARG(uint64_t, seed) = 0;
  // Orthogonal pre-init of every Linear/Conv weight (biases zero); false keeps the weights as they
  // are and only rescales.
  TORCH_ARG(bool, orthogonal_init) = true;
};

struct LsuvLayer {
  std::string path;             // "layers.4"
  double initial_variance = 0;  // output variance after the pre-init
  double final_variance = 0;    // after the last rescale
  double scale = 1;             // product of the factors applied to the weight
  int iterations = 0;           // rescales applied
  bool converged = false;       // |final_variance - 1| <= tolerance
};

struct LsuvReport {
  std::vector<LsuvLayer> layers;
  double tolerance = 0;
  bool converged() const;  // every layer converged
  std::string table() const;
  std::string json() const;
};

// Initializes `module` in place with LSUV on `batch`. c10::Error when nothing can be walked, when
// a layer's output variance is 0 or not finite (nothing to rescale), or for bad options.
LsuvReport lsuv_(torch::nn::Module& module, const at::Tensor& batch,
                 const LsuvOptions& options = {});
// Same, on an N(0, 1) batch of `input_shape` drawn from options.seed().
LsuvReport lsuv_(torch::nn::Module& module, std::vector<int64_t> input_shape,
                 const LsuvOptions& options = {});

}  // namespace torchinit
