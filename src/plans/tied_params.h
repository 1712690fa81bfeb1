// Tied parameters: the paths of a module that reach one tensor. Plans initialize each tensor
// once, under its canonical path (the first in named_parameters order).
#pragma once

#include <cstddef>
#include <vector>

#include "torchinit/module_layout.h"

namespace torchinit::detail {

// The paths of one tensor: params[canonical] and params[aliases…], in the order given.
struct TiedGroup {
  size_t canonical;
  std::vector<size_t> aliases;
};

// Groups `params` by the tensor they are: the same TensorImpl, or the same storage, offset,
// sizes, strides and dtype. c10::Error naming both paths when two different views of one
// storage overlap (initializing one would change the other).
std::vector<TiedGroup> tie_groups(const std::vector<ModuleParam>& params);

}  // namespace torchinit::detail
