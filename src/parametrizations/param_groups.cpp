#include "torchinit/param_groups.h"

#include <c10/util/Exception.h>
#include <torch/nn/module.h>

#include <memory>
#include <utility>

#include "parametrizations/canonical_params.h"

namespace torchinit {
namespace {

constexpr const char* kGroupsWho = "torchinit::param_groups";

template <class Options>
std::vector<torch::optim::OptimizerParamGroup> groups(const torch::nn::Module& model,
                                                      const Report& report, const Options& options,
                                                      const char* optimizer, const char* kind) {
  const std::string& name = report.parametrization();
  TORCH_CHECK(!name.empty(), kGroupsWho,
              ": the report has no multipliers (it comes from a Plan); build it with "
              "torchinit::Parametrization::mup(...).apply(model)");
  TORCH_CHECK(name.find(std::string("optimizer=") + kind) != std::string::npos, kGroupsWho, ": ",
              optimizer, " needs multipliers for optimizer=", kind, " and the report has ", name,
              "; build it with MupOptions().optimizer(OptimizerKind::",
              std::string(kind) == "adam" ? "Adam" : "SGD", ")");
  std::vector<std::pair<std::pair<double, double>, std::vector<at::Tensor>>> by_multipliers;
  for (const auto& [path, tensor] : detail::canonical_parameters(model, report, kGroupsWho)) {
    const Multipliers& m = report.at(path).multipliers;
    TORCH_CHECK(!m.width_class.empty(), kGroupsWho, ": the report has no multipliers for ", path);
    const std::pair<double, double> key{m.lr, m.weight_decay};
    auto it = by_multipliers.begin();
    while (it != by_multipliers.end() && it->first != key) ++it;
    if (it == by_multipliers.end()) it = by_multipliers.insert(it, {key, {}});
    it->second.push_back(tensor);
  }
  std::vector<torch::optim::OptimizerParamGroup> out;
  for (auto& [key, params] : by_multipliers) {
    auto o = std::make_unique<Options>(options);
    o->lr(options.lr() * key.first);
    o->weight_decay(options.weight_decay() * key.second);
    out.emplace_back(std::move(params), std::move(o));
  }
  return out;
}

}  // namespace

std::vector<torch::optim::OptimizerParamGroup> param_groups(
    const torch::nn::Module& model, const Report& report,
    const torch::optim::AdamOptions& options) {
  return groups(model, report, options, "Adam", "adam");
}

std::vector<torch::optim::OptimizerParamGroup> param_groups(
    const torch::nn::Module& model, const Report& report,
    const torch::optim::AdamWOptions& options) {
  return groups(model, report, options, "AdamW", "adam");
}

std::vector<torch::optim::OptimizerParamGroup> param_groups(
    const torch::nn::Module& model, const Report& report, const torch::optim::SGDOptions& options) {
  return groups(model, report, options, "SGD", "sgd");
}

}  // namespace torchinit
