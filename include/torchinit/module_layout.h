// The parameters of a module tree with their layouts: path, module type, role, the layout that
// gives right fans, and LibTorch's default. What a module is comes from its C++ type
// (dynamic_cast to LibTorch's Impl classes: a class derived from torch::nn::LinearImpl is a
// Linear), or from a layout declared for its class (layout_registry.h); never from its name.
// The rules per type are in module_desc.h.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "torchinit/layout.h"
#include "torchinit/module_desc.h"

namespace torch::nn {
class Module;
}

namespace torchinit {

struct ModuleParam {
  ParamInfo info;
  at::Tensor tensor;
};

// Every parameter of `module` (named_parameters order, tied parameters once per path), with
// its ParamInfo.
std::vector<ModuleParam> module_params(const torch::nn::Module& module);

// What `module` is: a declared layout of its class (or a base class) first, then LibTorch's
// types by dynamic_cast, else an unknown type named by its short class name. The position
// fields (ancestor_types, attribute) are left empty; module_params fills them.
ModuleDesc describe_module(const torch::nn::Module& module);

// "torch::nn::Conv2dImpl" -> "Conv2d", "torchinit::nn::ResNetImpl" -> "ResNet".
std::string short_type_name(const std::string& module_name);

}  // namespace torchinit
