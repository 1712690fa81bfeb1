// The pre-LN residual recursion (residual_stream.h) against GPT under the depth presets: every
// point within the finite-width bound, the shapes the theory gives (linear growth unscaled,
// constant under GPT-2's 1/√(2L)), and bad input.
#include "torchinit/residual_stream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <string>

#include "signal/residual_sweep.h"
#include "test_util.h"
#include "torchinit/nn/gpt.h"
#include "torchinit/nn/mlp.h"
#include "torchinit/plan.h"

namespace torchinit {
namespace {

using ::testing::HasSubstr;
using torchinit::testutil::error_of;

constexpr int64_t kStreamWidth = 512;
const std::vector<int64_t> kDepths = {1, 4, 16};
const std::vector<std::string> kPresets = {"unscaled", "gpt2", "megatron_depth", "gpt_neox",
                                           "olmo_mitchell"};

// One-token batches share the position row, so each branch's measured second moment is a
// quadratic form of fixed random weights in a fixed direction: relative spread at most √(2/d)
// (a chi-square with d degrees of freedom). Bound on |ln(measured/predicted)| at family-wise
// alpha 0.01, Bonferroni over every point of every (preset, depth).
double bound() {
  double points = 0;
  for (int64_t depth : kDepths) points += double(depth + 1) * double(kPresets.size());
  const double z =
      boost::math::quantile(boost::math::complement(boost::math::normal(), 0.01 / points / 2));
  return z * std::sqrt(2.0 / double(kStreamWidth));
}

const ResidualSweep& sweep() {
  static const ResidualSweep s = [] {
    ResidualSweepOptions o;
    o.width = kStreamWidth;
    o.depths = kDepths;
    o.presets = kPresets;
    return residual_sweep(o);
  }();
  return s;
}

const ResidualSweepRow& row(const std::string& preset, int64_t depth) {
  for (const auto& r : sweep().rows)
    if (r.preset == preset && r.depth == depth) return r;
  throw std::runtime_error("no row");
}

TEST(ResidualStream, MeasuredMatchesTheRecursionAtEveryBlock) {
  for (const auto& r : sweep().rows)
    EXPECT_LE(r.max_log_ratio, bound()) << r.preset << " depth " << r.depth << "\n"
                                        << sweep().table();
}

TEST(ResidualStream, UnscaledGrowsLinearlyAndGpt2StaysPut) {
  // Theory, exactly: unscaled q_L - q_0 = L (a + m); GPT-2 adds (a + m) / 2 at every depth.
  const double q0 = 2 * 0.02 * 0.02;
  const double unit = row("unscaled", 1).predicted - q0;
  EXPECT_NEAR(row("unscaled", 16).predicted - q0, 16 * unit, 1e-12);
  EXPECT_NEAR(row("gpt2", 16).predicted, row("gpt2", 1).predicted, 1e-12);
  EXPECT_NEAR(row("gpt2", 1).predicted - q0, unit / 2, 1e-12);
  // Measured, within the bound on each end of the ratio.
  const double b = bound();
  const double unscaled = row("unscaled", 16).measured / row("unscaled", 4).measured;
  const double unscaled_theory = row("unscaled", 16).predicted / row("unscaled", 4).predicted;
  EXPECT_NEAR(std::log(unscaled), std::log(unscaled_theory), 2 * b);
  EXPECT_GT(unscaled, 3);  // q_16 / q_4 ≈ 4: linear in depth
  EXPECT_NEAR(std::log(row("gpt2", 16).measured / row("gpt2", 1).measured), 0, 2 * b);
  // Per-block schemes grow slower than linearly; wang_init's 1/L² variance makes it shrink.
  EXPECT_LT(row("megatron_depth", 16).predicted / row("megatron_depth", 4).predicted, 2);
  EXPECT_LT(row("gpt_neox", 16).predicted, row("gpt_neox", 4).predicted);
}

TEST(ResidualStream, BadInputNamesWhatIsMissing) {
  nn::MLP mlp(nn::MLPOptions(8, {8}, 2));
  const Report mlp_rep = Plan::preset("he").apply(*mlp);
  EXPECT_THAT(error_of([&] { residual_stream(*mlp, mlp_rep); }),
              HasSubstr("expected a torchinit::nn::GPT"));
  nn::GPT gpt(nn::GPTOptions(32, 1, 16, 1, 2));
  const Report shifted = Plan::parse(
                             ":norm_scale = ones\n:norm_shift = zeros\n:bias = zeros\n"
                             "* = normal(mean=0.1, std=0.02)")
                             .apply(*gpt);
  EXPECT_THAT(error_of([&] { residual_stream(*gpt, shifted); }),
              HasSubstr("tok_emb.weight has mean 0.1"));
  const Report partial =
      Plan::parse("*.weight = normal(std=0.02)").apply(*gpt, ApplyOptions().strict(false));
  EXPECT_THAT(error_of([&] { residual_stream(*gpt, partial); }),
              HasSubstr("the report has no spec for"));
  EXPECT_THAT(error_of([&] {
                ResidualSweepOptions o;
                o.presets = {"gpt3"};
                residual_sweep(o);
              }),
              HasSubstr("unknown preset 'gpt3'"));
}

}  // namespace
}  // namespace torchinit
