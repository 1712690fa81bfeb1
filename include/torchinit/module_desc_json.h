// Module descriptions as JSON, for front ends without LibTorch's module classes (Python's
// torch.nn modules, described by the torchinit package and sent through the op library). The
// keys are ModuleDesc's field names; `params` maps a parameter name to
// {"role", "torch_default", "module_fans": [fan_in, fan_out] | null,
//  "layout": {"out_dim", "in_dim", "groups", "transposed", "blocks"}}. A key left out keeps
// ModuleDesc's default.
#pragma once

#include <string>
#include <string_view>

#include "torchinit/module_desc.h"

namespace torchinit {

// c10::Error naming the key (with a did-you-mean) for an unknown key, and naming the key and the
// expected JSON type for a value of another type. `type` is required.
ModuleDesc module_desc_from_json(std::string_view json);
// Every field, so that module_desc_from_json(module_desc_to_json(d)) describes as `d` does.
std::string module_desc_to_json(const ModuleDesc& desc);

}  // namespace torchinit
