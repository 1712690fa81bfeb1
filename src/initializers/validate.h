// Validation of an initializer on a tensor that has no storage (the meta device): what
// validate_init checks except the storage, so a plan can be explained on a module whose
// parameters are shapes only.
#pragma once

#include <ATen/core/Tensor.h>

#include "torchinit/initializer.h"
#include "torchinit/layout.h"

namespace torchinit::detail {

// The dtype and layout, the initializer's own checks on the shape, and the theory's fit in the
// dtype; c10::Error as validate_init.
void validate_init_without_storage(const at::Tensor& tensor, const Initializer& init,
                                   const ParamInfo& p);

}  // namespace torchinit::detail
