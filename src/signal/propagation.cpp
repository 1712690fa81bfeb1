#include "torchinit/propagation.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

#include "torchinit/activation.h"
#include "torchinit/nn/activation_module.h"
#include "torchinit/nn/probe.h"
#include "torchinit/plan.h"
#include "torchinit/stats.h"

namespace torchinit {
namespace {

struct Step {
  std::string path, type;
  at::Tensor output;
  const torch::nn::Module* module;
};

struct LayerStatsRecorder : nn::Probe {
  std::vector<Step> steps;
  void record(const std::string& path, const std::string& type, const at::Tensor& output,
              const torch::nn::Module* module) override {
    steps.push_back({path, type, output, module});
  }
};

bool is_layer(const std::string& type) {
  return type == "Linear" || type == "Conv1d" || type == "Conv2d" || type == "Conv3d" ||
         type == "BasicBlock" || type == "Bottleneck";
}

// The activation spec of a step, or nullopt when the theory has no model of it.
std::optional<std::string> activation_spec(const Step& s) {
  if (s.type == "relu") return "relu";  // ResNet's functional relu: recorded without a module
  if (s.module == nullptr) return std::nullopt;
  return nn::activation_spec_of(*s.module);
}

const ReportRow* find_row(const Report* report, const std::string& path) {
  if (report == nullptr) return nullptr;
  for (const ReportRow& r : report->rows())
    if (r.path == path) return &r;
  return nullptr;
}

double second_moment_of(const Distribution& d) { return d.variance() + d.mean() * d.mean(); }

// Per-unit mean squares of `t`: units are the last dimension for Linear layers, dimension 1
// otherwise (channels).
stats::Moments unit_mean_squares(const at::Tensor& t, bool last_dim_units) {
  at::Tensor d = t.detach().to(at::kDouble);
  d = last_dim_units || d.dim() < 2 ? d.reshape({-1, d.size(-1)}).transpose(0, 1)
                                    : d.transpose(0, 1).reshape({d.size(1), -1});
  const at::Tensor s = d.square().mean(1).contiguous();
  return stats::moments(s.data_ptr<double>(), s.numel());
}

// Relative variance of the mean of the per-unit values: Var(s_j) / (m mean(s)^2).
double relative_variance_of_mean(const stats::Moments& m) {
  if (m.n < 2 || m.mean == 0) return 0;
  return m.sample_variance() / (static_cast<double>(m.n) * m.mean * m.mean);
}

double mean_square(const at::Tensor& t) {
  return t.detach().to(at::kDouble).square().mean().item<double>();
}

}  // namespace

double growth_factor(const std::vector<double>& values) {
  if (values.size() < 2) return kNoValue;
  const double n = static_cast<double>(values.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const double x = static_cast<double>(i), y = std::log(values[i]);
    sx += x, sy += y, sxx += x * x, sxy += x * y;
  }
  return std::exp((n * sxy - sx * sy) / (n * sxx - sx * sx));
}

std::string diagnose(const std::vector<double>& variances, double tolerance, double drift_sd,
                     double z) {
  TORCH_CHECK(tolerance > 0 && std::isfinite(tolerance),
              "torchinit::diagnose: expected a growth tolerance > 0 (got ", tolerance, ")");
  for (const double v : variances) {
    if (!std::isfinite(v)) return "exploding";  // overflow (inf, or inf - inf = NaN)
    if (v <= 0) return "vanishing";             // underflow to 0
  }
  const double g = growth_factor(variances);
  if (std::isnan(g)) return "stable";
  // Total log change of the fitted line, against what finite width alone produces.
  const double total = std::abs(std::log(g)) * static_cast<double>(variances.size() - 1);
  const bool significant = !(drift_sd > 0 && z > 0) || total > z * drift_sd;
  if (g > 1 + tolerance && significant) return "exploding";
  if (g < 1 / (1 + tolerance) && significant) return "vanishing";
  return "stable";
}

Propagation propagate_impl(torch::nn::Module& module, const Report* report,
                           std::vector<int64_t> input_shape, const PropagationOptions& options) {
  TORCH_CHECK(!input_shape.empty() && std::all_of(input_shape.begin(), input_shape.end(),
                                                  [](int64_t s) { return s > 0; }),
              "torchinit::propagate: expected an input shape of positive sizes, batch first (got [",
              fmt::format("{}", fmt::join(input_shape, ", ")), "])");
  int64_t numel = 1;
  for (const int64_t s : input_shape)
    TORCH_CHECK(!__builtin_mul_overflow(numel, s, &numel),
                "torchinit::propagate: the input shape [",
                fmt::format("{}", fmt::join(input_shape, ", ")),
                "] has more elements than int64 holds; use a smaller batch");
  TORCH_CHECK(options.alpha() > 0 && options.alpha() < 1,
              "torchinit::propagate: expected alpha in (0, 1) (got ", options.alpha(), ")");
  // diagnose() checks it too, but only after the forward and backward passes.
  TORCH_CHECK(options.growth_tolerance() > 0 && std::isfinite(options.growth_tolerance()),
              "torchinit::propagate: expected a growth tolerance > 0 (got ",
              options.growth_tolerance(), ")");
  Propagation p;
  p.alpha_ = options.alpha();
  p.tolerance_ = options.growth_tolerance();

  auto gen = at::make_generator<at::CPUGeneratorImpl>(options.seed());
  const at::Tensor input = at::randn(input_shape, gen).set_requires_grad(true);
  LayerStatsRecorder rec;
  const at::Tensor output = nn::forward_probed(module, input, rec);

  std::vector<size_t> layer_steps;
  for (size_t i = 0; i < rec.steps.size(); ++i)
    if (is_layer(rec.steps[i].type)) layer_steps.push_back(i);
  TORCH_CHECK(!layer_steps.empty(), "torchinit::propagate: the network has no Linear, Conv or ",
              "residual block layer to measure");
  const size_t L = layer_steps.size();
  const double z_crit = stats::normal_quantile_two_sided(options.alpha() / static_cast<double>(L));

  // Forward: measure, predict, compare.
  bool chain_ok = true;
  double chain_var = 0, q_prev = 1;
  double forward_drift = 0, backward_drift = 0;  // variances of ln(last/first) from finite width
  std::vector<std::optional<Activation>> acts(L);
  for (size_t l = 0; l < L; ++l) {
    const size_t si = layer_steps[l];
    const Step& step = rec.steps[si];
    const size_t first_between = l == 0 ? 0 : layer_steps[l - 1] + 1;
    LayerSignal s;
    s.path = step.path;
    s.type = step.type;
    // What the layer consumes, and the activation in between.
    std::optional<std::string> act = std::string("identity");
    int known = 0;
    std::string unknown;
    for (size_t k = first_between; k < si; ++k) {
      auto a = activation_spec(rec.steps[k]);
      if (!a) {
        unknown = rec.steps[k].type + " at " + rec.steps[k].path;
        act.reset();
        break;
      }
      if (*a != "identity") ++known, act = *a;
    }
    if (known > 1) act.reset(), unknown = "two activations in a row before " + step.path;
    s.activation = act ? *act : "";
    if (act) acts[l] = activation(*act);
    const at::Tensor& in = si == 0 ? input : rec.steps[si - 1].output;
    const at::Tensor h = step.output.detach().to(at::kDouble);
    s.n = h.numel();
    s.mean = h.mean().item<double>();
    s.second_moment = h.square().mean().item<double>();
    s.variance = s.n > 1 ? h.var().item<double>() : 0;
    const bool linear = step.type == "Linear";
    s.units = linear ? h.size(-1) : (h.dim() >= 2 ? h.size(1) : 1);
    if (l > 0) s.growth = s.second_moment / p.layers_[l - 1].second_moment;

    const ReportRow* w = find_row(report, step.path + ".weight");
    const ReportRow* b = find_row(report, step.path + ".bias");
    const bool has_theory = w != nullptr && (linear || step.type.rfind("Conv", 0) == 0);
    if (has_theory) {
      s.sigma_w2 = static_cast<double>(w->fans.fan_in) * second_moment_of(w->theory);
      s.sigma_b2 = b != nullptr ? second_moment_of(b->theory) : 0;
    }
    const stats::Moments units = unit_mean_squares(step.output, linear);
    const stats::Moments in_units = unit_mean_squares(in, linear);
    forward_drift += relative_variance_of_mean(units) + relative_variance_of_mean(in_units);
    if (has_theory && linear && std::isfinite(units.m2) && std::isfinite(in_units.m2)) {
      // Given this layer's input, the per-unit mean squares are iid with this mean.
      s.local_predicted = s.sigma_w2 * mean_square(in) + s.sigma_b2;
      s.local_z = units.n >= 2
                      ? stats::mean_z(units, s.local_predicted, std::sqrt(units.sample_variance()))
                      : kNoValue;
      s.local_agrees = !(std::abs(s.local_z) > z_crit);
    }
    if (chain_ok && (!has_theory || !act)) {
      chain_ok = false;
      if (p.theory_note_.empty()) {
        p.theory_note_ = !act ? "no theory for " + unknown
                              : "no theory for " + step.type + " " + step.path +
                                    (report != nullptr ? "" : " (no report)");
      }
    }
    // A float overflow (an exploding network) leaves nothing to compare.
    const bool finite =
        std::isfinite(s.second_moment) && std::isfinite(units.m2) && std::isfinite(in_units.m2);
    if (!finite) {
      s.local_z = kNoValue;
      s.local_agrees = true;
      if (chain_ok && p.theory_note_.empty()) {
        p.theory_note_ = "float overflow at " + step.path + ": compared up to the layer before";
      }
    }
    if (chain_ok) {
      const double q_in = l == 0 ? 1.0 : q_prev;  // the input batch is N(0, 1)
      q_prev = s.sigma_w2 * acts[l]->second_moment(q_in) + s.sigma_b2;
      s.predicted = q_prev;
      chain_var += relative_variance_of_mean(units) + relative_variance_of_mean(in_units);
      s.chain_sd = std::sqrt(chain_var);
      const double dev = std::abs(std::log(s.second_moment / s.predicted));
      s.chain_agrees = !finite || dev <= z_crit * s.chain_sd;
      if (!finite) s.chain_sd = kNoValue;
    }
    p.layers_.push_back(std::move(s));
  }

  // Backward: gradients of <g, output> with respect to every layer output.
  if (options.backward()) {
    std::vector<at::Tensor> outs;
    for (size_t si : layer_steps) outs.push_back(rec.steps[si].output);
    const at::Tensor g = at::randn(output.sizes(), gen);
    const auto grads = torch::autograd::grad({output}, outs, {g}, /*retain_graph=*/false,
                                             /*create_graph=*/false, /*allow_unused=*/true);
    for (size_t l = 0; l < L; ++l) {
      LayerSignal& s = p.layers_[l];
      s.grad_variance = grads[l].defined() ? mean_square(grads[l]) : 0;
      if (grads[l].defined()) {
        backward_drift +=
            relative_variance_of_mean(unit_mean_squares(grads[l], s.type == "Linear"));
      }
      if (l + 1 < L) s.grad_growth = s.grad_variance / p.layers_[l + 1].grad_variance;
    }
    // Theory: the output gradient has variance 1 when the last layer is the output.
    bool ok = layer_steps.back() + 1 == rec.steps.size();
    double gvar = 1;
    for (size_t l = L; l-- > 0 && ok;) {
      if (l + 1 < L) {
        LayerSignal& next = p.layers_[l + 1];
        const ReportRow* w = find_row(report, next.path + ".weight");
        ok = w != nullptr && acts[l + 1].has_value() && !std::isnan(p.layers_[l].predicted);
        if (!ok) break;
        gvar *= static_cast<double>(w->fans.fan_out) * second_moment_of(w->theory) *
                acts[l + 1]->derivative_second_moment(p.layers_[l].predicted);
      }
      p.layers_[l].predicted_grad_variance = gvar;
    }
  }

  std::vector<double> fwd, bwd;
  for (const LayerSignal& s : p.layers_) fwd.push_back(s.second_moment);
  const double z_total = stats::normal_quantile_two_sided(options.alpha());
  p.forward_verdict_ = diagnose(fwd, options.growth_tolerance(), std::sqrt(forward_drift), z_total);
  p.forward_growth_ = growth_factor(fwd);
  p.verdict_ = p.forward_verdict_;
  if (options.backward()) {
    // From the layer below the output: the output's own gradient is the injected g, not
    // propagated (a narrow head would read as a one-step drop).
    auto from = p.layers_.size() > 2 ? p.layers_.rbegin() + 1 : p.layers_.rbegin();
    for (auto it = from; it != p.layers_.rend(); ++it) bwd.push_back(it->grad_variance);
    p.backward_verdict_ =
        diagnose(bwd, options.growth_tolerance(), std::sqrt(backward_drift), z_total);
    p.backward_growth_ = growth_factor(bwd);
    if (p.verdict_ == "stable") p.verdict_ = p.backward_verdict_;
  }
  return p;
}

Propagation propagate(torch::nn::Module& module, const Report& report,
                      std::vector<int64_t> input_shape, const PropagationOptions& options) {
  return propagate_impl(module, &report, std::move(input_shape), options);
}

Propagation propagate(const torch::nn::AnyModule& module, const Report& report,
                      std::vector<int64_t> input_shape, const PropagationOptions& options) {
  return propagate_impl(*module.ptr(), &report, std::move(input_shape), options);
}

Propagation propagate(torch::nn::Module& module, std::vector<int64_t> input_shape,
                      const PropagationOptions& options) {
  return propagate_impl(module, nullptr, std::move(input_shape), options);
}

bool Propagation::agrees() const {
  return std::all_of(layers_.begin(), layers_.end(),
                     [](const LayerSignal& s) { return s.local_agrees && s.chain_agrees; });
}

std::string Propagation::summary() const {
  size_t local = 0, chain = 0, local_ok = 0, chain_ok = 0;
  for (const LayerSignal& s : layers_) {
    if (!std::isnan(s.local_z)) ++local, local_ok += s.local_agrees;
    if (!std::isnan(s.predicted)) ++chain, chain_ok += s.chain_agrees;
  }
  std::string out = fmt::format(
      "{}: {} layers, forward growth {:.4g}/layer ({}), backward growth {:.4g}/layer ({}); "
      "theory: local {}/{} agree, mean-field chain {}/{} agree (alpha={:.3g}, tolerance {:.3g})",
      verdict_, layers_.size(), forward_growth_, forward_verdict_, backward_growth_,
      backward_verdict_.empty() ? "not measured" : backward_verdict_, local_ok, local, chain_ok,
      chain, alpha_, tolerance_);
  if (!theory_note_.empty()) out += "; " + theory_note_;
  return out;
}

std::string Propagation::table() const {
  std::string out = fmt::format(
      "{:<14} {:<11} {:<10} {:>11} {:>11} {:>11} {:>7} {:>8} {:>11} {:>11}\n", "layer", "type",
      "act", "mean", "E[h^2]", "predicted", "ratio", "local z", "grad var", "predicted");
  auto num = [](double v) { return std::isnan(v) ? std::string("-") : fmt::format("{:.4g}", v); };
  for (const LayerSignal& s : layers_) {
    const double ratio = s.second_moment / s.predicted;
    out += fmt::format(
        "{:<14} {:<11} {:<10} {:>11} {:>11} {:>11} {:>7}{} {:>8}{} {:>11} {:>11}\n", s.path, s.type,
        s.activation.empty() ? "?" : s.activation, num(s.mean), num(s.second_moment),
        num(s.predicted), std::isnan(ratio) ? "-" : fmt::format("{:.3f}", ratio),
        s.chain_agrees ? ' ' : '!', std::isnan(s.local_z) ? "-" : fmt::format("{:.2f}", s.local_z),
        s.local_agrees ? ' ' : '!', num(s.grad_variance), num(s.predicted_grad_variance));
  }
  return out + summary() + "\n";
}

std::string Propagation::json() const {
  nlohmann::json j;
  j["verdict"] = verdict_;
  j["forward_verdict"] = forward_verdict_;
  j["backward_verdict"] = backward_verdict_;
  j["forward_growth"] = forward_growth_;
  j["backward_growth"] = backward_growth_;
  j["theory_note"] = theory_note_;
  j["alpha"] = alpha_;
  j["growth_tolerance"] = tolerance_;
  j["agrees"] = agrees();
  j["layers"] = nlohmann::json::array();
  for (const LayerSignal& s : layers_) {
    j["layers"].push_back({{"path", s.path},
                           {"type", s.type},
                           {"activation", s.activation},
                           {"units", s.units},
                           {"n", s.n},
                           {"mean", s.mean},
                           {"variance", s.variance},
                           {"second_moment", s.second_moment},
                           {"growth", s.growth},
                           {"sigma_w2", s.sigma_w2},
                           {"sigma_b2", s.sigma_b2},
                           {"local_predicted", s.local_predicted},
                           {"local_z", s.local_z},
                           {"local_agrees", s.local_agrees},
                           {"predicted", s.predicted},
                           {"chain_sd", s.chain_sd},
                           {"chain_agrees", s.chain_agrees},
                           {"grad_variance", s.grad_variance},
                           {"predicted_grad_variance", s.predicted_grad_variance},
                           {"grad_growth", s.grad_growth}});
  }
  return j.dump(2);
}

}  // namespace torchinit
