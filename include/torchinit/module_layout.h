// The parameters of a module tree with their layouts: path, module type, role and the layout
// that gives right fans for Linear, Conv1d/2d/3d, ConvTranspose1d/2d/3d, grouped convs,
// RNN/LSTM/GRU (stacked gates), MultiheadAttention (fused Q/K/V), Embedding and norms.
//
// Roles: weight, bias, input (RNN input-hidden weights), recurrent (hidden-hidden weights),
// embedding, norm_scale, norm_shift.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "torchinit/layout.h"

namespace torch::nn {
class Module;
}

namespace torchinit {

struct ModuleParam {
  ParamInfo info;
  at::Tensor tensor;
};

// Every parameter of `module` (named_parameters order), with its ParamInfo.
std::vector<ModuleParam> module_params(const torch::nn::Module& module);

// "torch::nn::Conv2dImpl" -> "Conv2d", "torchinit::nn::ResNetImpl" -> "ResNet".
std::string short_type_name(const std::string& module_name);

}  // namespace torchinit
