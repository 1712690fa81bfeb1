#include "signal/residual_sweep.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "signal/svg_plot.h"
#include "torchinit/nn/gpt.h"
#include "torchinit/plan.h"
#include "torchinit/residual_stream.h"

namespace torchinit {
namespace {

Plan plan_of(const std::string& preset, int64_t depth) {
  if (preset == "unscaled")
    return Plan::parse(
        ":norm_scale = ones\n:norm_shift = zeros\n:bias = zeros\n* = normal(std=0.02)");
  return Plan::preset(preset, depth);
}

}  // namespace

ResidualSweep residual_sweep(const ResidualSweepOptions& o) {
  TORCH_CHECK(o.width >= 1 && o.vocab >= 1 && o.heads >= 1 && o.batch >= 1 && !o.depths.empty(),
              "torchinit::residual_sweep: expected width, vocab, heads, batch >= 1 and depths");
  for (const int64_t depth : o.depths)
    TORCH_CHECK(depth >= 1, "torchinit::residual_sweep: depths must be >= 1 (got ", depth, ")");
  for (const auto& preset : o.presets) (void)plan_of(preset, 1);  // unknown names fail first
  ResidualSweep sweep;
  sweep.options = o;
  for (const auto& preset : o.presets) {
    for (const int64_t depth : o.depths) {
      nn::GPT model(nn::GPTOptions(o.vocab, 1, o.width, depth, o.heads));
      const Report rep = plan_of(preset, depth).apply(*model, ApplyOptions().seed(o.seed));
      const ResidualStream s =
          residual_stream(*model, rep, ResidualStreamOptions().batch(o.batch).seed(o.seed));
      sweep.rows.push_back(
          {preset, depth, s.points.back().predicted, s.points.back().measured, s.max_log_ratio()});
    }
  }
  return sweep;
}

std::string ResidualSweep::table() const {
  std::string out = fmt::format("{:<16} {:>6} {:>12} {:>12} {:>16}\n", "preset", "depth",
                                "predicted", "measured", "max |ln ratio|");
  for (const auto& r : rows)
    out += fmt::format("{:<16} {:>6} {:>12.5g} {:>12.5g} {:>16.4f}\n", r.preset, r.depth,
                       r.predicted, r.measured, r.max_log_ratio);
  return out;
}

std::string ResidualSweep::json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rows)
    out.push_back({{"preset", r.preset},
                   {"depth", r.depth},
                   {"predicted", r.predicted},
                   {"measured", r.measured},
                   {"max_log_ratio", r.max_log_ratio}});
  return nlohmann::json{{"width", options.width}, {"batch", options.batch}, {"rows", out}}.dump(2);
}

std::string ResidualSweep::svg() const {
  svg::Panel panel{"mean square of the residual stream after the last block",
                   "log2 depth",
                   "E[x^2]",
                   true,
                   1e-30,
                   1e30,
                   {}};
  for (size_t k = 0; k < options.presets.size(); ++k) {
    svg::Series predicted, measured;
    predicted.label = options.presets[k] + " (theory)";
    predicted.dashed = true;
    predicted.legend = false;
    measured.label = options.presets[k];
    measured.markers = true;
    predicted.color = measured.color = svg::palette(k);
    for (const auto& r : rows)
      if (r.preset == options.presets[k]) {
        predicted.x.push_back(std::log2(double(r.depth)));
        measured.x.push_back(std::log2(double(r.depth)));
        predicted.y.push_back(r.predicted);
        measured.y.push_back(r.measured);
      }
    panel.series.push_back(std::move(measured));
    panel.series.push_back(std::move(predicted));
  }
  panel.notes.push_back("dashed: the pre-LN recursion; markers: one-token batches");
  return svg::figure(
      fmt::format("GPT (width {}) residual stream vs depth under the depth presets", options.width),
      {panel});
}

}  // namespace torchinit
