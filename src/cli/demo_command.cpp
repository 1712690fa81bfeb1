// torchinit demo [--out DIR]: the main job in one command. Declares a feed-forward net, a CNN, an
// LSTM and a ResNet-18, applies the matching plans and checks every parameter against theory;
// shows signal propagation and LSUV; runs the depth sweep against mean-field theory and the
// residual sweep (GPT under the depth presets); writes DIR/depth_sweep.svg,
// DIR/residual_sweep.svg and DIR/report.json; --train adds the Fashion-MNIST training comparison,
// --mup the learning-rate transfer under muP (DIR/mup_transfer_{mlp,vit}.svg).
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <torch/nn/modules/container/any.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "signal/depth_sweep.h"
#include "signal/lr_transfer.h"
#include "signal/residual_sweep.h"
#include "signal/svg_plot.h"
#include "signal/training.h"
#include "torchinit/lsuv.h"
#include "torchinit/nn/make.h"
#include "torchinit/nn/mlp.h"
#include "torchinit/plan.h"
#include "torchinit/propagation.h"

namespace torchinit::cli {
namespace {

struct DemoArgs {
  std::string out = "demo";
  int64_t depth = 50, width = 256;
  bool train = false, mup = false;
  int64_t steps = 400;
  std::string data = kFashionMnistDir;
  std::string work = "build";
};

struct ModelPlan {
  const char* what;
  const char* model;
  const char* plan;
};

void heading(const std::string& text) { fmt::print("\n== {} ==\n\n", text); }

// Fashion-MNIST: deep ReLU MLPs under xavier vs kaiming (He et al. 2015, Figs. 2-3), plus a
// shallow one where both train.
void train_comparison(const DemoArgs& a, const Dataset& data, nlohmann::json& report) {
  heading("5. Training on Fashion-MNIST: xavier vs kaiming, SGD, fixed budget");
  fmt::print("{} training / {} test images from {} (decompressed into {}/fashion-mnist)\n",
             data.train_x.size(0), data.test_x.size(0), a.data, a.work);
  const std::vector<std::pair<std::string, std::string>> inits = {
      {"xavier", "xavier_normal"}, {"kaiming", "kaiming_normal(nonlinearity=relu)"}};
  const std::vector<int64_t> depths = {30, 22, 3};
  const int64_t total = static_cast<int64_t>(inits.size() * depths.size()) * a.steps;
  int64_t done = 0;
  const auto start = std::chrono::steady_clock::now();
  std::vector<svg::Panel> panels;
  report["training"] = nlohmann::json::array();
  std::string table = fmt::format("{:>6} {:<8} {:>12} {:>14} {:>8}\n", "layers", "init",
                                  "final loss", "test accuracy", "seconds");
  for (const int64_t depth : depths) {
    svg::Panel panel{
        fmt::format("{}-layer ReLU MLP", depth), "SGD step", "training loss", false, 0, 1e30, {}};
    for (size_t k = 0; k < inits.size(); ++k) {
      TrainOptions o;
      o.depth = depth, o.weight_spec = inits[k].second, o.steps = a.steps;
      const TrainRun r = train_mlp(data, o, [&](int64_t) {
        ++done;
        if (done % 20 != 0 && done != total) return;
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const int width = 30;
        const int filled = static_cast<int>(width * done / total);
        fmt::print(stderr, "\r  [{}{}] {:3d}%  ETA {:.0f} s  ", std::string(filled, '#'),
                   std::string(width - filled, '.'), static_cast<int>(100 * done / total),
                   elapsed / static_cast<double>(done) * static_cast<double>(total - done));
        if (done == total) fmt::print(stderr, "\n");
      });
      panel.series.push_back(
          {inits[k].first, r.steps, r.losses, svg::palette(k), false, false, true});
      table += fmt::format("{:>6} {:<8} {:>12.4f} {:>13.2f}% {:>8.1f}\n", depth, inits[k].first,
                           r.final_loss, 100 * r.test_accuracy, r.seconds);
      report["training"].push_back({{"layers", depth},
                                    {"init", inits[k].first},
                                    {"spec", inits[k].second},
                                    {"width", o.width},
                                    {"steps", o.steps},
                                    {"batch", o.batch},
                                    {"learning_rate", o.learning_rate},
                                    {"momentum", o.momentum},
                                    {"seed", o.seed},
                                    {"final_loss", r.final_loss},
                                    {"test_accuracy", r.test_accuracy},
                                    {"loss_curve", r.losses}});
    }
    panels.push_back(std::move(panel));
  }
  fmt::print("{}", table);
  const std::filesystem::path svg = std::filesystem::path(a.out) / "training.svg";
  write_text_file("demo", svg,
                  svg::figure("Fashion-MNIST: training loss, xavier vs kaiming (SGD, batch 128, "
                              "lr 0.01, momentum 0.9)",
                              panels));
  fmt::print("loss curves: {}\n", std::filesystem::absolute(svg).string());
}

// Tensor Programs V's learning-rate transfer on Fashion-MNIST: an MLP at widths 64…1024 and the
// ViT at widths 64…256 (what fits the demo's budget on 2 cores), standard vs μP.
void mup_transfer(const DemoArgs& a, const Dataset& data, nlohmann::json& report) {
  heading("6. muP learning-rate transfer on Fashion-MNIST (Adam, standard vs muP)");
  const auto start = std::chrono::steady_clock::now();
  for (const auto& [model, widths] : std::vector<std::pair<std::string, std::vector<int64_t>>>{
           {"mlp", {64, 128, 256, 512, 1024}}, {"vit", {64, 128, 256}}}) {
    LrTransferOptions o;
    o.model = model;
    o.widths = widths;
    o.log2_lrs = {-13, -12, -11, -10, -9, -8, -7, -6, -5};
    fmt::print("{}: widths {}, log2 lr {} … {}, {} steps of batch {}, seed {}\n", model,
               fmt::join(widths, ", "), o.log2_lrs.front(), o.log2_lrs.back(), o.steps, o.batch,
               o.seed);
    const LrTransfer t = lr_transfer(data, o, [&](int done, int total) {
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      fmt::print(stderr, "\r  {}: {}/{} runs, {:.0f} s   ", o.model, done, total, elapsed);
      if (done == total) fmt::print(stderr, "\n");
    });
    fmt::print("{}", t.table());
    // One grid step (a factor 2) is the sweep's resolution.
    const double mup_shift = t.shift("mup"), sp_shift = t.shift("standard");
    fmt::print(
        "{}: under muP the best learning rate {} ({:+g} in log2); under the standard "
        "parametrization it {} ({:+g})\n\n",
        model, std::abs(mup_shift) <= 1 ? "stays put" : "moves", mup_shift,
        std::abs(sp_shift) >= 2 ? "shifts" : "stays within one step", sp_shift);
    const std::filesystem::path svg =
        std::filesystem::path(a.out) / ("mup_transfer_" + model + ".svg");
    write_text_file("demo", svg, t.svg());
    fmt::print("plot: {}\n", std::filesystem::absolute(svg).string());
    report["mup_transfer"][model] = nlohmann::json::parse(t.json());
  }
}

void run_demo(const DemoArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  nlohmann::json report;
  DepthSweepOptions o;
  o.depth = a.depth, o.width = a.width, o.batch = 256, o.seed = 1;
  check_sweep_fits("demo", o);
  // The dataset is read before the minutes of work that come first, so a missing one fails now
  // (and before the output folder is made).
  const Dataset data = a.train || a.mup ? load_fashion_mnist(a.work, a.data) : Dataset{};
  std::error_code ec;
  std::filesystem::create_directories(a.out, ec);
  TORCH_CHECK(!ec, "torchinit demo: cannot create the output folder '", a.out, "': ", ec.message(),
              "; pass --out DIR with a folder you can write");

  heading("1. Four architectures, their plans, every parameter checked against its theory");
  const ModelPlan models[] = {
      {"feed-forward", "mlp(in=784, hidden=[256, 256], out=10)", "he"},
      {"CNN", "convnet(in=3, channels=[32, 64], classes=10)", "he"},
      {"LSTM", "lstm(in=32, hidden=64, layers=2, out=10)", "orthogonal_rnn"},
      {"ResNet-18", "resnet(depth=18, classes=10, stem=cifar)", "resnet"},
  };
  report["models"] = nlohmann::json::array();
  bool all_passed = true;
  for (const ModelPlan& m : models) {
    const auto net = nn::make(m.model);
    const Report rep = load_plan(m.plan).apply(net, ApplyOptions().seed(42));
    const ModuleCheck mc = check(net, rep);
    fmt::print("-- {}: {}  plan {}\n{}", m.what, m.model, m.plan, mc.table());
    fmt::print("{}: {} parameter blocks, {} inconclusive (too small for the power check)\n\n",
               mc.passed() ? "PASS" : "FAIL", mc.results().size(), mc.inconclusive());
    all_passed = all_passed && mc.passed();
    report["models"].push_back({{"what", m.what},
                                {"model", m.model},
                                {"plan", m.plan},
                                {"passed", mc.passed()},
                                {"blocks", mc.results().size()},
                                {"inconclusive", mc.inconclusive()}});
  }

  heading("2. Signal through a 20-layer ReLU MLP: He keeps it, Xavier halves it per layer");
  for (const char* spec : {"kaiming_normal(nonlinearity=relu)", "xavier_normal"}) {
    nn::MLP mlp(nn::MLPOptions(256, std::vector<int64_t>(20, 256), 10));
    const Report rep =
        Plan().rule(":weight", spec).rule(":bias", "zeros").apply(*mlp, ApplyOptions().seed(1));
    const Propagation p = propagate(*mlp, rep, {256, 256}, PropagationOptions().seed(1));
    fmt::print("{}: {}\n", spec, p.summary());
    report["propagation"][spec] = nlohmann::json::parse(p.json());
  }

  heading("3. LSUV (Mishkin & Matas 2016) on a 20-layer tanh MLP");
  {
    nn::MLP mlp(nn::MLPOptions(256, std::vector<int64_t>(20, 256), 10).activation("tanh"));
    const LsuvReport r = lsuv_(*mlp, {256, 256}, LsuvOptions().seed(1));
    fmt::print("{}", r.table());
    report["lsuv"] = nlohmann::json::parse(r.json());
  }

  heading(fmt::format("4. Depth sweep: {}-layer MLPs, width {}, measured vs mean-field theory",
                      a.depth, a.width));
  const auto sweep_start = std::chrono::steady_clock::now();
  const DepthSweep sweep = depth_sweep(o, [&](int done, int total) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - sweep_start).count();
    fmt::print(stderr, "\r  {}/{} networks, ETA {:.0f} s   ", done, total,
               elapsed / done * (total - done));
    if (done == total) fmt::print(stderr, "\n");
  });
  fmt::print("{}", sweep.table());
  report["depth_sweep"] = nlohmann::json::parse(sweep.json());

