// torchinit explain SPEC --shape 64,32,3,3 [--json]: fans, gain, distribution and moments that
// SPEC gives a tensor of that shape, without allocating it.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "torchinit/explain.h"
#include "torchinit/nn/make.h"
#include "torchinit/plan.h"
#include "torchinit/registry.h"

namespace torchinit::cli {
namespace {

struct ExplainArgs {
  std::string spec;
  std::vector<int64_t> shape;
  std::string model;
  std::string plan;
  int64_t layers = 0;
  bool json = false;
};

// --model M --plan P: the per-parameter table of a plan on a model, weights untouched.
void run_explain_model(const ExplainArgs& a) {
  TORCH_CHECK(!a.plan.empty(), "torchinit explain: --model needs --plan (a preset such as ",
              "torch_default or resnet, a rules file, or inline rules)");
  const auto net = nn::make(a.model);
  const Report rep = load_plan(a.plan, a.layers).explain(net);
  fmt::print("{}\n", a.json ? rep.json() : rep.table());
}

void run_explain(const ExplainArgs& a) {
  if (!a.model.empty()) return run_explain_model(a);
  TORCH_CHECK(!a.spec.empty() && !a.shape.empty(), "torchinit explain: give SPEC and --shape, ",
              "or --model and --plan");
  const auto init = Registry::global().make(a.spec);
  const ParamInfo p = ParamInfo::from_shape(a.shape);
  TORCH_CHECK(p.numel() > 0, "torchinit explain: --shape ", p.shape_str(),
              " has no elements; give positive sizes");
  init->validate(p);
  const Distribution d = init->theory(p);
  const auto details = init->details(p);
  if (a.json) {
    fmt::print("{}\n", explain_json(a.spec, a.shape));
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
  cmd->add_option("spec", args->spec, "Initializer spec, e.g. \"kaiming_normal(mode=fan_out)\"");
  add_shape_option(*cmd, "--shape", args->shape, "Tensor shape, comma-separated: 64,32,3,3");
  cmd->add_option("--model", args->model, "Model spec, e.g. \"resnet(depth=18, classes=10)\"");
  cmd->add_option("--plan", args->plan, "Preset name, rules file, or rules \"sel = spec; …\"");
  cmd->add_option("--layers", args->layers, "Transformer layers for the gpt2 preset")
      ->transform(integer_in(1, kMaxLayers));
  cmd->add_flag("--json", args->json, "Print JSON instead of text");
  cmd->callback([args] { run_explain(*args); });
}

}  // namespace torchinit::cli
