// torchinit explain SPEC --shape 64,32,3,3 [--json]: fans, gain, distribution and moments that
// SPEC gives a tensor of that shape, without allocating it.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "torchinit/registry.h"

namespace torchinit::cli {
namespace {

struct ExplainArgs {
  std::string spec;
  std::vector<int64_t> shape;
  bool json = false;
};

void run_explain(const ExplainArgs& a) {
  const auto init = Registry::global().make(a.spec);
  const ParamInfo p = ParamInfo::from_shape(a.shape);
  TORCH_CHECK(p.numel() > 0, "torchinit explain: --shape ", p.shape_str(),
              " has no elements; give positive sizes");
  init->validate(p);
  const Distribution d = init->theory(p);
  const auto details = init->details(p);
  if (a.json) {
    nlohmann::json out = {{"spec", init->spec().str()},
                          {"shape", a.shape},
                          {"family", d.family()},
                          {"distribution", d.str()},
                          {"mean", d.mean()},
                          {"variance", d.variance()},
                          {"std", d.std()},
                          {"fourth_central_moment", d.fourth_central_moment()}};
    for (const auto& [k, v] : details) out[k] = v;
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("spec          {}\n", init->spec().str());
  fmt::print("shape         {}\n", p.shape_str());
  for (const auto& [k, v] : details) fmt::print("{:<13} {:.6g}\n", k, v);
  fmt::print("distribution  {}\n", d.str());
  fmt::print("mean          {:.6g}\nvariance      {:.6g}\nstd           {:.6g}\n", d.mean(),
             d.variance(), d.std());
}

}  // namespace

void add_explain_command(CLI::App& app) {
  auto args = std::make_shared<ExplainArgs>();
  auto* cmd =
      app.add_subcommand("explain", "Show the fans, gain and distribution a spec gives a shape");
  cmd->add_option("spec", args->spec, "Initializer spec, e.g. \"kaiming_normal(mode=fan_out)\"")
      ->required();
  cmd->add_option("--shape", args->shape, "Tensor shape, comma-separated: 64,32,3,3")
      ->delimiter(',')
      ->required();
  cmd->add_flag("--json", args->json, "Print JSON instead of text");
  cmd->callback([args] { run_explain(*args); });
}

}  // namespace torchinit::cli
