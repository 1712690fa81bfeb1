// The coordinate check (coordcheck.h): per width and seed, a few Adam steps on a fixed synthetic
// batch, every layer's update RMS(x_t - x_0), and a slope of log update against log width.
#include "torchinit/coordcheck.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/optim/adam.h>

#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "parametrizations/canonical_params.h"
#include "torchinit/nn/gpt.h"
#include "torchinit/nn/make.h"
#include "torchinit/nn/mlp.h"
#include "torchinit/nn/probe.h"
#include "torchinit/nn/vit.h"
#include "torchinit/param_groups.h"

namespace torchinit {
namespace {

constexpr const char* kCoordWho = "torchinit::coordcheck";

// Every step's output, in forward order.
struct OutputRecorder : nn::Probe {
  std::vector<std::pair<std::string, std::string>> names;
  std::vector<at::Tensor> outputs;
  void record(const std::string& path, const std::string& type, const at::Tensor& output,
              const torch::nn::Module*) override {
    names.emplace_back(path, type);
    outputs.push_back(output.detach().to(at::kDouble));
  }
};

// A fixed synthetic batch for the model: inputs and class labels for cross-entropy.
struct Batch {
  at::Tensor x, y;
};

Batch synthetic_batch(torch::nn::Module& m, int64_t batch, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  if (const auto* lm = dynamic_cast<nn::GPTImpl*>(&m)) {
    const int64_t tokens = std::min<int64_t>(lm->options.context(), 16);
    return {at::randint(lm->options.vocab(), {batch, tokens}, gen, at::kLong),
            at::randint(lm->options.vocab(), {batch * tokens}, gen, at::kLong)};
  }
  if (const auto* vit = dynamic_cast<nn::ViTImpl*>(&m)) {
    const nn::ViTOptions& o = vit->options;
    return {at::randn({batch, o.channels(), o.image(), o.image()}, gen, at::kFloat),
            at::randint(o.classes(), {batch}, gen, at::kLong)};
  }
  if (const auto* mlp = dynamic_cast<nn::MLPImpl*>(&m)) {
    return {at::randn({batch, mlp->options.in_features()}, gen, at::kFloat),
            at::randint(mlp->options.out_features(), {batch}, gen, at::kLong)};
  }
  TORCH_CHECK(false, kCoordWho, ": no synthetic batch for ", nn::short_type_name(m),
              "; the coordinate check trains gpt, vit and mlp models");
}

at::Tensor loss_of(const at::Tensor& logits, const at::Tensor& labels) {
  return at::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}), labels);
}

double rms(const at::Tensor& t) { return std::sqrt(t.square().mean().item<double>()); }

// Per (layer, step): per width, per seed, RMS(x_t) and RMS(x_t - x_0).
struct Samples {
  std::vector<std::pair<std::string, std::string>> names;
  // [layer][step - 1][width] → per seed
  std::vector<std::vector<std::vector<std::vector<double>>>> rms, update;
};

void validate(const CoordCheckOptions& o) {
  const auto& w = o.widths();
  TORCH_CHECK(w.size() >= 2, kCoordWho, ": widths needs at least 2 widths (got ", w.size(), ")");
  for (size_t i = 0; i < w.size(); ++i)
    TORCH_CHECK(w[i] > 0 && (i == 0 || w[i] > w[i - 1]), kCoordWho,
                ": widths must be ascending and > 0 (got [", fmt::format("{}", fmt::join(w, ", ")),
                "])");
  TORCH_CHECK(o.base_width() >= 0 && o.base_width() <= w.front(), kCoordWho, ": base_width ",
              o.base_width(), " must be at most the smallest width ", w.front(),
              " (0: the smallest width)");
  TORCH_CHECK(o.steps() >= 1 && o.seeds() >= 1 && o.batch() >= 1, kCoordWho,
              ": steps, seeds and batch must be >= 1 (got ", o.steps(), ", ", o.seeds(), ", ",
              o.batch(), ")");
  TORCH_CHECK(o.lr() > 0 && std::isfinite(o.lr()), kCoordWho, ": lr must be > 0 (got ", o.lr(),
              ")");
  TORCH_CHECK(o.alpha() > 0 && o.alpha() < 1, kCoordWho, ": alpha must be in (0, 1) (got ",
              o.alpha(), ")");
  TORCH_CHECK(o.band() > 0, kCoordWho, ": band must be > 0 (got ", o.band(), ")");
  TORCH_CHECK(w.size() * size_t(o.seeds()) >= 3, kCoordWho,
              ": the slope's interval needs at least 3 (width, seed) pairs; add seeds");
}

// The slope of log2 y against log2 x by least squares, with its half-width at t quantile `t`.
void fit(const std::vector<double>& x, const std::vector<double>& y, double t, CoordLayer& out) {
  const double n = double(x.size());
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) mx += x[i] / n, my += y[i] / n;
  double sxx = 0, sxy = 0;
  for (size_t i = 0; i < x.size(); ++i)
    sxx += (x[i] - mx) * (x[i] - mx), sxy += (x[i] - mx) * (y[i] - my);
  out.slope = sxy / sxx;
  double sse = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double r = y[i] - my - out.slope * (x[i] - mx);
    sse += r * r;
  }
  const double half = t * std::sqrt(sse / (n - 2) / sxx);
  out.lo = out.slope - half;
  out.hi = out.slope + half;
}

