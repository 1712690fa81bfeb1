// The learning-rate transfer experiment (Yang et al., Tensor Programs V, 2022, Fig. 1 and Sec. 6,
// at small scale): the same architecture at several widths, trained with Adam on Fashion-MNIST
// for a fixed budget over a sweep of log2 learning rates, under the standard parametrization
// (LibTorch's default init, one learning rate) and under μP (Parametrization::mup against the
// smallest width, param_groups). μP predicts that the best learning rate does not move with
// width; under the standard parametrization it shifts (down, for Adam). Used by
// `torchinit demo --mup`.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "signal/training.h"

namespace torchinit {

struct LrTransferOptions {
  // The model at a width: "mlp" (784 → w → w → 10, ReLU) or "vit" (28×28 images, 7×7 patches,
  // depth 2, 4 heads, MLP ratio 2).
  std::string model = "mlp";
  std::vector<int64_t> widths = {64, 128, 256, 512, 1024};
  std::vector<double> log2_lrs = {-14, -13, -12, -11, -10, -9, -8, -7, -6, -5};
  int64_t steps = 150, batch = 64;
  uint64_t seed = 1;  // init and batch order, the same for every run
};

struct LrTransferRun {
  std::string parametrization;  // "standard" or "mup"
  int64_t width = 0;
  double log2_lr = 0;
  double loss = 0;  // mean training loss of the last 20% of steps; NaN when training diverged
};

struct LrTransfer {
  LrTransferOptions options;
  std::vector<LrTransferRun> runs;
  double seconds = 0;

  // The log2 learning rate with the lowest loss at a width (NaN when every run diverged).
  double best_log2_lr(const std::string& parametrization, int64_t width) const;
  // Best log2 lr at the largest width minus at the smallest.
  double shift(const std::string& parametrization) const;
  std::string table() const;
  std::string json() const;
  // Two panels (standard, μP): loss against log2 lr, a line per width.
  std::string svg() const;
};

// c10::Error, before any work, for an unknown model, widths not ascending and > 0, an empty lr
// sweep, or steps or batch < 1. `progress(done, total)` after every run.
LrTransfer lr_transfer(const Dataset& data, const LrTransferOptions& options,
                       const std::function<void(int, int)>& progress = {});

}  // namespace torchinit
