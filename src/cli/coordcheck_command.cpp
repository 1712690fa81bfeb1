// torchinit coordcheck --model SPEC_WITH_{width} --plan PLAN [--widths …] [--standard] …: the
// coordinate check (coordcheck.h), a table or JSON, an SVG of every layer's update against width;
// exit status 1 when a layer's update is not flat in width.
#include <fmt/format.h>

#include <cmath>
#include <map>

#include "cli/commands.h"
#include "cli/options.h"
#include "signal/svg_plot.h"
#include "torchinit/coordcheck.h"
#include "torchinit/plan.h"

namespace torchinit::cli {
namespace {

struct CoordCheckArgs {
  std::string model, plan, svg;
  std::vector<int64_t> widths{64, 128, 256, 512, 1024};
  int64_t base_width = 0, steps = 3, seeds = 3, batch = 32;
  double lr = 1e-2, alpha = 0.01, band = 0.25;
  uint64_t seed = 0;
  bool standard = false, u_mup = false, json = false;
};

// One panel per step: each layer's update RMS against log2 width.
std::string coordcheck_svg(const CoordCheck& cc, const std::string& title) {
  std::vector<svg::Panel> panels;
  std::map<int64_t, size_t> panel_of_step;
  for (const auto& l : cc.layers()) {
    if (!panel_of_step.count(l.step)) {
      panel_of_step[l.step] = panels.size();
      panels.push_back({fmt::format("after step {}", l.step),
                        "log2 width",
                        "RMS of the update x_t - x_0",
                        true,
                        1e-30,
                        1e30,
                        {}});
    }
    svg::Panel& panel = panels[panel_of_step[l.step]];
    svg::Series series;
    series.label = l.path;
    for (size_t i = 0; i < cc.widths().size(); ++i) {
      series.x.push_back(std::log2(double(cc.widths()[i])));
      series.y.push_back(l.update[i]);
    }
    series.markers = true;
    series.color = svg::palette(panel.series.size());
    panel.series.push_back(std::move(series));
  }
  return svg::figure(title + " (" + cc.parametrization + ")", panels);
}

void run_coordcheck(const CoordCheckArgs& a) {
  TORCH_CHECK(!a.model.empty() && (a.u_mup || !a.plan.empty()),
              "torchinit coordcheck: give --model (a spec with {width}, e.g. \"mlp(in=32, "
              "hidden=[{width}, {width}], out=10)\") and --plan (the init at the base width)");
  TORCH_CHECK(!a.u_mup || (a.plan.empty() && !a.standard && a.base_width == 0),
              "torchinit coordcheck: --u-mup sets every init and scale itself; drop --plan, "
              "--standard and --base-width");
  if (!a.svg.empty()) check_parent_folder("coordcheck", a.svg);
  const auto options =
      CoordCheckOptions()
          .widths(a.widths)
          .base_width(a.base_width)
          .mup(!a.standard)
          .steps(a.steps)
          .seeds(a.seeds)
          .batch(a.batch)
          .lr(a.lr)
          .seed(a.seed)
          .alpha(a.alpha)
          .band(a.band)
          .progress([&](int64_t width, int64_t seed) {
            if (seed == 0)
              fmt::print(stderr, "coordcheck ({}): width {}, {} seeds x {} steps\n",
                         a.u_mup      ? "u_mup"
                         : a.standard ? "standard"
                                      : "mup",
                         width, a.seeds, a.steps);
          });
  const CoordCheck cc = a.u_mup ? coordcheck(a.model, Parametrization::u_mup(), options)
                                : coordcheck(a.model, load_plan(a.plan), options);
  fmt::print("{}\n", a.json ? cc.json() : cc.table());
  if (!a.svg.empty()) write_text_file("coordcheck", a.svg, coordcheck_svg(cc, a.model));
  if (!cc.passed()) throw CLI::RuntimeError(1);
}

}  // namespace

void add_coordcheck_command(CLI::App& app) {
  auto args = std::make_shared<CoordCheckArgs>();
  auto* cmd = app.add_subcommand(
      "coordcheck",
      "Coordinate check: is every layer's update after a few Adam steps flat in width (muP)?");
  cmd->add_option("--model", args->model,
                  "Model spec with {width}, e.g. \"gpt(vocab=64, context=16, width={width}, "
                  "depth=2, heads=2)\" (gpt, vit or mlp)");
  cmd->add_option("--plan", args->plan,
                  "Init at the base width: preset, rules file, or rules \"sel = spec; …\"");
  add_shape_option(*cmd, "--widths", args->widths, "Widths, ascending: 64,128,256,512,1024")
      ->default_str("64,128,256,512,1024");
  cmd->add_option("--base-width", args->base_width, "muP base width (0: the smallest width)")
      ->transform(integer_in(0, 1 << 20))
      ->default_str("0");
  cmd->add_flag("--standard", args->standard,
                "Standard parametrization: the plan at every width, one learning rate");
  cmd->add_flag("--u-mup", args->u_mup,
                "u-muP (Parametrization::u_mup) on a model with ops=unit; no --plan");
  cmd->add_option("--steps", args->steps, "Adam steps")
      ->transform(integer_in(1, 100))
      ->default_str("3");
  cmd->add_option("--seeds", args->seeds, "Replicates per width")
      ->transform(integer_in(1, 100))
      ->default_str("3");
  cmd->add_option("--batch", args->batch, "Examples per batch")
      ->transform(integer_in(1, 4096))
      ->default_str("32");
  cmd->add_option("--lr", args->lr, "Adam learning rate (the base model's under muP)")
      ->check(number_in(0, 10))
      ->default_str("0.01");
  cmd->add_option("--seed", args->seed, "Seed of replicate 0 (init and data)")
      ->transform(seed_value())
      ->default_str("0");
  cmd->add_option("--alpha", args->alpha, "Family-wise alpha of the slopes' intervals")
      ->check(number_in(0, 1))
      ->default_str("0.01");
  cmd->add_option("--band", args->band, "A layer is flat when its slope's interval is in ±band")
      ->check(number_in(0, 10))
      ->default_str("0.25");
  cmd->add_option("--svg", args->svg, "Write the update-vs-width plot here");
  cmd->add_flag("--json", args->json, "Print JSON instead of text");
  cmd->callback([args] { run_coordcheck(*args); });
}

}  // namespace torchinit::cli
