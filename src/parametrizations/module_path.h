#pragma once
// Paths of a module's own tensors, shared by the parametrizations (μP, u-μP, DeepNet).
#include <string>

namespace torchinit::detail {

// `name` (a parameter or buffer) inside the module at `module_path` ("" is the root).
inline std::string path_in(const std::string& module_path, const std::string& name) {
  return module_path.empty() ? name : module_path + "." + name;
}

}  // namespace torchinit::detail
