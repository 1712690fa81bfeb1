#include "signal/depth_sweep.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "torchinit/nn/mlp.h"
#include "torchinit/plan.h"
#include "torchinit/propagation.h"
#include "torchinit/registry.h"

namespace torchinit {

std::vector<std::pair<std::string, std::string>> sweep_inits(const std::string& activation) {
  return {{"N(0,1)", "normal(mean=0, std=1)"},
          // LibTorch's Linear default, U(±1/sqrt(fan_in)): kaiming_uniform(a=sqrt(5)).
          {"standard", "kaiming_uniform(a=2.23606797749979)"},
          {"xavier", "xavier_uniform"},
          {"kaiming", "kaiming_normal(nonlinearity=" + activation + ")"},
          {"orthogonal", "orthogonal(gain=" + activation + ")"}};
}

double depth_sweep_bytes(const DepthSweepOptions& o) {
  const double layers = double(o.depth) + 1, width = double(o.width);
  // Per layer: the weight and bias; the pre-activation and activation kept for backward, and
  // their gradients.
  return 4 * layers * (width * (width + 1) + 4 * double(o.batch) * width);
}

DepthSweep depth_sweep(const DepthSweepOptions& o, const std::function<void(int, int)>& progress) {
  const auto check_size = [](const char* name, int64_t value, int64_t max) {
    TORCH_CHECK(value >= 1 && value <= max, "torchinit::depth_sweep: expected ", name, " in [1, ",
                max, "], got ", value, "; the sweep builds MLPs of depth hidden layers of width ",
                "units and measures them on batch rows");
  };
  check_size("depth", o.depth, kMaxSweepDepth);
  check_size("width", o.width, kMaxSweepWidth);
  check_size("batch", o.batch, kMaxSweepBatch);
  TORCH_CHECK(!o.activations.empty(),
              "torchinit::depth_sweep: no activations; give at least one, e.g. {\"relu\"}");
  for (const std::string& act : o.activations) {  // a bad activation fails before any work
    nn::MLP(nn::MLPOptions(1, {1}, 1).activation(act));
    for (const auto& init : sweep_inits(act)) (void)Registry::global().make(init.second);
  }
  DepthSweep sweep;
  sweep.depth = o.depth, sweep.width = o.width, sweep.batch = o.batch, sweep.seed = o.seed;
  const int total = static_cast<int>(o.activations.size() * sweep_inits("relu").size());
  int done = 0;
  for (const std::string& act : o.activations) {
    for (const auto& [name, spec] : sweep_inits(act)) {
      nn::MLP mlp(
          nn::MLPOptions(o.width, std::vector<int64_t>(o.depth, o.width), o.width).activation(act));
      const Report rep = Plan()
                             .rule(":weight", spec)
                             .rule(":bias", "zeros")
                             .apply(*mlp, ApplyOptions().seed(o.seed));
      const Propagation p =
          propagate(*mlp, rep, {o.batch, o.width}, PropagationOptions().seed(o.seed));
      SweepCurve c;
      c.activation = act, c.init = name, c.spec = spec;
      for (int64_t l = 0; l < o.depth; ++l) {
        c.measured_std.push_back(std::sqrt(p.layers()[l].second_moment));
        c.predicted_std.push_back(std::sqrt(p.layers()[l].predicted));
      }
      c.verdict = p.verdict();
      // Past a float overflow there is nothing to compare: judge the layers before it.
      const std::vector<LayerSignal>& layers = p.layers();
      const auto overflow = std::find_if(layers.begin(), layers.end(), [](const LayerSignal& s) {
        return !std::isfinite(s.second_moment);
      });
      c.overflow_layer = overflow == layers.end() ? 0 : overflow - layers.begin() + 1;
      std::vector<double> compared;
      for (auto it = layers.begin(); it != overflow; ++it) compared.push_back(it->second_moment);
      c.forward_growth = growth_factor(compared);
      c.backward_growth = c.overflow_layer > 0 ? kNoValue : p.backward_growth();
      c.agrees = std::all_of(layers.begin(), overflow,
                             [](const LayerSignal& s) { return s.local_agrees && s.chain_agrees; });
      sweep.curves.push_back(std::move(c));
      if (progress) progress(++done, total);
    }
  }
  return sweep;
}

namespace {

std::string overflow_note(const SweepCurve& c) {
  return c.overflow_layer == 1
             ? "overflowed at layer 1, nothing compared with theory"
             : fmt::format("overflowed at layer {}, theory compared up to layer {}",
                           c.overflow_layer, c.overflow_layer - 1);
}

}  // namespace

std::string DepthSweep::table() const {
  std::string out = fmt::format("{:<6} {:<11} {:>12} {:>12} {:>12} {:>12} {:>10} {:>10}  {}\n",
                                "act", "init", "std layer 1", "std layer " + std::to_string(depth),
                                "predicted", "growth/lyr", "grad grow", "theory", "verdict");
  // NaN (not measured, or past an overflow) prints as "-", never as "nan" or "-nan".
  auto num = [](double v) { return std::isnan(v) ? std::string("-") : fmt::format("{:.4g}", v); };
  for (const SweepCurve& c : curves) {
    std::string verdict = c.verdict;
    if (c.overflow_layer > 0) verdict += "; " + overflow_note(c);
    out += fmt::format("{:<6} {:<11} {:>12} {:>12} {:>12} {:>12} {:>10} {:>10}  {}\n", c.activation,
                       c.init, num(c.measured_std.front()), num(c.measured_std.back()),
                       num(c.predicted_std.back()), num(c.forward_growth), num(c.backward_growth),
                       c.agrees ? "agrees" : "DIFFERS", verdict);
  }
  return out;
}

std::string DepthSweep::json() const {
  nlohmann::json j;
  j["depth"] = depth, j["width"] = width, j["batch"] = batch, j["seed"] = seed;
  j["curves"] = nlohmann::json::array();
  for (const SweepCurve& c : curves) {
    j["curves"].push_back({{"activation", c.activation},
                           {"init", c.init},
                           {"spec", c.spec},
                           {"verdict", c.verdict},
                           {"forward_growth", c.forward_growth},
                           {"backward_growth", c.backward_growth},
                           {"agrees_with_theory", c.agrees},
                           {"overflow_layer", c.overflow_layer},
                           {"measured_std", c.measured_std},
                           {"predicted_std", c.predicted_std}});
  }
  return j.dump(2);
}

std::string DepthSweep::svg() const {
  std::vector<svg::Panel> panels;
  std::vector<std::string> acts;
  for (const SweepCurve& c : curves)
    if (std::find(acts.begin(), acts.end(), c.activation) == acts.end())
      acts.push_back(c.activation);
  for (const std::string& act : acts) {
    svg::Panel p;
    p.title = fmt::format("{} MLP, width {}", act, width);
    p.x_label = "layer";
    p.y_label = "pre-activation std";
    // The networks are float32: the plot reaches to where they overflow.
    p.y_ceiling = std::numeric_limits<float>::max();
    size_t k = 0;
    for (const SweepCurve& c : curves) {
      if (c.activation != act) continue;
      std::vector<double> x;
      for (size_t l = 0; l < c.measured_std.size(); ++l) x.push_back(static_cast<double>(l + 1));
      // The measured curve stops before an overflow (the note says where); theory goes on.
      const size_t shown = c.overflow_layer > 0
                               ? std::min(c.measured_std.size(), size_t(c.overflow_layer - 1))
                               : c.measured_std.size();
      svg::Series measured{c.init,
                           {x.begin(), x.begin() + shown},
                           {c.measured_std.begin(), c.measured_std.begin() + shown},
                           svg::palette(k),
                           false,
                           true,
                           true};
      svg::Series predicted{
          c.init + " (theory)", x, c.predicted_std, svg::palette(k), true, false, false};
      p.series.push_back(measured);
      p.series.push_back(predicted);
      if (c.overflow_layer > 0) {
        // No-break spaces keep "layer 36" on one line of the wrapped note.
        p.notes.push_back(
            fmt::format("{} overflowed at layer\u00a0{}: measured curve stops at "
                        "layer\u00a0{}",
                        c.init, c.overflow_layer, shown));
      }
      ++k;
    }
    p.series.push_back({"mean-field prediction", {}, {}, "#000000", true, false, true});
    panels.push_back(std::move(p));
  }
  return svg::figure(fmt::format("Per-layer std at initialization, depth {}: measured (circles) vs "
                                 "mean-field theory (dashed)",
                                 depth),
                     panels);
}

}  // namespace torchinit
