// The experiments behind `torchinit propagate --sweep` and `torchinit demo`: the depth sweep,
// its SVG, and the training loop (on synthetic data: the unit suite does not need the dataset).
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>
#include <c10/util/Exception.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "signal/depth_sweep.h"
#include "signal/svg_plot.h"
#include "signal/training.h"

namespace torchinit {
namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(DepthSweep, ReproducesTheLiteratureAtSmallScale) {
  DepthSweepOptions o;
  o.depth = 12, o.width = 128, o.batch = 256, o.seed = 3;
  const DepthSweep s = depth_sweep(o);
  ASSERT_EQ(s.curves.size(), 10u);
  for (const SweepCurve& c : s.curves) {
    ASSERT_EQ(c.measured_std.size(), 12u);
    EXPECT_TRUE(c.agrees) << c.activation << " " << c.init;
    if (c.init == "N(0,1)") {
      EXPECT_EQ(c.verdict, "exploding") << c.activation;
    }
    if (c.activation == "relu" && c.init == "xavier") {
      EXPECT_EQ(c.verdict, "vanishing");
      // std halves every two layers: predicted std ratio 2^(-1/2) per layer.
      EXPECT_NEAR(c.predicted_std[11] / c.predicted_std[0], std::pow(2.0, -5.5), 1e-12);
    }
    if (c.activation == "relu" && (c.init == "kaiming" || c.init == "orthogonal")) {
      EXPECT_EQ(c.verdict, "stable") << s.table();
    }
  }
  const std::string svg = s.svg();
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(count(svg, "<polyline"), 20u + 2u);  // measured + predicted per curve, 2 legend keys
  EXPECT_THAT(svg, ::testing::HasSubstr(">kaiming</text>"));
  EXPECT_THAT(svg, ::testing::HasSubstr("(log scale)"));
  EXPECT_THAT(s.json(), ::testing::HasSubstr("\"predicted_std\""));
}

TEST(SvgPlot, SkipsValuesALogAxisCannotShow) {
  svg::Panel p{"t", "x", "y", true, 1e-30, 1e30, {}};
  p.series.push_back({"s", {1, 2, 3, 4}, {1, 0, NAN, 1e40}, "", false, true, true});
  const std::string svg = svg::figure("title <&>", {p});
  EXPECT_EQ(count(svg, "<circle"), 2u);  // the point at y = 1 and its legend key
  EXPECT_THAT(svg, ::testing::HasSubstr("title &lt;&amp;&gt;"));
}

TEST(Training, KaimingLowersTheLossOnSeparableData) {
  // Two Gaussian classes in 20 dimensions, separated along one axis.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const at::Tensor y = at::randint(0, 2, {2048}, gen);
  at::Tensor x = at::randn({2048, 20}, gen);
  x.select(1, 0).add_(y.to(at::kFloat).mul(4).sub(2));
  Dataset d{x, y, x.narrow(0, 0, 512), y.narrow(0, 0, 512)};
  TrainOptions o;
  o.depth = 4, o.width = 32, o.steps = 60, o.batch = 64, o.log_every = 10;
  int64_t calls = 0;
  const TrainRun r = train_mlp(d, o, [&](int64_t) { ++calls; });
  EXPECT_EQ(calls, 60);
  ASSERT_EQ(r.losses.size(), 6u);
  EXPECT_LT(r.losses.back(), 0.5 * r.losses.front());
  // Bayes accuracy is Phi(2) = 97.7%; a trained net gets well above chance.
  EXPECT_GT(r.test_accuracy, 0.9);
}

TEST(Training, MissingDatasetSaysHowToGetIt) {
  try {
    load_fashion_mnist(::testing::TempDir(), "/nonexistent/fashion-mnist");
    FAIL() << "expected c10::Error";
  } catch (const c10::Error& e) {
    EXPECT_THAT(e.what_without_backtrace(),
                ::testing::HasSubstr("apt-get install dataset-fashion-mnist"));
  }
}

}  // namespace
}  // namespace torchinit
