// torchinit propagate --model SPEC --plan PLAN [--input-shape ...] [--json] [--svg FILE]:
// measured vs predicted per-layer variance through a model, with a verdict.
// torchinit propagate --sweep [--depth 50] [--width 256] [--svg FILE] [--json]: the depth-sweep
// experiment (ReLU and tanh MLPs under N(0,1), standard, xavier, kaiming, orthogonal).
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>

#include <cmath>

#include "cli/commands.h"
#include "cli/options.h"
#include "signal/depth_sweep.h"
#include "signal/svg_plot.h"
#include "torchinit/nn/conv_net.h"
#include "torchinit/nn/make.h"
#include "torchinit/nn/mlp.h"
#include "torchinit/nn/resnet.h"
#include "torchinit/plan.h"
#include "torchinit/propagation.h"

namespace torchinit::cli {
namespace {

struct PropagateArgs {
  std::string model, plan;
  std::vector<int64_t> input_shape;
  int64_t batch = 0;
  uint64_t seed = 0;
  double alpha = 1e-3, tolerance = 0.05;
  bool sweep = false;
  int64_t depth = 50, width = 256;
  std::string svg;
  bool json = false;
};

// A batch shape for the models nn::make builds: MLP [batch, in], convnets [batch, C, 32, 32].
std::vector<int64_t> default_input_shape(torch::nn::Module& m, int64_t batch) {
  if (auto* mlp = dynamic_cast<nn::MLPImpl*>(&m)) {
    return {batch > 0 ? batch : 256, mlp->options.in_features()};
  }
  if (auto* conv = dynamic_cast<nn::ConvNetImpl*>(&m)) {
    std::vector<int64_t> s{batch > 0 ? batch : 16, conv->options.in_channels(), 32};
    if (conv->options.dims() == 2) s.push_back(32);
    return s;
  }
  if (auto* res = dynamic_cast<nn::ResNetImpl*>(&m)) {
    return {batch > 0 ? batch : 8, res->options.in_channels(), 32, 32};
  }
  TORCH_CHECK(false, "torchinit propagate: cannot probe ", m.name(),
              "; propagate walks mlp, convnet and resnet models (recurrent nets have no probe)");
}

std::string model_svg(const Propagation& p, const std::string& title) {
  svg::Panel fwd{"forward: pre-activation std", "layer", "std", true, 1e-30, 1e30, {}};
  svg::Panel bwd{"backward: gradient std", "layer", "std", true, 1e-30, 1e30, {}};
  std::vector<double> x, m, pr, g, gp;
  for (size_t l = 0; l < p.layers().size(); ++l) {
    const LayerSignal& s = p.layers()[l];
    x.push_back(static_cast<double>(l + 1));
    m.push_back(std::sqrt(s.second_moment));
    pr.push_back(std::sqrt(s.predicted));
    g.push_back(std::sqrt(s.grad_variance));
    gp.push_back(std::sqrt(s.predicted_grad_variance));
  }
  fwd.series = {{"measured", x, m, svg::palette(0), false, true, true},
                {"mean-field theory", x, pr, svg::palette(0), true, false, true}};
  bwd.series = {{"measured", x, g, svg::palette(1), false, true, true},
                {"mean-field theory", x, gp, svg::palette(1), true, false, true}};
  return svg::figure(title, {fwd, bwd});
}

void run_sweep(const PropagateArgs& a) {
  DepthSweepOptions o;
  o.depth = a.depth, o.width = a.width, o.batch = a.batch > 0 ? a.batch : 256, o.seed = a.seed;
  check_sweep_fits("propagate", o);
  if (!a.svg.empty()) check_parent_folder("propagate", a.svg);
  const DepthSweep sweep = depth_sweep(o, [](int done, int total) {
    fmt::print(stderr, "\rdepth sweep: {}/{} networks", done, total);
    if (done == total) fmt::print(stderr, "\n");
  });
  fmt::print("{}\n", a.json ? sweep.json() : sweep.table());
  if (!a.svg.empty()) {
    write_text_file("propagate", a.svg, sweep.svg());
    fmt::print(stderr, "wrote {}\n", a.svg);
  }
}

void run_propagate(const PropagateArgs& a) {
  if (a.sweep) return run_sweep(a);
  TORCH_CHECK(!a.model.empty() && !a.plan.empty(),
              "torchinit propagate: give --model and --plan (e.g. --model \"mlp(in=256, "
              "hidden=[256, 256, 256], out=10)\" --plan he), or --sweep");
  if (!a.svg.empty()) check_parent_folder("propagate", a.svg);
  const auto net = nn::make(a.model);
  torch::nn::Module& m = *net.ptr();
  const std::vector<int64_t> shape =
      a.input_shape.empty() ? default_input_shape(m, a.batch) : a.input_shape;
  check_tensor_fits("propagate", "--input-shape", shape, "float32");
  const Report rep = load_plan(a.plan).apply(m, ApplyOptions().seed(a.seed));
  const Propagation p =
      propagate(m, rep, shape,
                PropagationOptions().seed(a.seed).alpha(a.alpha).growth_tolerance(a.tolerance));
  fmt::print("{}\n", a.json ? p.json() : p.table());
  if (!a.svg.empty()) {
    write_text_file("propagate", a.svg, model_svg(p, a.model + " with plan " + a.plan));
    fmt::print(stderr, "wrote {}\n", a.svg);
  }
  if (p.verdict() != "stable") throw CLI::RuntimeError(1);
}

}  // namespace

void add_propagate_command(CLI::App& app) {
  auto args = std::make_shared<PropagateArgs>();
  auto* cmd = app.add_subcommand(
      "propagate",
      "Per-layer variance through a network, measured on an N(0,1) batch vs mean-field theory; "
      "exit 1 unless stable");
  cmd->add_option("--model", args->model, "Model spec, e.g. \"mlp(in=256, hidden=[256, 256])\"");
  cmd->add_option("--plan", args->plan, "Preset name, rules file, or rules \"sel = spec; …\"");
  CLI::Option* input_shape = add_shape_option(*cmd, "--input-shape", args->input_shape,
                                              "Batch shape, e.g. 256,784 (default from the model)");
  cmd->add_option("--batch", args->batch,
                  "Batch size (default input shape: 256 for an mlp and the sweep, 16 for a "
                  "convnet, 8 for a resnet)")
      ->transform(integer_in(1, kMaxBatch))
      ->excludes(input_shape);
  cmd->add_option("--seed", args->seed, "Seed of the plan, the batch and the output gradient")
      ->transform(seed_value())
      ->capture_default_str();
  cmd->add_option("--alpha", args->alpha,
                  "Family-wise false-alarm probability of the per-layer "
                  "comparisons")
      ->check(number_in(0, 1))
      ->capture_default_str();
  cmd->add_option("--tolerance", args->tolerance,
                  "Per-layer growth within [1/(1+t), 1+t] is "
                  "stable")
      ->check(number_in(0, HUGE_VAL))
      ->capture_default_str();
  cmd->add_flag("--sweep", args->sweep,
                "Run the depth sweep: ReLU and tanh MLPs under N(0,1), "
                "standard, xavier, kaiming, orthogonal");
  add_sweep_size_options(*cmd, args->depth, args->width);
  cmd->add_option("--svg,--depth-plot", args->svg, "Write an SVG plot of std vs layer");
  cmd->add_flag("--json", args->json, "Print JSON instead of text");
  cmd->callback([args] { run_propagate(*args); });
}

}  // namespace torchinit::cli
