// The training comparison (He et al. 2015, Figs. 2-3, with MLPs): deep ReLU MLPs trained with
// SGD for a fixed budget under xavier vs kaiming, on Fashion-MNIST from Debian's
// dataset-fashion-mnist package. Used by `torchinit demo --train`.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace torchinit {

struct Dataset {
  at::Tensor train_x, train_y, test_x, test_y;  // x: [N, 784] float, standardized; y: [N] int64
};

// Where the package installs the gzip'd IDX files.
inline const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Decompresses the four IDX files from `source` into `work_dir` (once) and reads them with
// LibTorch's MNIST reader. c10::Error naming the missing file and how to get it
// (`apt-get install dataset-fashion-mnist`) when they are not there.
Dataset load_fashion_mnist(const std::string& work_dir,
                           const std::string& source = kFashionMnistDir);

struct TrainOptions {
  int64_t depth = 30;   // Linear layers
  int64_t width = 128;  // hidden width
  std::string weight_spec = "kaiming_normal(nonlinearity=relu)";
  int64_t steps = 400, batch = 128;
  double learning_rate = 0.01, momentum = 0.9;
  uint64_t seed = 1;       // init and batch order
  int64_t log_every = 10;  // steps per point of the loss curve
};

struct TrainRun {
  TrainOptions options;
  std::vector<double> steps, losses;  // loss curve: mean training loss of each log_every steps
  double final_loss = 0;              // mean loss of the last 10% of steps
  double test_accuracy = 0;
  double seconds = 0;
};

// The sizes train_mlp accepts, as the depth sweep's.
constexpr int64_t kMaxTrainDepth = 10'000;
constexpr int64_t kMaxTrainWidth = 65'536;

// Trains an MLP (ReLU, zero biases, weights from `weight_spec`) with SGD + momentum on
// cross-entropy. `progress(step)` after every step. c10::Error, before any work, for sizes
// outside [1, kMaxTrain*] (steps, batch, log_every >= 1), a learning rate <= 0, a momentum
// outside [0, 1), or data that is not x [N, features] with labels y [N].
TrainRun train_mlp(const Dataset& data, const TrainOptions& options,
                   const std::function<void(int64_t)>& progress = {});

}  // namespace torchinit
