// The learning-rate transfer experiment (signal/lr_transfer.h) on a small synthetic dataset: at
// the base width μP is the standard parametrization (the same losses to the bit), every run is
// there and the best learning rates come from the losses; bad arguments fail before any work.
// (The experiment itself, on Fashion-MNIST, is `torchinit demo --mup`: docs/parametrizations.md.)
#include "signal/lr_transfer.h"

#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"

namespace torchinit {
namespace {

using ::testing::HasSubstr;
using torchinit::testutil::error_of;

Dataset synthetic(int64_t n) {
  at::manual_seed(3);
  return {at::randn({n, 784}), at::randint(10, {n}, at::kLong), at::randn({8, 784}),
          at::randint(10, {8}, at::kLong)};
}

TEST(LrTransfer, MupIsStandardAtTheBaseWidthAndBestLrComesFromTheLosses) {
  LrTransferOptions o;
  o.widths = {16, 64};
  o.log2_lrs = {-10, -7, -4};
  o.steps = 10;
  o.batch = 16;
  int calls = 0;
  const LrTransfer t = lr_transfer(synthetic(256), o, [&](int done, int total) {
    EXPECT_EQ(total, 12);
    EXPECT_EQ(done, ++calls);
  });
  ASSERT_EQ(t.runs.size(), 12u);
  for (size_t i = 0; i < 3; ++i) {  // standard then mup, width 16 first
    EXPECT_EQ(t.runs[i].width, 16);
    EXPECT_EQ(t.runs[6 + i].parametrization, "mup");
    EXPECT_EQ(t.runs[i].loss, t.runs[6 + i].loss) << "log2 lr " << t.runs[i].log2_lr;
  }
  for (const char* p : {"standard", "mup"}) {
    double best = t.best_log2_lr(p, 64), min = INFINITY;
    for (const auto& r : t.runs)
      if (r.parametrization == p && r.width == 64 && r.loss < min) min = r.loss;
    for (const auto& r : t.runs)
      if (r.parametrization == p && r.width == 64 && r.loss == min) {
        EXPECT_EQ(r.log2_lr, best);
      }
  }
  EXPECT_THAT(t.table(), HasSubstr("the best learning rate moves by"));
  EXPECT_THAT(t.json(), HasSubstr("\"best_log2_lr\""));
  EXPECT_THAT(t.svg(), HasSubstr("<svg"));
}

TEST(LrTransfer, BadArgumentsFailFirst) {
  const Dataset d = synthetic(64);
  LrTransferOptions o;
  o.model = "resnet";
  EXPECT_THAT(error_of([&] { lr_transfer(d, o); }), HasSubstr("model must be mlp or vit"));
  o.model = "vit";
  o.widths = {64, 30};
  EXPECT_THAT(error_of([&] { lr_transfer(d, o); }), HasSubstr("ascending multiples of 4"));
  o.widths = {16};
  o.log2_lrs = {};
  EXPECT_THAT(error_of([&] { lr_transfer(d, o); }), HasSubstr("expected widths, log2"));
}

}  // namespace
}  // namespace torchinit