// The model from a spec with {width}, at a width.
std::function<torch::nn::AnyModule(int64_t)> model_of(std::string_view model_spec) {
  std::string spec(model_spec);
  TORCH_CHECK(spec.find("{width}") != std::string::npos, kCoordWho, ": the model spec '", spec,
              "' has no {width}; write it where the width goes, e.g. "
              "gpt(vocab=64, context=16, width={width}, depth=2, heads=2)");
  return [spec](int64_t width) {
    std::string s = spec;
    for (size_t at = s.find("{width}"); at != std::string::npos; at = s.find("{width}", at))
      s.replace(at, 7, std::to_string(width));
    return nn::make(s);
  };
}

// The check under `parametrization` (μP, u-μP, …, applied at every width), or the plan as it is.
CoordCheck run_coordcheck(const std::function<torch::nn::AnyModule(int64_t)>& make_model,
                          const Plan& plan, const std::optional<Parametrization>& parametrization,
                          const CoordCheckOptions& options) {
  const std::vector<int64_t>& widths = options.widths();
  Samples s;
  for (size_t wi = 0; wi < widths.size(); ++wi) {
    for (int64_t seed = 0; seed < options.seeds(); ++seed) {
      if (options.progress()) options.progress()(widths[wi], seed);
      const uint64_t replicate = options.seed() + uint64_t(seed);
      torch::nn::AnyModule any = make_model(widths[wi]);
      torch::nn::Module& model = *any.ptr();
      model.train();
      std::unique_ptr<torch::optim::Adam> adam;
      if (parametrization) {
        const Report rep = parametrization->apply(model, ApplyOptions().seed(replicate));
        adam = std::make_unique<torch::optim::Adam>(
            param_groups(model, rep, torch::optim::AdamOptions(options.lr())),
            torch::optim::AdamOptions(options.lr()));
      } else {
        const Report rep = plan.apply(model, ApplyOptions().seed(replicate));
        std::vector<at::Tensor> params;  // a tied tensor once
        for (auto& [path, tensor] : detail::canonical_parameters(model, rep, kCoordWho))
          params.push_back(tensor);
        adam =
            std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(options.lr()));
      }
      const Batch batch = synthetic_batch(model, options.batch(), replicate);
      OutputRecorder initial;
      {
        at::NoGradGuard no_grad;
        nn::forward_probed(model, batch.x, initial);
      }
      if (s.names.empty()) {
        s.names = initial.names;
        const size_t layers = s.names.size(), steps = size_t(options.steps());
        s.rms.assign(layers, std::vector<std::vector<std::vector<double>>>(
                                 steps, std::vector<std::vector<double>>(widths.size())));
        s.update = s.rms;
      }
      TORCH_CHECK(initial.names == s.names, kCoordWho, ": the model at width ", widths[wi],
                  " records other layers than at width ", widths.front(),
                  "; the widths must build the same architecture");
      for (int64_t t = 1; t <= options.steps(); ++t) {
        adam->zero_grad();
        loss_of(any.forward(batch.x), batch.y).backward();
        adam->step();
        OutputRecorder now;
        at::NoGradGuard no_grad;
        nn::forward_probed(model, batch.x, now);
        for (size_t l = 0; l < s.names.size(); ++l) {
          s.rms[l][size_t(t - 1)][wi].push_back(rms(now.outputs[l]));
          s.update[l][size_t(t - 1)][wi].push_back(rms(now.outputs[l] - initial.outputs[l]));
        }
      }
    }
  }

  CoordCheck cc;
  cc.parametrization = parametrization ? parametrization->name() : "standard";
  cc.alpha = options.alpha();
  cc.band = options.band();
  cc.widths_ = widths;
  const size_t points = widths.size() * size_t(options.seeds());
  const double comparisons = double(s.names.size()) * double(options.steps());
  const double t = boost::math::quantile(boost::math::complement(
      boost::math::students_t(double(points) - 2), options.alpha() / comparisons / 2));
  for (size_t l = 0; l < s.names.size(); ++l) {
    for (int64_t step = 1; step <= options.steps(); ++step) {
      CoordLayer layer;
      layer.path = s.names[l].first;
      layer.type = s.names[l].second;
      layer.step = step;
      if (parametrization) layer.predicted = parametrization->predicted_update_slope(layer.type);
      std::vector<double> x, y;
      bool all_zero = true, any_zero = false;
      for (size_t wi = 0; wi < widths.size(); ++wi) {
        const auto& u = s.update[l][size_t(step - 1)][wi];
        const auto& r = s.rms[l][size_t(step - 1)][wi];
        double mu = 0, mr = 0;
        for (size_t k = 0; k < u.size(); ++k) {
          mu += u[k] / double(u.size());
          mr += r[k] / double(r.size());
          x.push_back(std::log2(double(widths[wi])));
          y.push_back(std::log2(u[k]));
          all_zero &= u[k] == 0;
          any_zero |= !(u[k] > 0) || !std::isfinite(u[k]);
        }
        layer.update.push_back(mu);
        layer.rms.push_back(mr);
      }
      if (all_zero) {
        layer.verdict = "flat";  // a layer that does not move moves the same at every width
      } else if (any_zero) {
        layer.slope = layer.lo = layer.hi = std::nan("");
        layer.verdict = "inconclusive";  // no update at some widths only: no slope to fit
      } else {
        fit(x, y, t, layer);
        const double band = options.band(), want = layer.predicted;
        layer.verdict = layer.lo > want + band              ? "grows"
                        : layer.hi < want - band            ? "shrinks"
                        : (layer.hi - layer.lo) / 2 >= band ? "inconclusive"
                                                            : "flat";
      }
      cc.layers_.push_back(std::move(layer));
    }
  }
  return cc;
}

}  // namespace

