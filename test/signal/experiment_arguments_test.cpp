// The experiments behind `torchinit propagate` and `torchinit demo` check their arguments: a
// depth of 0 used to crash the depth sweep (SIGSEGV) and a negative one escaped as
// std::length_error. Every bad argument is a c10::Error naming the function and the value,
// thrown before any work.
#include <ATen/Functions.h>
#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "signal/depth_sweep.h"
#include "signal/training.h"
#include "test_util.h"
#include "torchinit/nn/mlp.h"
#include "torchinit/plan.h"
#include "torchinit/propagation.h"

namespace torchinit {
namespace {

using testutil::ContainsAll;
using testutil::error_of;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

DepthSweepOptions sweep(int64_t depth, int64_t width, int64_t batch) {
  DepthSweepOptions o;
  o.depth = depth, o.width = width, o.batch = batch;
  return o;
}

TEST(ExperimentArguments, DepthSweepRejectsSizesOutsideItsBounds) {
  const int64_t big = std::numeric_limits<int64_t>::max();
  const struct {
    DepthSweepOptions options;
    const char* expected;
  } cases[] = {
      {sweep(0, 8, 8), "expected depth in [1, 10000], got 0"},
      {sweep(-5, 8, 8), "expected depth in [1, 10000], got -5"},
      {sweep(big, 8, 8), "expected depth in [1, 10000], got 9223372036854775807"},
      {sweep(2, 0, 8), "expected width in [1, 65536], got 0"},
      {sweep(2, -1, 8), "expected width in [1, 65536], got -1"},
      {sweep(2, 8, 0), "expected batch in [1, 1048576], got 0"},
  };
  for (const auto& c : cases) {
    int calls = 0;
    EXPECT_TRUE(ContainsAll(error_of([&] { depth_sweep(c.options, [&](int, int) { ++calls; }); }),
                            {"torchinit::depth_sweep: ", c.expected}));
    EXPECT_EQ(calls, 0) << c.expected;  // nothing ran
  }
}

TEST(ExperimentArguments, DepthSweepRejectsMissingOrUnknownActivations) {
  DepthSweepOptions o = sweep(2, 8, 8);
  o.activations = {};
  EXPECT_TRUE(
      ContainsAll(error_of([&] { depth_sweep(o); }), {"torchinit::depth_sweep: no activations"}));
  // An unknown activation fails before the first network (relu) is measured.
  o.activations = {"relu", "bogus"};
  int calls = 0;
  EXPECT_FALSE(error_of([&] { depth_sweep(o, [&](int, int) { ++calls; }); }).empty());
  EXPECT_EQ(calls, 0);
}

TEST(ExperimentArguments, DepthSweepAtDepthOneWorks) {
  const DepthSweep s = depth_sweep(sweep(1, 8, 16));
  ASSERT_EQ(s.curves.size(), 10u);
  for (const SweepCurve& c : s.curves) EXPECT_EQ(c.measured_std.size(), 1u);
  EXPECT_FALSE(s.table().empty());
}

TEST(ExperimentArguments, DepthSweepMemoryEstimateGrowsWithTheSizes) {
  // 4 bytes x (depth + 1) x (width (width + 1) + 4 batch width).
  EXPECT_DOUBLE_EQ(depth_sweep_bytes(sweep(1, 2, 3)), 4.0 * 2 * (2 * 3 + 4 * 3 * 2));
  EXPECT_GT(depth_sweep_bytes(sweep(10'000, 65'536, 1)), 1e14);
}

Dataset tiny_data() {  // no training happens: every case fails first
  const at::Tensor x = at::ones({16, 4});
  const at::Tensor y = at::zeros({16}, at::kLong);
  return {x, y, x, y};
}

TEST(ExperimentArguments, TrainMlpRejectsBadOptionsAndData) {
  const Dataset data = tiny_data();
  const auto error = [&](const TrainOptions& o, const Dataset& d) {
    return error_of([&] { train_mlp(d, o); });
  };
  TrainOptions o;
  o.depth = 0;
  EXPECT_TRUE(ContainsAll(error(o, data), {"torchinit::train_mlp: expected depth", "(got 0,"}));
  o = {};
  o.depth = 20'000;
  EXPECT_TRUE(ContainsAll(error(o, data), {"torchinit::train_mlp: expected depth <= 10000"}));
  for (const double lr : {0.0, -1.0, kNan, kInf}) {
    o = {};
    o.learning_rate = lr;
    EXPECT_TRUE(ContainsAll(error(o, data), {"torchinit::train_mlp: expected a learning rate > 0"}))
        << lr;
  }
  for (const double momentum : {-0.1, 1.0, kNan}) {
    o = {};
    o.momentum = momentum;
    EXPECT_TRUE(ContainsAll(error(o, data), {"momentum in [0, 1)"})) << momentum;
  }
  Dataset mismatched = data;
  mismatched.train_y = data.train_y.narrow(0, 0, 8);
  EXPECT_TRUE(
      ContainsAll(error({}, mismatched), {"torchinit::train_mlp: expected x [N, features]"}));
  Dataset other_features = data;
  other_features.test_x = at::ones({16, 5});
  EXPECT_TRUE(ContainsAll(error({}, other_features), {"the same features"}));
  EXPECT_TRUE(
      ContainsAll(error({}, Dataset{}), {"torchinit::train_mlp: expected x [N, features]"}));
}

TEST(ExperimentArguments, LoadFashionMnistCannotCreateItsFolder) {
  // Four (empty) .gz files make the source complete; the work folder cannot be created. This
  // used to escape as std::filesystem::filesystem_error.
  const std::string source = ::testing::TempDir() + "/torchinit_fashion_source";
  std::filesystem::create_directories(source);
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    std::ofstream(source + "/" + name + ".gz");
  EXPECT_TRUE(ContainsAll(error_of([&] { load_fashion_mnist("/dev/null/work", source); }),
                          {"torchinit::load_fashion_mnist: cannot create the folder",
                           "/dev/null/work/fashion-mnist", "pass a work folder you can write"}));
  std::filesystem::remove_all(source);
}

TEST(ExperimentArguments, LoadFashionMnistChecksItsSourceBeforeWriting) {
  const std::string work = ::testing::TempDir() + "/torchinit_fashion_work";
  std::filesystem::remove_all(work);
  EXPECT_TRUE(ContainsAll(error_of([&] { load_fashion_mnist(work, "/nonexistent/fashion"); }),
                          {"expected /nonexistent/fashion/train-images-idx3-ubyte.gz (missing)"}));
  EXPECT_FALSE(std::filesystem::exists(work));  // nothing created
}

TEST(ExperimentArguments, LoadFashionMnistQuotesPathsForTheShell) {
  // A quote in a path used to end the shell's quoting: gzip then read another file.
  const std::string source = ::testing::TempDir() + "/torchinit_it's_source";
  const std::string work = ::testing::TempDir() + "/torchinit_it's_work";
  std::filesystem::create_directories(source);
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    ASSERT_EQ(std::system(("printf 'not idx' | gzip > \"" + source + "/" + name + ".gz\"").c_str()),
              0);
  // The files decompress (then fail as IDX data: they are not Fashion-MNIST).
  (void)error_of([&] { load_fashion_mnist(work, source); });
  std::ifstream decompressed(work + "/fashion-mnist/train-images-idx3-ubyte");
  std::string text;
  std::getline(decompressed, text);
  EXPECT_EQ(text, "not idx");
  std::filesystem::remove_all(source);
  std::filesystem::remove_all(work);
}

TEST(ExperimentArguments, PropagateChecksItsOptionsBeforeRunning) {
  nn::MLP mlp(nn::MLPOptions(8, {8}, 2));
  const Report rep = Plan::preset("he").apply(*mlp, ApplyOptions().seed(1));
  for (const double tol : {0.0, -1.0, kNan, kInf}) {
    // torchinit::diagnose used to refuse it, after the forward and backward passes.
    EXPECT_TRUE(
        ContainsAll(error_of([&] {
                      propagate(*mlp, rep, {4, 8}, PropagationOptions().growth_tolerance(tol));
                    }),
                    {"torchinit::propagate: expected a growth tolerance > 0"}))
        << tol;
  }
  EXPECT_TRUE(ContainsAll(error_of([&] {
                            propagate(*mlp, rep, {int64_t{1} << 32, int64_t{1} << 32, 8});
                          }),
                          {"torchinit::propagate: the input shape [4294967296, 4294967296, 8]",
                           "more elements than int64 holds"}));
  EXPECT_TRUE(ContainsAll(error_of([&] {
                            propagate(*mlp, rep, {4, 8}, PropagationOptions().alpha(kNan));
                          }),
                          {"torchinit::propagate: expected alpha in (0, 1)"}));
}

}  // namespace
}  // namespace torchinit
