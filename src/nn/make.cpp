#include "torchinit/nn/make.h"

#include "torchinit/nn/registry.h"

namespace torchinit::nn {

torch::nn::AnyModule make(std::string_view model_spec) {
  return ModelRegistry::global().make(model_spec);
}

torch::nn::AnyModule make(const Spec& model_spec) {
  return ModelRegistry::global().make(model_spec);
}

}  // namespace torchinit::nn
