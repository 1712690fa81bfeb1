#include <fmt/format.h>
#include <torch/nn/module.h>

#include <nlohmann/json.hpp>

#include "torchinit/check.h"
#include "torchinit/init.h"

namespace torchinit {

bool ModuleCheck::passed() const {
  return std::none_of(results_.begin(), results_.end(),
                      [](const CheckResult& r) { return r.rejected(); });
}

int64_t ModuleCheck::inconclusive() const {
  return std::count_if(results_.begin(), results_.end(),
                       [](const CheckResult& r) { return r.inconclusive(); });
}

std::string ModuleCheck::table() const {
  std::string out = fmt::format("{:<40} {:<14} {:<48} {}\n", "parameter", "verdict", "theory", "n");
  for (size_t i = 0; i < results_.size(); ++i) {
    const CheckResult& r = results_[i];
    // Inconclusive: accepted, but too small to detect a 10% variance error with power 0.99.
    const char* verdict = r.passed() ? "pass" : r.inconclusive() ? "inconclusive" : "FAIL";
    out += fmt::format("{:<40} {:<14} {:<48} {}\n", paths_[i], verdict, r.theory().str(), r.n());
    for (const auto& s : r.statistics())
      if (!s.passed) out += fmt::format("    {}\n", s.detail);
  }
  return out;
}

std::string ModuleCheck::json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (size_t i = 0; i < results_.size(); ++i) {
    nlohmann::json row = nlohmann::json::parse(results_[i].json());
    row["path"] = paths_[i];
    rows.push_back(row);
  }
  return nlohmann::json{
      {"passed", passed()}, {"inconclusive", inconclusive()}, {"parameters", rows}}
      .dump();
}

ModuleCheck check(const torch::nn::Module& module, std::string_view spec,
                  const CheckOptions& options) {
  validate_check_options(options);  // before alpha is split: 2/k may look valid
  const auto params = module.named_parameters(/*recurse=*/true);
  TORCH_CHECK(params.size() > 0, "torchinit::check: the module has no parameters");
  const CheckOptions each = CheckOptions(options).alpha(options.alpha() / double(params.size()));
  ModuleCheck out;
  for (const auto& item : params) out.add(item.key(), check(item.value(), spec, each));
  return out;
}

}  // namespace torchinit