  heading("4b. Residual streams: GPT under the depth presets, measured vs the pre-LN recursion");
  const ResidualSweep residual = residual_sweep(ResidualSweepOptions{});
  fmt::print("{}", residual.table());
  report["residual_sweep"] = nlohmann::json::parse(residual.json());
  const std::filesystem::path residual_svg = std::filesystem::path(a.out) / "residual_sweep.svg";
  write_text_file("demo", residual_svg, residual.svg());
  fmt::print("plot: {}\n", std::filesystem::absolute(residual_svg).string());

  if (a.train) train_comparison(a, data, report);
  if (a.mup) mup_transfer(a, data, report);

  const std::filesystem::path svg = std::filesystem::path(a.out) / "depth_sweep.svg";
  const std::filesystem::path json = std::filesystem::path(a.out) / "report.json";
  write_text_file("demo", svg, sweep.svg());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report["seconds"] = seconds;
  write_text_file("demo", json, report.dump(2));
  heading("Files");
  fmt::print("plot:   {}\nreport: {}\n({:.1f} s)\n", std::filesystem::absolute(svg).string(),
             std::filesystem::absolute(json).string(), seconds);
  if (!all_passed) throw CLI::RuntimeError(1);
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto args = std::make_shared<DemoArgs>();
  auto* cmd = app.add_subcommand(
      "demo",
      "The main job: models, plans, checks against theory, signal propagation, LSUV and the "
      "depth sweep; writes an SVG plot and a JSON report");
  cmd->add_option("--out", args->out, "Output folder")->capture_default_str();
  add_sweep_size_options(*cmd, args->depth, args->width);
  cmd->add_flag("--train", args->train,
                "Add the Fashion-MNIST training comparison (about a minute)");
  cmd->add_flag("--mup", args->mup,
                "Add muP's learning-rate transfer on Fashion-MNIST (MLP and ViT, standard vs muP; "
                "about 5 minutes)");
  cmd->add_option("--steps", args->steps, "SGD steps per training run")
      ->transform(integer_in(1, kMaxTrainSteps))
      ->capture_default_str();
  cmd->add_option("--data", args->data, "Folder with the Fashion-MNIST IDX .gz files")
      ->capture_default_str();
  cmd->add_option("--work", args->work, "Folder to decompress them into")->capture_default_str();
  cmd->callback([args] { run_demo(*args); });
}

}  // namespace torchinit::cli
