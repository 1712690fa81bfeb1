// torchinit list [--json]: every initializer with its aliases, arguments, formula and paper.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "torchinit/explain.h"
#include "torchinit/nn/registry.h"
#include "torchinit/plan.h"
#include "torchinit/registry.h"

namespace torchinit::cli {
namespace {

std::string signature(const RegistryEntry& e) {
  std::vector<std::string> args;
  for (const auto& a : e.args)
    args.push_back(a.default_value ? a.name + "=" + *a.default_value : a.name);
  return e.name + (args.empty() ? "" : fmt::format("({})", fmt::join(args, ", ")));
}

void run_list_models(bool json) {
  if (!json) {
    fmt::print("{}", nn::describe_models());
    fmt::print("\npresets (--plan): {}\n", fmt::join(Plan::presets(), ", "));
    return;
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : nn::ModelRegistry::global().entries()) {
    nlohmann::json args = nlohmann::json::array();
    for (const auto& a : e.args)
      args.push_back({{"name", a.name},
                      {"default", a.default_value ? nlohmann::json(*a.default_value) : nullptr},
                      {"doc", a.doc}});
    out.push_back(
        {{"name", e.name}, {"summary", e.summary}, {"example", e.example}, {"args", args}});
  }
  fmt::print("{}\n", out.dump(2));
}

void run_list(bool json) {
  const Registry& r = Registry::global();
  if (json) {
    fmt::print("{}\n", initializers_json());
    return;
  }
  for (const auto& name : r.names()) {
    const RegistryEntry e = *r.find(name);
    fmt::print("{}\n", signature(e));
    if (!e.aliases.empty()) fmt::print("    aliases: {}\n", fmt::join(e.aliases, ", "));
    fmt::print("    {}\n    formula: {}\n    paper:   {}\n\n", e.doc.summary, e.doc.formula,
               e.doc.paper);
  }
}

}  // namespace

void add_list_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("list", "List initializers with their formulas and papers");
  auto json = std::make_shared<bool>(false);
  auto models = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print JSON instead of text");
  cmd->add_flag("--models", *models, "List model specs (nn::make) and plan presets instead");
  cmd->callback([json, models] { *models ? run_list_models(*json) : run_list(*json); });
}

}  // namespace torchinit::cli
