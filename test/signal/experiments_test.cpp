// The experiments behind `torchinit propagate --sweep` and `torchinit demo`: the depth sweep,
// its SVG, and the training loop (on synthetic data: the unit suite does not need the dataset).
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <sstream>

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

// The texts of the elements of `svg` with this class attribute, in order.
std::vector<std::string> texts_of_class(const std::string& svg, const std::string& cls) {
  std::vector<std::string> out;
  const std::regex element("class=\"" + cls + "\"[^>]*>([^<]*)<");
  for (std::sregex_iterator it(svg.begin(), svg.end(), element), end; it != end; ++it)
    out.push_back((*it)[1]);
  return out;
}

// The numeric labels of a one-panel figure: y ticks (text-anchor end), then x ticks (middle).
std::pair<std::vector<std::string>, std::vector<std::string>> tick_labels(const std::string& svg) {
  std::pair<std::vector<std::string>, std::vector<std::string>> out;
  const std::regex tick("<text[^>]*text-anchor=\"(end|middle)\">(-?[0-9][-+.e0-9]*)</text>");
  for (std::sregex_iterator it(svg.begin(), svg.end(), tick), end; it != end; ++it)
    ((*it)[1] == "end" ? out.first : out.second).push_back((*it)[2]);
  return out;
}

bool is_one_two_or_five_times_a_power_of_ten(double step) {
  const double mantissa = step / std::pow(10.0, std::floor(std::log10(step)));
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (std::abs(mantissa - m) < 1e-9 * m) return true;
  return false;
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

TEST(SvgPlot, TicksAreMultiplesOfOneTwoOrFiveTimesAPowerOfTenAndCoverTheData) {
  struct Range {
    double lo, hi;
    int intervals;
    double min_step;
  };
  // Layers, SGD steps, losses, small and offset values, one value; decade exponents of a log
  // axis (min_step 1).
  const Range ranges[] = {{1, 50, 5, 0},          {1, 12, 5, 0},          {10, 400, 5, 0},
                          {0.41, 2.31, 5, 0},     {0.0123, 0.0457, 5, 0}, {-3.7, 12.2, 5, 0},
                          {123456, 123789, 5, 0}, {1e-7, 3.3e-7, 5, 0},   {2.5, 2.5, 5, 0},
                          {-20, 38, 6, 1},        {-13, 1, 6, 1},         {0, 2, 6, 1}};
  for (const Range& r : ranges) {
    SCOPED_TRACE(
        fmt::format("[{}, {}], {} intervals, min step {}", r.lo, r.hi, r.intervals, r.min_step));
    const std::vector<double> t = svg::nice_ticks(r.lo, r.hi, r.intervals, r.min_step);
    ASSERT_GE(t.size(), 2u);
    EXPECT_LE(t.size(), static_cast<size_t>(r.intervals) + 3);
    const double step = t[1] - t[0];
    EXPECT_TRUE(is_one_two_or_five_times_a_power_of_ten(step)) << step;
    EXPECT_GE(step, r.min_step);
    for (size_t i = 0; i < t.size(); ++i) {
      EXPECT_NEAR(t[i] / step, std::round(t[i] / step), 1e-9) << t[i] << " is not a multiple";
      if (i > 0) {
        EXPECT_NEAR(t[i] - t[i - 1], step, 1e-9 * step) << "uneven at " << t[i];
      }
    }
    EXPECT_LE(t.front(), r.lo);
    EXPECT_GE(t.back(), r.hi);
    if (r.hi > r.lo) {  // and no further than the step that covers them
      EXPECT_GT(t[1], r.lo);
      EXPECT_LT(t[t.size() - 2], r.hi);
    }
  }
  EXPECT_THAT(svg::nice_ticks(1, 50), ::testing::ElementsAre(0, 10, 20, 30, 40, 50));
  EXPECT_THAT(svg::nice_ticks(0.41, 2.31), ::testing::ElementsAre(0, 0.5, 1, 1.5, 2, 2.5));
  // Each tick is the double nearest its decimal (0.3, not 3 * 0.1 = 0.30000000000000004).
  EXPECT_THAT(svg::nice_ticks(0.01, 0.49), ::testing::ElementsAre(0, 0.1, 0.2, 0.3, 0.4, 0.5));
}

TEST(SvgPlot, AxesAreLabelledAtRoundNumbers) {
  std::vector<double> layers, stds, steps, losses;
  for (int l = 1; l <= 50; ++l) layers.push_back(l), stds.push_back(std::pow(1.3, l));
  for (int s = 10; s <= 400; s += 10) {
    steps.push_back(s), losses.push_back(0.41 + 1.9 * std::exp(-s / 100.0));
  }
  const svg::Panel sweep{
      "sweep", "layer", "std", true, 1e-30, 1e30, {{"m", layers, stds, "", false, true, true}}};
  const auto [sweep_y, sweep_x] = tick_labels(svg::figure("t", {sweep}));
  // Today's plots read 1, 10.8, 20.6, ... and 0.724.
  EXPECT_THAT(sweep_x, ::testing::ElementsAre("0", "10", "20", "30", "40", "50"));
  EXPECT_THAT(sweep_y, ::testing::ElementsAre("1e0", "1e1", "1e2", "1e3", "1e4", "1e5", "1e6"));
  const svg::Panel loss{"loss",
                        "SGD step",
                        "loss",
                        false,
                        0,
                        1e30,
                        {{"xavier", steps, losses, "", false, false, true}}};
  const auto [loss_y, loss_x] = tick_labels(svg::figure("t", {loss}));
  EXPECT_THAT(loss_x, ::testing::ElementsAre("0", "100", "200", "300", "400"));
  EXPECT_THAT(loss_y, ::testing::ElementsAre("0.0", "0.5", "1.0", "1.5", "2.0", "2.5"));
}

TEST(SvgPlot, PredictionsAreDrawnOverHollowMeasurementsAndBothAreInTheLegend) {
  // Two inits, each measured and predicted on the same values: the dashed line of the first must
  // not sit under the markers of the second, nor its own.
  const std::vector<double> x = {1, 2, 3}, a = {1, 2, 4}, b = {1, 0.5, 0.25};
  const svg::Panel p{"t",
                     "layer",
                     "std",
                     true,
                     1e-30,
                     1e30,
                     {{"a", x, a, "", false, true, true},
                      {"a (theory)", x, a, "", true, false, false},
                      {"b", x, b, "", false, true, true},
                      {"b (theory)", x, b, "", true, false, false},
                      {"mean-field prediction", {}, {}, "#000000", true, false, true}}};
  const std::string svg = svg::figure("t", {p});
  // The plot area: the clipped groups, in drawing order; the rest is axes and legend.
  std::string plot;
  std::istringstream lines(svg);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("<g clip-path", 0) == 0) plot += line + "\n";
  EXPECT_EQ(count(plot, "<circle"), 6u);
  EXPECT_EQ(count(plot, "r=\"2.5\" fill=\"white\""), 6u);  // hollow: a line through them shows
  EXPECT_EQ(count(plot, "stroke-dasharray"), 3u);
  EXPECT_LT(plot.rfind("<circle"), plot.find("stroke-dasharray"));
  EXPECT_THAT(svg, ::testing::HasSubstr(">a</text>"));
  EXPECT_THAT(svg, ::testing::HasSubstr(">b</text>"));
  EXPECT_THAT(svg, ::testing::HasSubstr(">mean-field prediction</text>"));
  EXPECT_EQ(count(svg, "stroke-dasharray") - 3, 1u);  // the prediction's key
  EXPECT_EQ(count(svg, "<circle") - 6, 2u);           // the measurements' keys
  EXPECT_THAT(svg, ::testing::Not(::testing::HasSubstr("(theory)")));
}

