#include "torchinit/layout_registry.h"

#include <c10/util/Exception.h>
#include <torch/nn/module.h>

#include <algorithm>
#include <mutex>

namespace torchinit {

LayoutRegistry& LayoutRegistry::global() {
  static auto* registry = new LayoutRegistry();  // never destroyed: usable from other statics
  return *registry;
}

void LayoutRegistry::add(std::type_index type, std::string type_name, Describe describe) {
  TORCH_CHECK(describe, "torchinit::LayoutRegistry::add: the layout of ", type_name,
              " needs a describe function");
  std::unique_lock lock(mutex_);
  const bool taken =
      std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.type == type; });
  TORCH_CHECK(!taken, "torchinit::LayoutRegistry::add: ", type_name,
              " already has a declared layout; call LayoutRegistry::global().remove<", type_name,
              ">() first to replace it");
  entries_.push_back(
      Entry{type, std::move(type_name), std::make_shared<const Describe>(std::move(describe))});
}

bool LayoutRegistry::remove(std::type_index type) {
  std::unique_lock lock(mutex_);
  const auto it = std::find_if(entries_.begin(), entries_.end(),
                               [&](const Entry& e) { return e.type == type; });
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

std::optional<ModuleDesc> LayoutRegistry::describe(const torch::nn::Module& module) const {
  // Copies of the candidates, so that the user's functions run outside the lock (they may
  // consult the registry themselves).
  std::vector<std::shared_ptr<const Describe>> candidates;
  {
    std::shared_lock lock(mutex_);
    const std::type_index exact(typeid(module));
    for (const Entry& e : entries_)
      if (e.type == exact) candidates.push_back(e.describe);
    for (auto it = entries_.rbegin(); it != entries_.rend(); ++it)
      if (it->type != exact) candidates.push_back(it->describe);
  }
  for (const auto& describe : candidates)
    if (auto desc = (*describe)(module)) return desc;
  return std::nullopt;
}

}  // namespace torchinit
