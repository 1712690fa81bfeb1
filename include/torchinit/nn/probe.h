// Probes: what a network computes on its way, layer by layer. LibTorch's C++ frontend has no
// forward hooks, so torchinit's models report their intermediate outputs to a Probe through
// forward_probed(), and a torch::nn::Sequential is walked child by child.
//
//   struct Shapes : torchinit::nn::Probe {
//     void record(const std::string& path, const std::string& type, const at::Tensor& out,
//                 const torch::nn::Module*) override { std::cout << path << " " << out.sizes(); }
//   } shapes;
//   torchinit::nn::forward_probed(*mlp, torch::randn({8, 784}), shapes);
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace torch::nn {
class Module;
}  // namespace torch::nn

namespace torchinit::nn {

class Probe {
 public:
  virtual ~Probe() = default;
  // One intermediate output, in the order of the forward pass. `path`: the module's path as in
  // named_modules() ("layers.4", "layer1.0"); `type`: the module's type without namespace
  // ("Linear", "Conv2d", "ReLU", "BasicBlock"), or for functional steps inside a model a name
  // such as "relu" or "global_avg_pool"; `module`: the module, null for a functional step. The
  // input of a step is the output recorded just before it (the network input for the first),
  // except inside a residual block, which is recorded as one step.
  virtual void record(const std::string& path, const std::string& type, const at::Tensor& output,
                      const torch::nn::Module* module) = 0;
};

// A module that reports its own steps. forward_probed() (below) runs a Probed module through
// this interface, on its own or as a child of a Sequential, so a model of yours joins propagate()
// and LSUV by implementing it; torchinit's MLP, ConvNet and ResNet do:
//
//   struct TwoLayerImpl : torch::nn::Cloneable<TwoLayerImpl>, torchinit::nn::Probed {
//     at::Tensor forward_probed(const at::Tensor& x, torchinit::nn::Probe& probe) override {
//       return torchinit::nn::forward_probed(*body, x, probe, "body");  // a Sequential child
//     }
//     ...
//   };
class Probed {
 public:
  virtual ~Probed() = default;
  // The module's forward pass on `input`, each step recorded to `probe` with paths relative to
  // this module (as in its named_modules()); returns the module's output.
  virtual at::Tensor forward_probed(const at::Tensor& input, Probe& probe) = 0;
};

// Runs `module` on `input` and reports every step to `probe`; returns the module's output.
// Supported: torch::nn::Sequential (children in order, nested Sequentials walked too, paths
// `prefix.i`) and any module implementing Probed (paths `prefix.<its path>`). Any other module
// type throws c10::Error naming it: wrap its layers in a Sequential, or implement Probed.
at::Tensor forward_probed(torch::nn::Module& module, const at::Tensor& input, Probe& probe,
                          const std::string& prefix = "");

// "torch::nn::LinearImpl" -> "Linear", "torchinit::nn::BasicBlockImpl" -> "BasicBlock".
std::string short_type_name(const torch::nn::Module& module);

}  // namespace torchinit::nn