TEST(DepthSweep, AnOverflowSaysWhereAndTheoryIsJudgedBeforeIt) {
  // ReLU with N(0, 1) weights multiplies the variance by fan_in / 2 = 64 per layer at width 128
  // (std by 8 = 2^3, from 2^3.5 at layer 1): float32 (max 2^128) overflows near layer 42.
  DepthSweepOptions o;
  o.depth = 48, o.width = 128, o.batch = 64, o.seed = 3, o.activations = {"relu"};
  const DepthSweep s = depth_sweep(o);
  ASSERT_EQ(s.curves.size(), 5u);
  const SweepCurve& c = s.curves.front();
  ASSERT_EQ(c.init, "N(0,1)");
  size_t finite = 0;  // the layers before the first non-finite std, found independently
  while (finite < c.measured_std.size() && std::isfinite(c.measured_std[finite])) ++finite;
  ASSERT_LT(finite, c.measured_std.size()) << "no overflow at depth 48: make the net deeper";
  ASSERT_GT(finite, 30u);
  const int64_t layer = static_cast<int64_t>(finite) + 1;
  EXPECT_EQ(c.overflow_layer, layer);

  const std::string table = s.table();
  const size_t row = table.find(" N(0,1) ");
  ASSERT_NE(row, std::string::npos) << table;
  EXPECT_THAT(table.substr(row, table.find('\n', row) - row),
              ::testing::HasSubstr(fmt::format(
                  "agrees  exploding; overflowed at layer {}, theory compared up to layer {}",
                  layer, layer - 1)));
  EXPECT_THAT(table, ::testing::Not(::testing::HasSubstr("nan"))) << table;
  EXPECT_EQ(count(table, "overflowed"), 1u) << table;  // the other inits stay finite

  // Growth over the compared layers: 64 per layer. Given its input, a layer's mean square is the
  // mean of 128 iid unit mean squares w'Cw of relative variance 2 tr(C^2) / tr(C)^2 <= 2, so ln of
  // each layer's ratio has sd <= sqrt(2 / 128) = 0.125; ReLU's random half adds sqrt(3 / 8192)
  // = 0.02: 0.15 in all. ln q is a random walk, whose least-squares slope over n layers has sd
  // 0.15 sqrt(6 / (5 n)); allow z = 3.29 of it (alpha = 1e-3).
  const double slope_sd = 0.15 * std::sqrt(6.0 / (5.0 * static_cast<double>(finite)));
  ASSERT_TRUE(std::isfinite(c.forward_growth));
  EXPECT_NEAR(std::log(c.forward_growth), std::log(64.0), 3.29 * slope_sd);
  EXPECT_TRUE(std::isnan(c.backward_growth));
  EXPECT_THAT(s.json(), ::testing::HasSubstr(fmt::format("\"overflow_layer\": {}", layer)));

  // The plot: the measured curve stops before the overflow and a note says so.
  const std::string svg = s.svg();
  const size_t legend = svg.find("<g class=\"legend\">");
  ASSERT_NE(legend, std::string::npos);
  EXPECT_EQ(count(svg.substr(0, legend), "stroke=\"" + svg::palette(0) + "\" stroke-width=\"1.2\""),
            finite);
  const std::vector<std::string> note = texts_of_class(svg, "note");
  EXPECT_EQ(fmt::format("{}", fmt::join(note, " ")),
            fmt::format("N(0,1) overflowed at layer\u00a0{}: measured curve stops at layer\u00a0{}",
                        layer, layer - 1));
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
