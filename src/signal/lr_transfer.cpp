#include "signal/lr_transfer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/randperm.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/nn/modules/container/any.h>
#include <torch/optim/adam.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "signal/svg_plot.h"
#include "torchinit/nn/mlp.h"
#include "torchinit/nn/vit.h"
#include "torchinit/param_groups.h"
#include "torchinit/parametrization.h"
#include "torchinit/plan.h"

namespace torchinit {
namespace {

constexpr const char* kTransferWho = "torchinit::lr_transfer";

torch::nn::AnyModule model_at(const std::string& model, int64_t width) {
  if (model == "mlp") return torch::nn::AnyModule(nn::MLP(nn::MLPOptions(784, {width, width}, 10)));
  return torch::nn::AnyModule(
      nn::ViT(nn::ViTOptions(10, width, 2, 4).patch(7).mlp_ratio(2).image(28).channels(1)));
}

// The mean training loss of the last 20% of steps; NaN once a loss is not finite.
double train(torch::nn::Module& model, torch::optim::Adam& adam, const Dataset& data,
             const LrTransferOptions& o) {
  at::Generator gen = at::detail::createCPUGenerator(o.seed);
  const int64_t n = data.train_x.size(0);
  at::Tensor order = at::randperm(n, gen);
  int64_t cursor = 0;
  const int64_t tail_from = o.steps - std::max<int64_t>(1, o.steps / 5);
  double tail = 0;
  auto* mlp = dynamic_cast<nn::MLPImpl*>(&model);
  auto* vit = dynamic_cast<nn::ViTImpl*>(&model);
  for (int64_t step = 0; step < o.steps; ++step) {
    if (cursor + o.batch > n) order = at::randperm(n, gen), cursor = 0;
    const at::Tensor idx = order.narrow(0, cursor, o.batch);
    cursor += o.batch;
    at::Tensor x = data.train_x.index_select(0, idx);
    const at::Tensor logits = mlp ? mlp->forward(x) : vit->forward(x.reshape({o.batch, 1, 28, 28}));
    const at::Tensor loss = at::cross_entropy_loss(logits, data.train_y.index_select(0, idx));
    const double l = loss.item<double>();
    if (!std::isfinite(l) || l > 1e3) return std::numeric_limits<double>::quiet_NaN();
    adam.zero_grad();
    loss.backward();
    adam.step();
    if (step >= tail_from) tail += l / double(o.steps - tail_from);
  }
  return tail;
}

}  // namespace

LrTransfer lr_transfer(const Dataset& data, const LrTransferOptions& o,
                       const std::function<void(int, int)>& progress) {
  TORCH_CHECK(o.model == "mlp" || o.model == "vit", kTransferWho,
              ": model must be mlp or vit (got '", o.model, "')");
  TORCH_CHECK(!o.widths.empty() && !o.log2_lrs.empty() && o.steps >= 1 && o.batch >= 1,
              kTransferWho, ": expected widths, log2 learning rates, steps >= 1 and batch >= 1");
  for (size_t i = 0; i < o.widths.size(); ++i)
    TORCH_CHECK(
        o.widths[i] > 0 && o.widths[i] % 4 == 0 && (i == 0 || o.widths[i] > o.widths[i - 1]),
        kTransferWho, ": widths must be ascending multiples of 4 (got [",
        fmt::format("{}", fmt::join(o.widths, ", ")), "])");
  TORCH_CHECK(data.train_x.defined() && data.train_x.dim() == 2 && data.train_x.size(1) == 784 &&
                  data.train_x.size(0) >= o.batch,
              kTransferWho,
              ": expected Fashion-MNIST's x [N, 784] (load_fashion_mnist), N >= batch");
  const auto start = std::chrono::steady_clock::now();
  LrTransfer out;
  out.options = o;
  const Plan plan = Plan::preset("torch_default");
  const torch::nn::AnyModule base = model_at(o.model, o.widths.front());
  const Parametrization mup = Parametrization::mup(*base.ptr(), plan);
  const int total = int(2 * o.widths.size() * o.log2_lrs.size());
  int done = 0;
  for (const std::string parametrization : {"standard", "mup"}) {
    for (const int64_t width : o.widths) {
      for (const double log2_lr : o.log2_lrs) {
        const torch::nn::AnyModule any = model_at(o.model, width);
        torch::nn::Module& model = *any.ptr();
        const double lr = std::exp2(log2_lr);
        std::unique_ptr<torch::optim::Adam> adam;
        if (parametrization == "mup") {
          const Report rep = mup.apply(model, ApplyOptions().seed(o.seed));
          adam = std::make_unique<torch::optim::Adam>(
              param_groups(model, rep, torch::optim::AdamOptions(lr)),
              torch::optim::AdamOptions(lr));
        } else {
          plan.apply(model, ApplyOptions().seed(o.seed));
          adam = std::make_unique<torch::optim::Adam>(model.parameters(),
                                                      torch::optim::AdamOptions(lr));
        }
        out.runs.push_back({parametrization, width, log2_lr, train(model, *adam, data, o)});
        if (progress) progress(++done, total);
      }
    }
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

double LrTransfer::best_log2_lr(const std::string& parametrization, int64_t width) const {
  double best = std::numeric_limits<double>::quiet_NaN(), loss = 0;
  for (const auto& r : runs)
    if (r.parametrization == parametrization && r.width == width && std::isfinite(r.loss) &&
        (std::isnan(best) || r.loss < loss))
      best = r.log2_lr, loss = r.loss;
  return best;
}

double LrTransfer::shift(const std::string& parametrization) const {
  return best_log2_lr(parametrization, options.widths.back()) -
         best_log2_lr(parametrization, options.widths.front());
}

std::string LrTransfer::table() const {
  std::string out = fmt::format("{:<10} {:>6}", "param.", "width");
  for (double lr : options.log2_lrs) out += fmt::format(" {:>7}", fmt::format("2^{:g}", lr));
  out += fmt::format("  {:>8}\n", "best lr");
  for (const std::string p : {"standard", "mup"}) {
    for (const int64_t w : options.widths) {
      out += fmt::format("{:<10} {:>6}", p, w);
      for (const auto& r : runs)
        if (r.parametrization == p && r.width == w)
          out += std::isfinite(r.loss) ? fmt::format(" {:>7.4f}", r.loss)
                                       : fmt::format(" {:>7}", "diverged");
      out += fmt::format("  {:>8}\n", fmt::format("2^{:g}", best_log2_lr(p, w)));
    }
  }
  for (const std::string p : {"standard", "mup"})
    out += fmt::format("{}: the best learning rate moves by {:+g} in log2 from width {} to {}\n", p,
                       shift(p), options.widths.front(), options.widths.back());
  return out;
}

std::string LrTransfer::json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : runs)
    rows.push_back({{"parametrization", r.parametrization},
                    {"width", r.width},
                    {"log2_lr", r.log2_lr},
                    {"loss", std::isfinite(r.loss) ? nlohmann::json(r.loss) : nlohmann::json()}});
  nlohmann::json best;
  for (const std::string p : {"standard", "mup"}) {
    for (const int64_t w : options.widths) {
      const double b = best_log2_lr(p, w);
      best[p][std::to_string(w)] = std::isfinite(b) ? nlohmann::json(b) : nlohmann::json();
    }
    best[p]["shift"] = shift(p);
  }
  return nlohmann::json{{"model", options.model},
                        {"widths", options.widths},
                        {"log2_lrs", options.log2_lrs},
                        {"steps", options.steps},
                        {"batch", options.batch},
                        {"seed", options.seed},
                        {"optimizer", "adam"},
                        {"loss", "mean training cross-entropy of the last 20% of steps"},
                        {"runs", rows},
                        {"best_log2_lr", best},
                        {"seconds", seconds}}
      .dump(2);
}

std::string LrTransfer::svg() const {
  std::vector<svg::Panel> panels;
  for (const std::string p : {"standard", "mup"}) {
    svg::Panel panel{p == "mup" ? "muP (base width " + std::to_string(options.widths.front()) + ")"
                                : "standard parametrization",
                     "log2 learning rate",
                     "training loss",
                     true,
                     1e-3,
                     1e3,
                     {}};
    for (size_t i = 0; i < options.widths.size(); ++i) {
      svg::Series s;
      s.label = fmt::format("width {}", options.widths[i]);
      s.color = svg::palette(i);
      s.markers = true;
      for (const auto& r : runs)
        if (r.parametrization == p && r.width == options.widths[i]) {
          s.x.push_back(r.log2_lr);
          s.y.push_back(r.loss);
        }
      panel.series.push_back(std::move(s));
    }
    panel.notes.push_back(fmt::format("best lr moves {:+g} (log2)", shift(p)));
    panels.push_back(std::move(panel));
  }
  return svg::figure(fmt::format("Fashion-MNIST, {}: training loss after {} Adam steps vs learning "
                                 "rate, per width",
                                 options.model, options.steps),
                     panels);
}

}  // namespace torchinit
