// The tensors a Report initialized, each once: tied paths share a tensor whether they share its
// TensorImpl or only its storage (GPT's tied head is set_data on the embedding), so the Report's
// canonical paths, not TensorImpl identity, say which parameters are distinct.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>
#include <torch/nn/module.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "torchinit/plan.h"

namespace torchinit::detail {

// (canonical path, tensor) in named_parameters order; c10::Error naming `who` for a parameter
// the report does not describe.
inline std::vector<std::pair<std::string, at::Tensor>> canonical_parameters(
    const torch::nn::Module& model, const Report& report, const char* who) {
  std::set<std::string> canonical, aliases;
  for (const auto& row : report.rows()) {
    canonical.insert(row.path);
    aliases.insert(row.aliases.begin(), row.aliases.end());
  }
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& item : model.named_parameters()) {
    if (canonical.count(item.key())) {
      out.emplace_back(item.key(), item.value());
    } else {
      TORCH_CHECK(aliases.count(item.key()), who, ": the report has no row for ", item.key(),
                  "; pass the report of this model");
    }
  }
  return out;
}

}  // namespace torchinit::detail