CoordCheck coordcheck(const std::function<torch::nn::AnyModule(int64_t)>& make_model,
                      const Plan& plan, const CoordCheckOptions& options) {
  validate(options);
  std::optional<Parametrization> mup;
  if (options.mup()) {
    const int64_t base_width =
        options.base_width() > 0 ? options.base_width() : options.widths().front();
    const torch::nn::AnyModule base = make_model(base_width);
    mup = Parametrization::mup(*base.ptr(), plan);
  }
  return run_coordcheck(make_model, plan, mup, options);
}

CoordCheck coordcheck(std::string_view model_spec, const Plan& plan,
                      const CoordCheckOptions& options) {
  return coordcheck(model_of(model_spec), plan, options);
}

CoordCheck coordcheck(const std::function<torch::nn::AnyModule(int64_t)>& make_model,
                      const Parametrization& parametrization, const CoordCheckOptions& options) {
  validate(options);
  return run_coordcheck(make_model, Plan{}, parametrization, options);
}

CoordCheck coordcheck(std::string_view model_spec, const Parametrization& parametrization,
                      const CoordCheckOptions& options) {
  return coordcheck(model_of(model_spec), parametrization, options);
}

bool CoordCheck::passed() const {
  return std::all_of(layers_.begin(), layers_.end(), [](const CoordLayer& l) { return l.flat(); });
}

std::string CoordCheck::failures() const {
  std::string out;
  for (const auto& l : layers_)
    if (!l.flat())
      out += fmt::format("{} (step {}): {}: slope {:.3f} [{:.3f}, {:.3f}], band ±{}{}\n", l.path,
                         l.step, l.verdict, l.slope, l.lo, l.hi, band,
                         l.verdict == "inconclusive" ? " (add seeds or widths)" : "");
  return out;
}

std::string CoordCheck::table() const {
  std::string out = fmt::format(
      "coordinate check, {}: RMS of each layer's update x_t - x_0 per width; slope of log2 "
      "update vs log2 width, its interval at family-wise alpha {} against the band ±{}\n",
      parametrization, alpha, band);
  out += fmt::format("{:<24} {:<18} {:>4}", "layer", "type", "step");
  for (int64_t w : widths_) out += fmt::format(" {:>9}", fmt::format("w={}", w));
  out += fmt::format("  {:>7} {:>17}  {}\n", "slope", "interval", "verdict");
  for (const auto& l : layers_) {
    out += fmt::format("{:<24} {:<18} {:>4}", l.path, l.type, l.step);
    for (double u : l.update) out += fmt::format(" {:>9.3g}", u);
    out += fmt::format("  {:>7.3f} [{:>6.3f}, {:>6.3f}]  {}{}\n", l.slope, l.lo, l.hi, l.verdict,
                       l.predicted != 0 ? fmt::format(" (predicted slope {})", l.predicted) : "");
  }
  out += passed()
             ? "passed: every layer's update is flat in width (or scales as predicted)\n"
             : "failed: " +
                   std::to_string(std::count_if(layers_.begin(), layers_.end(),
                                                [](const CoordLayer& l) { return !l.flat(); })) +
                   " layer-steps grow or shrink with width\n";
  return out;
}

std::string CoordCheck::json() const {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : layers_)
    layers.push_back(
        {{"path", l.path},
         {"type", l.type},
         {"step", l.step},
         {"rms", l.rms},
         {"update", l.update},
         {"slope", std::isfinite(l.slope) ? nlohmann::json(l.slope) : nullptr},
         {"interval", std::isfinite(l.lo) ? nlohmann::json({l.lo, l.hi}) : nlohmann::json()},
         {"predicted_slope", l.predicted},
         {"verdict", l.verdict},
         {"flat", l.flat()}});
  return nlohmann::json{{"parametrization", parametrization},
                        {"alpha", alpha},
                        {"band", band},
                        {"widths", widths_},
                        {"passed", passed()},
                        {"layers", layers}}
      .dump(2);
}

}  // namespace torchinit
