// The depth-sweep experiment (Glorot & Bengio 2010; He et al. 2015): per-layer pre-activation
// std of deep MLPs under the classic inits, measured on an N(0, 1) batch and predicted by
// mean-field theory (propagation.h). Used by `torchinit propagate --sweep` and `torchinit demo`.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "signal/svg_plot.h"

namespace torchinit {

struct SweepCurve {
  std::string activation;  // relu, tanh
  std::string init;        // short name: "N(0,1)", "standard", "xavier", "kaiming", "orthogonal"
  std::string spec;        // the weight spec
  std::vector<double> measured_std, predicted_std;  // per hidden layer (1..depth)
  std::string verdict;
  // The first layer whose measured second moment is not finite: float32 overflowed there (an
  // exploding net); depth + 1 is the output layer. 0 when none did.
  int64_t overflow_layer = 0;
  // Per-layer growth of the variance, forward (Propagation::forward_growth over the layers before
  // an overflow) and backward (Propagation::backward_growth; NaN after an overflow: the gradients
  // come back through the overflowed layers, whose NaNs ReLU's backward lets through unmasked).
  double forward_growth = 0, backward_growth = 0;
  bool agrees = false;  // every layer before an overflow agrees with theory (propagation.h)
};

struct DepthSweep {
  int64_t depth = 0, width = 0, batch = 0;
  uint64_t seed = 0;
  std::vector<SweepCurve> curves;
  std::string table() const;
  std::string json() const;
  // One panel per activation: measured std as hollow circles, mean-field predictions as dashed
  // lines drawn over them. A measured curve stops before its overflow, with a note.
  std::string svg() const;
};

struct DepthSweepOptions {
  int64_t depth = 50, width = 256, batch = 256;
  uint64_t seed = 1;
  std::vector<std::string> activations = {"relu", "tanh"};
};

// The sizes depth_sweep accepts (c10::Error outside [1, max]). The papers' sweeps stop at 100
// layers; the caps keep every size product far inside int64.
constexpr int64_t kMaxSweepDepth = 10'000;
constexpr int64_t kMaxSweepWidth = 65'536;
constexpr int64_t kMaxSweepBatch = 1 << 20;

// Estimated peak memory of one network of the sweep in bytes: float32 weights and biases, and
// the activations and gradients the forward and backward passes keep (the networks are built one
// at a time).
double depth_sweep_bytes(const DepthSweepOptions& options);

// The (init name, weight spec) pairs of the sweep for an activation.
std::vector<std::pair<std::string, std::string>> sweep_inits(const std::string& activation);

// Runs every (activation, init) pair; `progress(done, total)` after each. c10::Error, before any
// work, for a depth, width or batch outside [1, kMaxSweep*] or no activations.
DepthSweep depth_sweep(const DepthSweepOptions& options,
                       const std::function<void(int, int)>& progress = {});

}  // namespace torchinit
