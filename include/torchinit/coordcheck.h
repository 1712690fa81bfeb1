// The coordinate check (Yang et al., Tensor Programs V, 2022, Sec. 8 and App. D): train the same
// architecture at several widths for a few Adam steps and measure, layer by layer, how much each
// layer's output moved. μP predicts that every layer's update is Θ(1) in width (the Maximal
// Update); under the standard parametrization (the same plan and learning rate at every width)
// the update of a layer that reads a width-sized input grows ∝ width (Adam moves each weight by
// about η, and n of them add up coherently), the logits' included.
//
// Measurement: for each width w and seed s, the model is initialized (μP against the model at the
// base width, or the plan as it is), a fixed batch of synthetic data (random inputs or tokens and
// random labels, cross-entropy) is drawn from the seed, and after each of `steps` Adam steps on
// that batch every layer's output x_t (nn/probe.h) is recorded. The statistic is the RMS of the
// update, RMS(x_t - x_0), per layer, step and width.
//
// Statistic: per layer and step, the least-squares slope b of log2 RMS(x_t - x_0) against
// log2 width over every (width, seed) pair, with its t-interval at family-wise `alpha`
// (Bonferroni over layers × steps). μP's prediction is the null hypothesis, |b| <= band:
//   grows / shrinks  the interval lies above band / below -band: the prediction is rejected
//                    (around the predicted slope where it is not 0: u-μP's embedding, -1/2);
//   inconclusive     the interval's half-width is band or more: too few widths or seeds to tell
//                    a flat layer from one at the band's edge (it fails, as an underpowered
//                    check does everywhere in torchinit: add seeds or widths);
//   flat             otherwise.
// The check passes when every layer is flat at every step, so a μP model fails it with
// probability at most alpha. band = 1/4 is half of the nearest scaling the parametrizations of
// Tensor Programs IV/V give an update besides Θ(1), n^{±1/2} (the standard parametrization's
// logits even grow as n^1); μP's own finite-width corrections are O(n^-1/2) relative to the
// Θ(1) update. (The outputs themselves are reported too but not checked: μP's logits start at
// O(n^-1/2) and only their update is Θ(1).)
//
//   auto cc = torchinit::coordcheck("gpt(vocab=64, context=16, width={width}, depth=2, heads=2)",
//                                   torchinit::Plan::parse("... = normal(std=0.02)"),
//                                   torchinit::CoordCheckOptions().base_width(64));
//   cc.passed();   std::cout << cc.table();
#pragma once

#include <torch/arg.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "torchinit/parametrization.h"
#include "torchinit/plan.h"

namespace torch::nn {
class AnyModule;
}  // namespace torch::nn

namespace torchinit {

struct CoordCheckOptions {
  TORCH_ARG(std::vector<int64_t>, widths) = std::vector<int64_t>({64, 128, 256, 512, 1024});
  // The μP base model's width; 0: the smallest of `widths`.
  TORCH_ARG(int64_t, base_width) = 0;
  // true: μP (Parametrization::mup, param_groups); false: the standard parametrization (the plan
  // at every width, one learning rate).
  TORCH_ARG(bool, mup) = true;
  TORCH_ARG(int64_t, steps) = 3;   // Adam steps
  TORCH_ARG(int64_t, seeds) = 3;   // replicates per width
  TORCH_ARG(int64_t, batch) = 32;  // examples (sequences for a language model)
  TORCH_ARG(double, lr) = 1e-2;    // Adam's learning rate (the base model's under μP)
  TORCH_ARG(uint64_t, seed) = 0;   // init and data of replicate s use seed + s
  TORCH_ARG(double, alpha) = 0.01;
  TORCH_ARG(double, band) = 0.25;
  // Called before each (width, seed) run, after the options are validated: progress output.
  TORCH_ARG(std::function<void(int64_t width, int64_t seed)>, progress) = nullptr;
};

struct CoordLayer {
  std::string path, type;            // as the probe records them (nn/probe.h)
  int64_t step = 0;                  // 1 … steps
  std::vector<double> rms;           // per width: RMS(x_t), mean over seeds
  std::vector<double> update;        // per width: RMS(x_t - x_0), mean over seeds
  double slope = 0, lo = 0, hi = 0;  // of log2 update vs log2 width, and its interval
  // The parametrization's slope: 0 (Θ(1)), except u-μP's embedding, -1/2 (its lr is η/√d).
  double predicted = 0;
  std::string verdict;  // flat (within band of predicted), grows, shrinks or inconclusive
  bool flat() const { return verdict == "flat"; }
};

class CoordCheck {
 public:
  bool passed() const;
  const std::vector<int64_t>& widths() const { return widths_; }
  const std::vector<CoordLayer>& layers() const { return layers_; }
  // The layers that are not flat, "path (step t): grows: slope b [lo, hi] …", one per line.
  std::string failures() const;
  std::string table() const;
  std::string json() const;

  std::string parametrization;  // "mup(optimizer=adam)" or "standard"
  double alpha = 0, band = 0;
  std::vector<int64_t> widths_;
  std::vector<CoordLayer> layers_;
};

// `model(width)` builds the architecture at a width. It must take token ids (GPT), images (ViT)
// or features (MLP); c10::Error otherwise, and for widths that are not ascending and > 0, a base
// width above the smallest width, steps, seeds or batch < 1, lr <= 0, alpha outside (0, 1) or
// band <= 0, before any work.
CoordCheck coordcheck(const std::function<torch::nn::AnyModule(int64_t)>& model, const Plan& plan,
                      const CoordCheckOptions& options = {});
// The model from a spec with `{width}` where the width goes: "mlp(in=32, hidden=[{width},
// {width}], out=10)".
CoordCheck coordcheck(std::string_view model_spec, const Plan& plan,
                      const CoordCheckOptions& options = {});
// Under a parametrization applied as it is at every width (u-μP, which needs no base model:
// Parametrization::u_mup(); or a μP built against a base of the smallest width), with its
// param_groups; options.mup() and base_width() are not used.
CoordCheck coordcheck(const std::function<torch::nn::AnyModule(int64_t)>& model,
                      const Parametrization& parametrization,
                      const CoordCheckOptions& options = {});
CoordCheck coordcheck(std::string_view model_spec, const Parametrization& parametrization,
                      const CoordCheckOptions& options = {});

}  // namespace torchinit
