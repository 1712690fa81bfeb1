#include "signal/training.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/data/datasets/mnist.h>
#include <torch/optim/sgd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "torchinit/nn/mlp.h"
#include "torchinit/plan.h"

namespace torchinit {
namespace fs = std::filesystem;

namespace {

// `text` in single quotes for sh, its own single quotes escaped.
std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

Dataset load_fashion_mnist(const std::string& work_dir, const std::string& source) {
  const fs::path dir = fs::path(work_dir) / "fashion-mnist";
  const char* const names[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
  std::error_code ec;
  // Every file is there, decompressed or compressed, before anything is written.
  for (const char* name : names) {
    if (fs::exists(dir / name, ec)) continue;
    const fs::path gz = fs::path(source) / (std::string(name) + ".gz");
    TORCH_CHECK(fs::exists(gz, ec), "torchinit::load_fashion_mnist: expected ", gz.string(),
                " (missing). Install Debian's package: apt-get install dataset-fashion-mnist, or "
                "put the four Fashion-MNIST IDX .gz files in ",
                source);
  }
  fs::create_directories(dir, ec);
  TORCH_CHECK(!ec, "torchinit::load_fashion_mnist: cannot create the folder ", dir.string(), ": ",
              ec.message(), "; pass a work folder you can write");
  for (const char* name : names) {
    const fs::path out = dir / name;
    if (fs::exists(out, ec)) continue;
    const fs::path gz = fs::path(source) / (std::string(name) + ".gz");
    const std::string part = shell_quoted(out.string() + ".part");
    const std::string cmd = "gzip -dc " + shell_quoted(gz.string()) + " > " + part + " && mv " +
                            part + " " + shell_quoted(out.string());
    TORCH_CHECK(std::system(cmd.c_str()) == 0, "torchinit::load_fashion_mnist: could not ",
                "decompress ", gz.string(), " into ", dir.string(), " (needs gzip)");
  }
  namespace ds = torch::data::datasets;
  const ds::MNIST train(dir.string(), ds::MNIST::Mode::kTrain);
  const ds::MNIST test(dir.string(), ds::MNIST::Mode::kTest);
  // Fashion-MNIST pixel mean and std (training set), so inputs have unit variance.
  auto prep = [](const at::Tensor& x) { return ((x - 0.2860) / 0.3530).reshape({x.size(0), -1}); };
  return {prep(train.images()), train.targets(), prep(test.images()), test.targets()};
}

TrainRun train_mlp(const Dataset& data, const TrainOptions& o,
                   const std::function<void(int64_t)>& progress) {
  TORCH_CHECK(o.depth >= 1 && o.width >= 1 && o.steps >= 1 && o.batch >= 1 && o.log_every >= 1,
              "torchinit::train_mlp: expected depth, width, steps, batch and log_every >= 1 (got ",
              o.depth, ", ", o.width, ", ", o.steps, ", ", o.batch, ", ", o.log_every, ")");
  TORCH_CHECK(o.depth <= kMaxTrainDepth && o.width <= kMaxTrainWidth,
              "torchinit::train_mlp: expected depth <= ", kMaxTrainDepth,
              " and width <= ", kMaxTrainWidth, " (got ", o.depth, " and ", o.width, ")");
  TORCH_CHECK(std::isfinite(o.learning_rate) && o.learning_rate > 0 && std::isfinite(o.momentum) &&
                  o.momentum >= 0 && o.momentum < 1,
              "torchinit::train_mlp: expected a learning rate > 0 and a momentum in [0, 1) (got ",
              o.learning_rate, " and ", o.momentum, ")");
  TORCH_CHECK(data.train_x.defined() && data.train_x.dim() == 2 && data.train_x.size(0) > 0 &&
                  data.train_y.defined() && data.train_y.dim() == 1 &&
                  data.train_y.size(0) == data.train_x.size(0) && data.test_x.defined() &&
                  data.test_x.dim() == 2 && data.test_x.size(1) == data.train_x.size(1) &&
                  data.test_y.defined() && data.test_y.dim() == 1 &&
                  data.test_y.size(0) == data.test_x.size(0),
              "torchinit::train_mlp: expected x [N, features] and y [N] for the training and the "
              "test set, with the same features (load_fashion_mnist gives them)");
  const auto start = std::chrono::steady_clock::now();
  TrainRun run;
  run.options = o;
  const int64_t features = data.train_x.size(1);
  const int64_t classes = data.train_y.max().item<int64_t>() + 1;
  nn::MLP mlp(nn::MLPOptions(features, std::vector<int64_t>(o.depth - 1, o.width), classes));
  Plan()
      .rule(":weight", o.weight_spec)
      .rule(":bias", "zeros")
      .apply(*mlp, ApplyOptions().seed(o.seed));
  torch::optim::SGD sgd(mlp->parameters(),
                        torch::optim::SGDOptions(o.learning_rate).momentum(o.momentum));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  const int64_t n = data.train_x.size(0);
  at::Tensor order = at::randperm(n, gen);
  int64_t cursor = 0;
  double window = 0;
  std::vector<double> all;
  for (int64_t step = 1; step <= o.steps; ++step) {
    if (cursor + o.batch > n) order = at::randperm(n, gen), cursor = 0;
    const at::Tensor idx = order.narrow(0, cursor, std::min(o.batch, n));
    cursor += o.batch;
    const at::Tensor logits = mlp->forward(data.train_x.index_select(0, idx));
    const at::Tensor loss =
        at::nll_loss(at::log_softmax(logits, 1), data.train_y.index_select(0, idx));
    sgd.zero_grad();
    loss.backward();
    sgd.step();
    const double l = loss.item<double>();
    all.push_back(l);
    window += l;
    if (step % o.log_every == 0) {
      run.steps.push_back(static_cast<double>(step));
      run.losses.push_back(window / static_cast<double>(o.log_every));
      window = 0;
    }
    if (progress) progress(step);
  }
  const size_t tail = std::max<size_t>(1, all.size() / 10);
  double sum = 0;
  for (size_t i = all.size() - tail; i < all.size(); ++i) sum += all[i];
  run.final_loss = sum / static_cast<double>(tail);
  torch::NoGradGuard no_grad;
  const at::Tensor pred = mlp->forward(data.test_x).argmax(1);
  run.test_accuracy = pred.eq(data.test_y).to(at::kDouble).mean().item<double>();
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

}  // namespace torchinit
